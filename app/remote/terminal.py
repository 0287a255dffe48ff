"""A terminal attached to a sandbox's tmux: the PTY it runs in, wherever that is.

``open_attach`` asks hostd for ``sandbox.attach_command`` and runs that argv
in a PTY: a PTY channel on the host's one SSH connection, or a local
pseudo-terminal in local-only mode. Both give the same face (``Terminal``):
``start`` with callbacks for output and end, ``write`` what the person types,
``resize``, ``wait`` for the exit status, ``close`` to detach. The desktop
app's terminal tabs and ``claude-remote attach`` (over SSH) both come here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import struct
import subprocess
import sys
import termios
from collections.abc import Callable, Sequence
from typing import Protocol

from .api import HostApi
from .client import Client
from .ssh.host import SshHost
from .streams import DataCallback, EndCallback

log = logging.getLogger(__name__)

TERM = "xterm-256color"
READ_CHUNK = 1 << 16
# close(): tmux's client exits within milliseconds of its terminal hanging up;
# one that does not after this long is killed (the sandbox is not touched: it
# is the tmux server's, not this client's).
CLOSE_WAIT_S = 3.0

# The child runs this between fork and exec's target so that the PTY becomes
# its controlling terminal (it is already a session leader, start_new_session):
# without one, resizing the PTY sends tmux no SIGWINCH. A constant; the argv
# follows as arguments, never pasted into it. Python's subprocess cannot do
# TIOCSCTTY itself, and pty.fork() would run Python in a forked copy of a
# process with threads (paramiko's, Qt's), which can deadlock.
_CTTY_SHIM = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


class Terminal(Protocol):
    exit_status: int | None
    end_reason: str | None
    ended: bool

    def start(self, on_data: DataCallback, on_end: EndCallback | None = None) -> None: ...
    def write(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    def send_eof(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    async def wait(self) -> int | None: ...
    async def close(self) -> None: ...


async def open_attach(
    client: Client,
    sandbox: str,
    cols: int,
    rows: int,
    features: Sequence[str] = (),
    term: str = TERM,
) -> Terminal:
    """Attach a new terminal of ``cols`` x ``rows`` to ``sandbox``'s tmux.

    ``features``: what the terminal can do beyond ``term`` (tmux's -T names),
    so that tmux sends it, say, true colour.
    """
    argv = await HostApi(client).attach_command(sandbox, list(features) or None)
    host = client.host
    if isinstance(host, SshHost):
        return await host.open_pty(argv, cols, rows, term)
    return LocalPty(argv, cols, rows, term)


class LocalPty:
    """``argv`` in a pseudo-terminal on this machine.

    The child gets this program's environment with TERM set and TMUX unset
    (the app may itself run inside tmux, and tmux refuses to nest). Output is
    read with the event loop's reader on the PTY's master side; writes that
    do not fit at once wait for the PTY to drain, in order.
    """

    def __init__(self, argv: Sequence[str], cols: int, rows: int, term: str = TERM) -> None:
        if not argv:
            raise ValueError("LocalPty needs a command")
        self.exit_status: int | None = None
        self.end_reason: str | None = None
        self.ended = False
        master, slave = os.openpty()
        try:
            _set_size(slave, cols, rows)
            env = attach_env()
            env["TERM"] = term
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CTTY_SHIM, *argv],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._fd = master
        self._out = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Future[int | None] | None = None
        self._on_end: EndCallback | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._readable: Callable[[], None] | None = None

    def start(self, on_data: DataCallback, on_end: EndCallback | None = None) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._on_end = on_end

        def readable() -> None:
            try:
                data = os.read(self._fd, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError as exc:  # EIO: every holder of the PTY's other side has gone
                if exc.errno != errno.EIO:
                    log.info("local pty: reading stopped: %s", exc)
                data = b""
            if data:
                on_data(data)
            else:
                self._finish()

        self._readable = readable
        loop.add_reader(self._fd, readable)

    def pause_reading(self) -> None:
        """Stop taking output: the PTY fills and the program (tmux) waits."""
        if not self.ended and self._loop is not None:
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        if not self.ended and self._loop is not None and self._readable is not None:
            self._loop.add_reader(self._fd, self._readable)

    def write(self, data: bytes) -> None:
        if self.ended or self._loop is None:
            return
        pending = bool(self._out)
        self._out += data
        if not pending:
            self._flush()

    def resize(self, cols: int, rows: int) -> None:
        if not self.ended:
            with contextlib.suppress(OSError):
                _set_size(self._fd, cols, rows)  # the kernel sends SIGWINCH to tmux

    def send_eof(self) -> None:
        """Nothing: a PTY has no half-close (Ctrl+D is a byte, written as such)."""

    async def wait(self) -> int | None:
        assert self._done is not None, "start() first"
        return await asyncio.shield(self._done)

    async def close(self) -> None:
        """Hang up: tmux's client detaches and exits; the sandbox runs on."""
        if self._loop is None:  # never started
            self._proc.kill()
            self._proc.wait()
            os.close(self._fd)
            return
        self._finish()
        await self.wait()

    # -- internals -----------------------------------------------------------------------

    def _flush(self) -> None:
        assert self._loop is not None
        try:
            sent = os.write(self._fd, self._out)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            log.info("local pty: writing stopped: %s", exc)
            self._out.clear()
            sent = 0
        del self._out[:sent]
        if self._out:
            self._loop.add_writer(self._fd, self._flush_when_writable)
        else:
            self._loop.remove_writer(self._fd)

    def _flush_when_writable(self) -> None:
        self._flush()

    def _finish(self) -> None:
        if self.ended:
            return
        self.ended = True
        assert self._loop is not None
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        os.close(self._fd)  # the child's terminal hangs up (SIGHUP)
        self._reaper = self._loop.create_task(self._reap())

    async def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            status = await asyncio.wait_for(loop.run_in_executor(None, self._proc.wait),
                                            CLOSE_WAIT_S)  # fmt: skip
        except TimeoutError:
            log.warning("%s did not exit after its terminal closed; killing it", self._proc.args)
            self._proc.kill()
            status = await loop.run_in_executor(None, self._proc.wait)
        if status < 0:
            self.end_reason = f"ended by signal {-status}"
        else:
            self.exit_status = status
        assert self._done is not None
        if not self._done.done():
            self._done.set_result(self.exit_status)
        if self._on_end is not None:
            self._on_end()


def attach_env() -> dict[str, str]:
    """This program's environment for a tmux client it starts: TMUX unset, so
    that run from inside tmux it attaches to the sandbox's server (another
    one) instead of refusing to nest."""
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

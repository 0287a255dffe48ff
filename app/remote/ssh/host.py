"""A server reached over SSH: one connection carries hostd and every terminal.

:class:`SshHost` keeps a single :class:`SshConnection` per host and opens
channels on it: hostd (an exec channel through the login shell), PTYs for
terminals, and plain exec channels for probes. When the connection has died
(the client noticed its hostd stream end), the next channel reconnects.
All paramiko work runs on worker threads; this class is the asyncio face.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import paramiko

from ..errors import ConnectFailed, ConnectionLost
from ..launch import DEFAULT_HOSTD_COMMAND, login_shell_command, login_shell_script
from ..prompts import Asker, Prompts
from ..streams import HostdStream
from .channels import ChannelStream, PtySession
from .config import SshConfig, SshTarget
from .connection import SshConnection, connect

log = logging.getLogger(__name__)

T = TypeVar("T")

# A probe (doctor) runs a few `--version`s; 30 s covers a slow login shell.
RUN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunResult:
    status: int
    stdout: str
    stderr: str


class SshHost:
    kind = "ssh"

    def __init__(
        self,
        name: str,
        target: SshTarget,
        config: SshConfig,
        prompts: Prompts | None = None,
        hostd_command: str = DEFAULT_HOSTD_COMMAND,
    ) -> None:
        self.name = name
        self.target = target
        self.config = config
        self.prompts = prompts or Prompts()
        self.hostd_command = hostd_command
        self._conn: SshConnection | None = None
        self._lock = asyncio.Lock()
        # Connecting blocks for seconds (and waits on the person at a prompt);
        # a pool of its own keeps that off the loop's default executor, which
        # closing channels use.
        self._pool = ThreadPoolExecutor(2, thread_name_prefix=f"ssh-{name}"[:30])

    def describe(self) -> str:
        return self.name if self.name == self.target.label else f"{self.name} ({self.target.label})"

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.active

    async def connect(self) -> None:
        """Make sure the connection is up; connect (again) if not."""
        async with self._lock:
            if self._conn is not None and self._conn.active:
                return
            if self._conn is not None:
                old, self._conn = self._conn, None
                await self._run(old.close)
                log.info("SSH connection to %s was down; connecting again", self.describe())
            asker = Asker(asyncio.get_running_loop())
            future = asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: connect(self.target, self.config, self.prompts, asker)
            )
            try:
                self._conn = await asyncio.shield(future)
            except asyncio.CancelledError:
                # Cancelled (a disconnect, quitting) while the worker thread
                # connects: close what it makes when it gets there.
                future.add_done_callback(_close_when_done)
                raise
            log.info("connected to %s", self.describe())

    async def open_hostd(self) -> HostdStream:
        chan = await self._exec(login_shell_command(self.hostd_command))
        return ChannelStream(chan, f"hostd on {self.describe()}")

    async def open_pty(
        self, argv: Sequence[str], cols: int = 80, rows: int = 24, term: str = "xterm-256color"
    ) -> PtySession:
        """Run ``argv`` in a PTY on the host, on this host's one connection.

        The argv is joined with shlex for the exec request (SSH carries a
        command line, and the server's shell splits it back into the argv).
        Call ``start`` on the result to begin receiving its output.
        """
        if not argv:
            raise ValueError("open_pty needs a command")
        command = shlex.join(argv)

        def open_() -> paramiko.Channel:
            chan = self._session()
            try:
                chan.get_pty(term=term, width=cols, height=rows)
                chan.exec_command(command)
            except BaseException:
                chan.close()  # not left open on the host's connection
                raise
            return chan

        chan = await self._channel(open_)
        return PtySession(chan, f"pty {argv[0]}")

    async def run(self, script: str, timeout: float = RUN_TIMEOUT_S) -> RunResult:
        """Run a sh script with the login shell's PATH; collect its output.
        ``script`` is this program's own text (probes), never user input."""

        def run_() -> RunResult:
            chan = self._session()
            try:
                chan.settimeout(timeout)
                chan.exec_command(login_shell_script(script))
                chan.shutdown_write()
                out = chan.makefile("rb").read()
                err = chan.makefile_stderr("rb").read()
                status = chan.recv_exit_status()
            finally:
                chan.close()
            return RunResult(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

        await self.connect()
        try:
            return await self._run(run_)
        except TimeoutError as exc:
            raise ConnectionLost(f"{self.describe()}: no answer within {timeout:.0f} s") from exc

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            await self._run(conn.close)
        self._pool.shutdown(wait=False)

    # -- internals -------------------------------------------------------------------

    def _session(self) -> paramiko.Channel:
        conn = self._conn
        if conn is None or not conn.active:
            raise ConnectionLost(f"the SSH connection to {self.describe()} is down")
        return conn.open_session()

    async def _exec(self, command: str) -> paramiko.Channel:
        def open_() -> paramiko.Channel:
            chan = self._session()
            chan.exec_command(command)
            return chan

        return await self._channel(open_)

    async def _channel(self, open_: Callable[[], paramiko.Channel]) -> paramiko.Channel:
        await self.connect()
        try:
            return await self._run(open_)
        except ConnectionLost:
            # The connection died between the check and the open: once more,
            # on a fresh connection.
            await self.connect()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectFailed(f"{self.describe()}: cannot start a command: {exc}") from exc
        try:
            return await self._run(open_)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectFailed(f"{self.describe()}: cannot start a command: {exc}") from exc

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)


def _close_when_done(future: asyncio.Future[SshConnection]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()

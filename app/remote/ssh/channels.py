"""SSH channels as asyncio-friendly byte streams: hostd, and terminals (PTY).

paramiko's reads block, so each channel has a reader thread that hands data
to the event loop with ``call_soon_threadsafe``, a thread that always drains
stderr (a full stderr window would stall the remote process), and a writer
thread fed by a queue so that a write never blocks the loop even when the
remote window is full. ``on_end`` comes last, after every ``on_data``, with
the exit status known when the server sent one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading

import paramiko

from ..streams import DataCallback, EndCallback, HostdStream, StderrTail

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 16
# The exit status follows EOF within moments; a server that never sends one
# (the connection dropped) gets this long before the stream is reported ended.
EXIT_STATUS_WAIT_S = 2.0
# Same for the tail of stderr after stdout ended.
STDERR_GRACE_S = 2.0
# close(): hostd exits within moments of end of input unless requests are
# under way; a closing client does not wait longer than this for it.
CLOSE_WAIT_S = 10.0

# A paused reader looks this often whether its channel closed meanwhile, so a
# drop is still noticed while the terminal catches up.
PAUSED_CHECK_S = 0.5

_EOF = object()


class ChannelIO:
    """Reader, stderr and writer threads around one paramiko channel."""

    def __init__(self, chan: paramiko.Channel, name: str) -> None:
        self.chan = chan
        self.name = name
        self.stderr = StderrTail()
        self.exit_status: int | None = None
        self.end_reason: str | None = None
        self.ended = False
        self._queue: queue.Queue[object] = queue.Queue()
        self._stderr_done = threading.Event()
        self._reading = threading.Event()  # cleared: the reader pauses (pause_reading)
        self._reading.set()
        self._done: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start_io(self, on_data: DataCallback, on_end: EndCallback) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()

        def finish() -> None:
            self.ended = True
            assert self._done is not None
            self._done.set()
            on_end()

        def deliver(data: bytes) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                loop.call_soon_threadsafe(on_data, data)

        def read() -> None:
            try:
                while self._wait_until_reading() and (data := self.chan.recv(READ_CHUNK)):
                    deliver(data)
            except (OSError, EOFError, paramiko.SSHException) as exc:
                log.info("%s: reading stopped: %s", self.name, exc)
            self._stderr_done.wait(STDERR_GRACE_S)
            # paramiko keeps -1 when no exit-status came: the channel closed
            # under it, or the program died of a signal (paramiko drops the
            # exit-signal message).
            if self.chan.status_event.wait(EXIT_STATUS_WAIT_S) and self.chan.exit_status != -1:
                self.exit_status = self.chan.exit_status
            elif not self.chan.get_transport().is_active():
                self.end_reason = "the SSH connection dropped"
            else:
                self.end_reason = f"{self.name} ended without an exit status (killed by a signal?)"
            self._queue.put(_EOF)  # the writer has nothing more to do
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(finish)

        threading.Thread(target=read, name=f"{self.name}-read", daemon=True).start()
        threading.Thread(target=self._drain_stderr, name=f"{self.name}-stderr", daemon=True).start()
        threading.Thread(target=self._write, name=f"{self.name}-write", daemon=True).start()

    def write(self, data: bytes) -> None:
        if not self.ended:
            self._queue.put(data)

    def resize(self, cols: int, rows: int) -> None:
        if not self.ended:
            self._queue.put((cols, rows))

    def send_eof(self) -> None:
        self._queue.put(_EOF)

    def pause_reading(self) -> None:
        """Stop taking output: the SSH window fills and the remote side waits."""
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    def _wait_until_reading(self) -> bool:
        """On the reader thread: wait while paused; False once the channel is gone."""
        while not self._reading.wait(PAUSED_CHECK_S):
            transport = self.chan.get_transport()
            if self.chan.closed or transport is None or not transport.is_active():
                return False
        return True

    async def close_io(self) -> None:
        """Send EOF, give the remote side a moment to finish, then close."""
        self.send_eof()
        if self._done is not None and not self._done.is_set():
            try:
                await asyncio.wait_for(self._done.wait(), CLOSE_WAIT_S)
            except TimeoutError:
                log.warning("%s did not end %.0f s after end of input", self.name, CLOSE_WAIT_S)
        await asyncio.get_running_loop().run_in_executor(None, self.chan.close)

    def _drain_stderr(self) -> None:
        try:
            while data := self.chan.recv_stderr(READ_CHUNK):
                self.stderr.add(data)
                for line in data.decode("utf-8", "replace").splitlines():
                    log.debug("%s stderr: %s", self.name, line)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            log.debug("%s: stderr stopped: %s", self.name, exc)
        finally:
            self._stderr_done.set()

    def _write(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _EOF:
                    if not self.chan.closed:
                        self.chan.shutdown_write()
                    return
                if isinstance(item, tuple):
                    self.chan.resize_pty(width=item[0], height=item[1])
                elif isinstance(item, bytes):
                    self.chan.sendall(item)
            except (OSError, EOFError, paramiko.SSHException) as exc:
                log.info("%s: writing stopped: %s", self.name, exc)
                return


class ChannelStream(HostdStream):
    """hostd on an exec channel."""

    def __init__(self, chan: paramiko.Channel, label: str) -> None:
        super().__init__(label)
        self.io = ChannelIO(chan, "hostd")
        self.stderr = self.io.stderr

    def start(self, on_data: DataCallback, on_end: EndCallback) -> None:
        def ended() -> None:
            self.exit_status = self.io.exit_status
            self.end_reason = self.io.end_reason
            self.ended = True
            on_end()

        self.io.start_io(on_data, ended)

    def write(self, data: bytes) -> None:
        self.io.write(data)

    async def close(self) -> None:
        await self.io.close_io()


class PtySession(ChannelIO):
    """A program in a PTY on the host (a terminal attached to tmux, say).

    ``start`` with callbacks for its output and its end; ``write`` what the
    person types; ``resize`` when their window changes; ``wait`` for its exit
    status.
    """

    def start(self, on_data: DataCallback, on_end: EndCallback | None = None) -> None:
        self._ended_fut: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

        def ended() -> None:
            if not self._ended_fut.done():
                self._ended_fut.set_result(self.exit_status)
            if on_end is not None:
                on_end()

        self.start_io(on_data, ended)

    async def wait(self) -> int | None:
        return await self._ended_fut

    async def close(self) -> None:
        """Hang up at once: sshd closes the PTY and tmux detaches on SIGHUP.

        Not close_io's EOF and wait: a program in a terminal does not end at
        end of input (tmux never does), so that waited its whole 10 s bound
        every time a tab closed. The end callback still comes, from the
        reader, moments later.
        """
        self.ended = True  # nothing more is written
        self.send_eof()
        self.resume_reading()  # a paused reader sees the end
        await asyncio.get_running_loop().run_in_executor(None, self.chan.close)

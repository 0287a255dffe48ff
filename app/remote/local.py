"""Local-only mode: hostd as a child process of this program, over pipes.

Same protocol, no SSH. The command is configurable (a development checkout,
a Nix store path); the default runs the hostd that came with this install.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import sys
from collections.abc import Sequence

from .errors import ConnectFailed, HostdUnavailable
from .streams import DataCallback, EndCallback, HostdStream

log = logging.getLogger(__name__)

DEFAULT_COMMAND = (sys.executable, "-m", "hostd")
READ_CHUNK = 1 << 20
# hostd exits within moments of end of input unless requests are under way;
# its own limit for those is 5 minutes (hostd/server/loop.py DRAIN_TIMEOUT_S). A
# client that is closing does not wait that long: after this it kills hostd,
# and hostd's next start cleans up whatever a half-done create left.
CLOSE_WAIT_S = 10.0
# How long stderr may stay open after hostd exited (see _pump).
STDERR_GRACE_S = 2.0


class LocalHost:
    """Runs hostd on this machine. Each ``open_hostd`` starts a new hostd."""

    kind = "local"

    def __init__(
        self, command: Sequence[str] | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.command = list(command or DEFAULT_COMMAND)
        if not self.command:
            raise ValueError("the local hostd command is empty")
        self.env = env
        self.name = "local"

    def describe(self) -> str:
        return "this machine (local hostd)"

    async def open_hostd(self) -> HostdStream:
        env = None if self.env is None else {**os.environ, **self.env}
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                # Its own session: a Ctrl-C at the terminal reaches the CLI,
                # which then ends hostd's input; hostd finishes what it was
                # doing instead of dying in the middle of a create.
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise HostdUnavailable(
                f"cannot start hostd: {self.command[0]} was not found "
                f"(command: {shlex.join(self.command)})"
            ) from exc
        except OSError as exc:
            raise ConnectFailed(
                f"cannot start hostd ({shlex.join(self.command)}): {exc}", retryable=False
            ) from exc
        return LocalStream(proc)

    async def close(self) -> None:
        """Nothing is shared between local hostd processes."""


class LocalStream(HostdStream):
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        super().__init__("local hostd")
        self.proc = proc
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, on_data: DataCallback, on_end: EndCallback) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(self._pump(on_data, on_end)))

    async def _pump(self, on_data: DataCallback, on_end: EndCallback) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr())
        try:
            while data := await self.proc.stdout.read(READ_CHUNK):
                on_data(data)
        except OSError as exc:
            log.warning("reading local hostd failed: %s", exc)
        self.exit_status = await self.proc.wait()
        # A process hostd started could still hold its stderr open; what hostd
        # itself wrote is in by now, so do not wait for the others to end.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stderr_task, STDERR_GRACE_S)
        self.ended = True
        on_end()

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while data := await self.proc.stderr.read(65536):
            self.stderr.add(data)
            for line in data.decode("utf-8", "replace").splitlines():
                log.debug("hostd: %s", line)

    def write(self, data: bytes) -> None:
        stdin = self.proc.stdin
        if self.ended or stdin is None or stdin.is_closing():
            return
        stdin.write(data)

    async def close(self) -> None:
        stdin = self.proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), CLOSE_WAIT_S)
        except TimeoutError:
            log.warning(
                "local hostd did not exit %.0f s after end of input; killing it", CLOSE_WAIT_S
            )
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

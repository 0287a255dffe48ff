"""``logs:<id>`` subscriptions: push what the pane writes to its log, as it writes.

tmux's pipe-pane appends the pane's output to ``logs/<id>.log``; a follower
notices growth by stat and pushes only the new bytes, decoded as UTF-8 with a
character split across two reads held back for the next one. Each push says
where in the log file its text lies (``offset``, ``end``: bytes), so a client
can fetch what came before it with ``sandbox.logs {before}``, or what it
missed while disconnected with ``{after, before}``, and nothing twice.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Output shows up within a fifth of a second; a stat per tick per followed log.
FOLLOW_INTERVAL_S = 0.2
# One push carries at most this much, so a burst becomes several lines on the
# wire rather than one huge one.
MAX_CHUNK = 256 * 1024
# Unwritten output this large (a pane running `yes` for a slow client) stops
# the reading; hostd's memory stays bounded, the log file keeps the rest.
MAX_BACKLOG = 8 * 1024 * 1024


class LogFollower:
    def __init__(
        self,
        sandbox_id: str,
        path: Path,
        pool: Executor,
        push: Callable[[str, dict[str, Any]], None],
        backlog: Callable[[], int] = lambda: 0,
    ) -> None:
        self.sandbox_id = sandbox_id
        self.path = path
        self._pool = pool
        self._push = push
        self._backlog = backlog
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pos = 0
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self.started = asyncio.Event()  # set once ``position`` means something

    async def start(self) -> int:
        """Begin at the log's current end: history is what ``sandbox.logs`` is for.

        Returns that end, the byte offset the first push will start at.
        """
        loop = asyncio.get_running_loop()
        self._pos = await loop.run_in_executor(self._pool, self._size)
        if not self._stopped:  # an unsubscribe may have come while the size was read
            self._task = loop.create_task(self._run(), name=f"log:{self.sandbox_id}")
        self.started.set()
        return self._pos

    @property
    def position(self) -> int:
        """The byte offset the next push starts at (held bytes of a split character
        belong to the next push)."""
        return self._pos - self._held()

    def _held(self) -> int:
        return len(self._decoder.getstate()[0])

    def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _read_new(self) -> bytes | None:
        """Appended bytes since the last read; None when the log is gone."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            size = os.fstat(fd).st_size
            if size < self._pos:  # truncated or replaced: start from its beginning
                self._pos = 0
                self._decoder.reset()
            if size == self._pos:
                return b""
            data = os.pread(fd, min(MAX_CHUNK, size - self._pos), self._pos)
            self._pos += len(data)
            return data
        finally:
            os.close(fd)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._backlog() > MAX_BACKLOG:
                # The client reads slower than the pane writes: wait, and read
                # on from the file (it keeps everything) when it has caught up.
                await asyncio.sleep(FOLLOW_INTERVAL_S)
                continue
            data = await loop.run_in_executor(self._pool, self._read_new)
            if data is None:
                return  # deleted: sandbox.removed tells the client
            if data:
                offset = self._pos - len(data) - self._held()
                text = self._decoder.decode(data)
                if text:
                    end = self._pos - self._held()
                    self._push(
                        "log", {"id": self.sandbox_id, "data": text, "offset": offset, "end": end}
                    )
                continue  # there may be more right away
            await asyncio.sleep(FOLLOW_INTERVAL_S)

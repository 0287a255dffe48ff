"""A step run on the event loop every few seconds, or at once when woken."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class Periodic:
    """Runs :meth:`step` every ``interval`` seconds; :meth:`wake` runs it now.

    A wake while a step runs is not lost: the next step follows at once.
    """

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def step(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            tick = loop.time()
            self._wake.clear()
            try:
                await self.step()
            except Exception:
                log.exception("%s: a step failed; the next one runs as usual", self.name)
            try:
                async with asyncio.timeout(max(0.0, tick + self.interval - loop.time())):
                    await self._wake.wait()
            except TimeoutError:
                pass

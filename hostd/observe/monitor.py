"""Keeps the client's picture of the sandboxes current.

Two cadences: a cheap one that notices any change to state.json (by this
hostd, another hostd, or a reconcile) by its stat, and a slower reconcile that
checks the processes themselves. Changes are pushed as ``sandbox.changed`` and
``sandbox.removed`` to a client subscribed to ``sandboxes``. ``decorate``
adds what hostd knows beyond the record (the agent's activity), so a
change of activity is pushed too; it reads files (the hook events), so it
runs in the read pool with the records' read. ``observe`` is given the
records of every look there too (the hook watch follows the running
sandboxes by it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from ..protocol import wire
from ..sandbox.lifecycle import Manager
from ..sandbox.records import Record, public_view

log = logging.getLogger(__name__)

# A sandbox that died should show so within a few seconds (a person looking
# at its tile waits for no more than that); 2 s makes it show within ~2 s
# while costing a stat and a few /proc reads per running sandbox.
RECONCILE_INTERVAL_S = 2.0
# Noticing another hostd's write: one stat() of state.json per tick.
POLL_INTERVAL_S = 0.25

Push = Callable[[str, dict[str, Any]], None]


class Monitor:
    def __init__(
        self,
        manager: Manager,
        reconcile_pool: Executor,
        read_pool: Executor,
        push: Push,
        *,
        decorate: Callable[[dict[str, Any]], wire.Sandbox],
        observe: Callable[[dict[str, Record]], None] | None = None,
        reconcile_interval: float = RECONCILE_INTERVAL_S,
    ) -> None:
        self.manager = manager
        self._reconcile_pool = reconcile_pool
        self._read_pool = read_pool
        self._push = push
        self._decorate = decorate
        self._observe = observe
        self._reconcile_interval = reconcile_interval
        self._poke = asyncio.Event()
        self._views: dict[str, wire.Sandbox] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="monitor")

    async def stop(self) -> None:
        # A flag rather than Task.cancel(): in Python 3.11, a cancel that lands
        # as the poke event fires can be swallowed by the wait (gh-86296).
        self._stopping = True
        self._poke.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def poke(self) -> None:
        """Look at the state now (after this hostd changed it)."""
        self._poke.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # What is there now is no news: only changes from here on are pushed.
            self._views = await loop.run_in_executor(self._read_pool, self._look)
        except Exception:
            log.exception("reading the state failed")
        next_reconcile = loop.time() + self._reconcile_interval
        reconciling: asyncio.Future[None] | None = None
        while True:
            try:
                async with asyncio.timeout(POLL_INTERVAL_S):
                    await self._poke.wait()
            except TimeoutError:
                pass
            self._poke.clear()
            if self._stopping:
                return
            if reconciling is not None and reconciling.done():
                if (exc := reconciling.exception()) is not None:
                    log.error("reconcile failed: %r", exc)
                reconciling = None
            if reconciling is None and loop.time() >= next_reconcile:
                # Not awaited: a reconcile that waits on a slow kill must not
                # hold up noticing other changes meanwhile.
                reconciling = loop.run_in_executor(self._reconcile_pool, self.manager.reconcile)
                next_reconcile = loop.time() + self._reconcile_interval
            try:
                views = await loop.run_in_executor(self._read_pool, self._look)
            except Exception:
                log.exception("reading the state failed")
                continue
            self._diff(views)

    def _look(self) -> dict[str, wire.Sandbox]:
        """Every sandbox as a client sees it now (blocking: the read pool)."""
        records = self.manager.records()
        if self._observe is not None:
            self._observe(records)
        return {sid: self._decorate(public_view(r)) for sid, r in records.items()}

    def _diff(self, views: dict[str, wire.Sandbox]) -> None:
        for sid, view in views.items():
            if self._views.get(sid) != view:
                self._push("sandbox.changed", {"sandbox": view})
        for sid in self._views.keys() - views.keys():
            self._push("sandbox.removed", {"id": sid})
        self._views = views

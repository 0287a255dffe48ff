"""The services hostd builds once and every request shares.

The state (:class:`Manager`), the worker pools, and what watches over the
sandboxes: the monitor that notices changes, the screens and the metrics.
Built before the loop runs; :meth:`Services.start` runs on the loop before
the first request is read, :meth:`Services.stop` after the last is answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from ..capture.screens import Screens
from ..observe.metrics import MetricsService
from ..observe.monitor import Monitor
from ..protocol import wire
from ..sandbox.lifecycle import Manager

Push = Callable[[str, dict[str, Any]], None]


class Services:
    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        # Lifecycle steps wait on processes; reads are quick. Separate pools keep
        # a burst of creates from queueing in front of a list.
        self.slow_pool = ThreadPoolExecutor(8, thread_name_prefix="hostd-slow")
        self.fast_pool = ThreadPoolExecutor(4, thread_name_prefix="hostd-fast")
        # One reconcile at a time: two would race to stop the same leftovers.
        self.reconcile_pool = ThreadPoolExecutor(1, thread_name_prefix="hostd-reconcile")
        # Grabs, scaling and encoding: two workers bound hostd's CPU however
        # many sandboxes there are (10 sandboxes streamed at 1 fps stay under
        # 15% of a core, so a glance view never starves the sandboxes).
        self.capture_pool = ThreadPoolExecutor(2, thread_name_prefix="hostd-capture")
        # One worker: session readers and activity trackers are single-threaded.
        self.metrics_pool = ThreadPoolExecutor(1, thread_name_prefix="hostd-metrics")
        self.screens = Screens(manager, self.capture_pool)
        self.metrics = MetricsService(manager, self.metrics_pool)
        self._listener: Push | None = None
        self.monitor = Monitor(
            manager, self.reconcile_pool, self.fast_pool, self._changed, decorate=self.decorate
        )

    @property
    def pools(self) -> tuple[ThreadPoolExecutor, ...]:
        return (
            self.slow_pool,
            self.fast_pool,
            self.reconcile_pool,
            self.capture_pool,
            self.metrics_pool,
        )

    def listen(self, push: Push) -> None:
        """Send the monitor's ``sandbox.changed`` and ``sandbox.removed`` to ``push``
        (one listener: the subscriptions registry, which decides who hears them)."""
        self._listener = push

    def _changed(self, method: str, params: dict[str, Any]) -> None:
        if self._listener is not None:
            self._listener(method, params)

    def decorate(self, view: dict[str, Any]) -> wire.Sandbox:
        """A Sandbox object with what this hostd knows beyond the record."""
        view["activity"] = self.metrics.activity_of(view["id"])
        return cast(wire.Sandbox, view)

    async def start(self) -> None:
        """Reconcile, then watch. The reconcile comes before any answer, so the
        first sandbox.list already shows what died while no hostd ran, and a
        create a killed hostd left half done is cleaned, not listed."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.reconcile_pool, self.manager.reconcile)
        self.monitor.start()

    async def stop(self) -> None:
        """Stop watching and let the pools go; work still running in them is
        not waited for (hostd exits without joining them)."""
        await self.monitor.stop()
        for pool in self.pools:
            pool.shutdown(wait=False, cancel_futures=True)

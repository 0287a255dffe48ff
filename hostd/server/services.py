"""The services hostd builds once and every request shares.

The state (:class:`Manager`), the worker pools, and what watches over the
sandboxes: the monitor that notices changes, the screens and the metrics,
and (while the client hears of sandboxes) the watch on their hook events.
Built before the loop runs; :meth:`Services.start` runs on the loop before
the first request is read, :meth:`Services.stop` after the last is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from ..capture.screens import Screens
from ..claude import hooks
from ..fs.watch import WatchError
from ..observe.hookwatch import HookWatch
from ..observe.metrics import MetricsService
from ..observe.monitor import Monitor
from ..protocol import methods as m
from ..protocol import wire
from ..sandbox.lifecycle import Manager
from ..sandbox.records import Record

log = logging.getLogger(__name__)

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
            manager, self.reconcile_pool, self.fast_pool, self._changed,
            decorate=self.decorate, observe=self._follow_hooks,
        )  # fmt: skip
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hook_lock = threading.Lock()
        self._hookwatch: HookWatch | None = None

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
        """A Sandbox object with what hostd knows beyond the record (blocking:
        it reads the hook events; call it in a pool)."""
        view["activity"] = self.metrics.activities.peek(view)
        return cast(wire.Sandbox, view)

    def watch_hooks(self, on: bool) -> None:
        """Watch the running sandboxes' hook events (while the client hears of
        sandboxes), so their activity is pushed as soon as a hook reports."""
        with self._hook_lock:
            if on and self._hookwatch is None:
                try:
                    self._hookwatch = HookWatch(self._hooks_changed)
                except WatchError as exc:
                    log.warning("%s; hook events come at the monitor's next look", exc)
                    return
                self._hookwatch.start()
            elif not on and self._hookwatch is not None:
                self._hookwatch.stop()
                self._hookwatch = None
        self.monitor.poke()  # its next look gives the watch its folders

    def _follow_hooks(self, records: dict[str, Record]) -> None:
        self.metrics.activities.keep(set(records))
        with self._hook_lock:
            watch = self._hookwatch
        if watch is not None:
            folders: set[Path] = {
                hooks.events_dir(hooks.folder(self.manager.paths.runtime_dir(sid)))
                for sid, r in records.items()
                if r["status"] == m.STATUS_RUNNING
            }
            watch.watch(folders)

    def _hooks_changed(self) -> None:
        # On the watch's thread: the monitor looks again at once, and pushes
        # the sandboxes whose activity changed.
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: hostd is ending
                loop.call_soon_threadsafe(self.monitor.poke)

    async def start(self) -> None:
        """Reconcile, then watch. The reconcile comes before any answer, so the
        first sandbox.list already shows what died while no hostd ran, and a
        create a killed hostd left half done is cleaned, not listed."""
        loop = self._loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.reconcile_pool, self.manager.reconcile)
        self.monitor.start()

    async def stop(self) -> None:
        """Stop watching and let the pools go; work still running in them is
        not waited for (hostd exits without joining them)."""
        self.watch_hooks(False)
        await self.monitor.stop()
        for pool in self.pools:
            pool.shutdown(wait=False, cancel_futures=True)

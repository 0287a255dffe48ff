"""inotify on the running sandboxes' ``hooks/events/`` folders, so a hook event
is pushed at once rather than at the monitor's next look.

One inotify descriptor and one thread for all the sandboxes, asleep in
``select`` while no hook writes. A burst of events (hook.sh's rename, then
its marker; a turn's tool calls) is gathered for :data:`DEBOUNCE_S`, then
``changed`` is called (on this thread) once; what changed is not said: the
caller looks at the folders again (hostd.observe.activities caches what it
read, so a look costs what is new).

The set of folders is given whole by :meth:`HookWatch.watch` (the monitor
does, from the records, a few times a second): folders of sandboxes that
stopped are let go, folders that appear (a sandbox started) are added.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..fs.watch import (
    IN_CREATE,
    IN_DELETE_SELF,
    IN_DONT_FOLLOW,
    IN_IGNORED,
    IN_MOVE_SELF,
    IN_MOVED_TO,
    IN_ONLYDIR,
    IN_Q_OVERFLOW,
    Inotify,
    WatchError,
)

log = logging.getLogger(__name__)

# hook.sh renames the event in, then (for a permission) creates a marker a
# moment later; 50 ms gathers such a pair and leaves most of the ~100 ms a
# push may take for the fold and the wire.
DEBOUNCE_S = 0.05
# A new name in the folder is all that matters: hook.sh's rename (IN_MOVED_TO),
# a marker made in place (IN_CREATE). Deletions are hostd's own pruning.
MASK = IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW


class HookWatch:
    def __init__(self, changed: Callable[[], None]) -> None:
        self._changed = changed
        self._inotify = Inotify()
        self._lock = threading.Lock()
        self._wd_of: dict[Path, int] = {}
        self._path_of: dict[int, Path] = {}
        self._thread = threading.Thread(target=self._run, name="hostd-hookwatch", daemon=True)
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the thread; it closes the descriptor (every watch goes with it)."""
        with self._lock:
            self._stopped = True
        self._inotify.wake()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def watched(self) -> set[Path]:
        with self._lock:
            return set(self._wd_of)

    def watch(self, folders: set[Path]) -> None:
        """Watch exactly these folders (those that exist; the others are tried
        again on the next call)."""
        with self._lock:
            if self._stopped:
                return
            for path in set(self._wd_of) - folders:
                gone = self._wd_of.pop(path)
                self._path_of.pop(gone, None)
                self._inotify.remove(gone)
            for path in folders - set(self._wd_of):
                try:
                    wd = self._inotify.add(str(path), MASK)
                except WatchError as exc:
                    log.warning("%s; hook events of %s come at the next look", exc, path)
                    continue
                if wd is not None:
                    self._wd_of[path] = wd
                    self._path_of[wd] = path

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        deadline: float | None = None
        try:
            while True:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                events = self._inotify.wait(timeout)
                if events is None:
                    return
                for wd, mask, name in events:
                    if mask & IN_IGNORED:
                        news = self._forget(wd)  # not when it was let go by watch()
                    elif name.startswith("."):
                        continue  # a hook's temp file, renamed in a moment
                    else:
                        news = bool(name) or bool(mask & IN_Q_OVERFLOW)
                    if deadline is None and news:
                        deadline = time.monotonic() + DEBOUNCE_S
                if deadline is not None and time.monotonic() >= deadline:
                    deadline = None
                    try:
                        self._changed()
                    except Exception:
                        log.exception("reporting hook events failed")
        except Exception:
            log.exception("watching hook events failed")
        finally:
            with self._lock:
                self._stopped = True
                self._wd_of.clear()
                self._path_of.clear()
            self._inotify.close()

    def _forget(self, wd: int) -> bool:
        """Drop a watch the kernel ended (its folder went away); whether it was one."""
        with self._lock:
            path = self._path_of.pop(wd, None)
            if path is not None and self._wd_of.get(path) == wd:
                del self._wd_of[path]
            return path is not None

"""Continuous two-way sync: a round whenever either side changes, and only then.

This machine's folder is watched with watchdog (inotify, FSEvents, ...);
the server's by hostd's ``fs:<path>`` subscription (inotify there). Nothing
polls: while both folders are quiet, no listing and no rsync runs.

Changes are gathered until the folders have been quiet for
:data:`QUIET_S` (at most :data:`MAX_WAIT_S` after the first), then the
paths they name are looked at: if every one still matches the base of the
last round (the round's own writes, echoed back by the watchers) nothing
runs; otherwise a two-way round does. A dropped connection is waited out
(the client reconnects by itself) and followed by a full round, since
changes made meanwhile were not reported. A watch killed at any moment and
started again loses nothing: its first round is a full one, with the base
the last finished round saved. A round refused because one side was
emptied (:class:`~app.remote.sync.state.SyncRefused`) ends the watch with
that error: trying again would only refuse again, and the person must say
which way to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from hostd.protocol import Notification
from hostd.protocol import methods as m
from treesync.rules import has_git_part, merged
from treesync.tree import signature

from ..client import ConnectionState
from ..errors import NotConnected, RemoteError
from .plan import Side
from .result import SyncResult
from .state import SyncRefused
from .syncer import Syncer

log = logging.getLogger(__name__)

# An editor's save is a burst of events within a few milliseconds; a `git
# checkout` or a build, within a second or so. 200 ms of quiet catches the
# first whole and leaves most of the 1 s budget (save to server) to the round.
QUIET_S = 0.2
# A folder that never goes quiet (a log being written) is still synced this often.
MAX_WAIT_S = 1.0
# After a failed round (the link down, the server busy), the next try waits
# this long, doubling up to RETRY_CAP_S.
RETRY_FIRST_S = 1.0
RETRY_CAP_S = 30.0
_EVENT_TYPES = {"created", "deleted", "modified", "moved", "closed"}

ResultCallback = Callable[[SyncResult], None]
ErrorCallback = Callable[[Exception], None]


class _Changes:
    """Paths reported since the last round, per side; ``full`` means look at all."""

    def __init__(self) -> None:
        self.paths: dict[Side, set[str]] = {"local": set(), "remote": set()}
        self.full = True  # the first round looks at everything
        self.wake = asyncio.Event()

    def add(self, side: Side, paths: list[str], full: bool = False) -> None:
        self.paths[side].update(paths)
        self.full = self.full or full
        self.wake.set()

    def take(self) -> tuple[dict[Side, set[str]], bool]:
        paths, full = self.paths, self.full
        self.paths, self.full = {"local": set(), "remote": set()}, False
        return paths, full


class LocalWatcher:
    """watchdog on this machine's folder, handing relative paths to the loop."""

    def __init__(self, root: str, on_paths: Callable[[list[str]], None]) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        self.root = root
        loop = asyncio.get_running_loop()
        prefix = root.rstrip("/") + "/"

        def rel(path: str | bytes) -> str | None:
            text = os.fsdecode(path)
            if not text.startswith(prefix):
                return None
            r = text[len(prefix) :]
            if not r or has_git_part(r):
                return None
            return r

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in _EVENT_TYPES:
                    return  # opened, closed_no_write: reads, not changes
                found = [p for p in (rel(event.src_path), rel(event.dest_path or "")) if p]
                if found:
                    loop.call_soon_threadsafe(on_paths, found)

        self._observer = Observer()
        self._observer.schedule(Handler(), root, recursive=True)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=10)


async def run_watch(
    syncer: Syncer,
    on_result: ResultCallback | None = None,
    on_error: ErrorCallback | None = None,
) -> None:
    """Sync ``syncer``'s pair both ways whenever either side changes, until
    the task running this is cancelled (that stops a running rsync too).
    ``syncer`` must be open. Each round's result goes to ``on_result``; a
    failed round (the link down) to ``on_error``, and it is tried again, with
    a full look once the link is back. A round refused because a side was
    emptied ends the watch: it raises :class:`SyncRefused`."""
    client = syncer.client
    changes = _Changes()
    topic = m.TOPIC_FS_PREFIX + syncer.remote

    def on_remote(note: Notification) -> None:
        params = note.params or {}
        if params.get("root") == syncer.remote:
            changes.add("remote", list(params.get("paths") or []), bool(params.get("overflow")))

    def on_state(state: ConnectionState) -> None:
        if state.phase == "connected":
            changes.add("remote", [], full=True)  # what changed meanwhile was not reported

    remove_listener = client.add_listener(m.FS_CHANGED, on_remote)
    remove_state = client.add_state_listener(on_state)
    # The person accepted or kept held config changes: a round carries that out.
    syncer.on_decision = lambda: changes.add("local", [], full=True)
    watcher = LocalWatcher(syncer.local, lambda paths: changes.add("local", paths))
    try:
        await client.subscribe([topic])
        await asyncio.get_running_loop().run_in_executor(None, watcher.start)
        retry = RETRY_FIRST_S
        changes.wake.set()  # the first round looks at everything
        while True:
            await changes.wake.wait()
            await _settle(changes.wake)
            paths, full = changes.take()
            try:
                if not full and await _only_echoes(syncer, paths):
                    continue
                result = await syncer.sync()
                retry = RETRY_FIRST_S
            except (NotConnected, SyncRefused):
                raise
            except (RemoteError, OSError) as exc:
                log.warning("sync round failed: %s", exc)
                partial = getattr(exc, "result", None)
                if partial is not None and on_result is not None:
                    on_result(partial)
                if on_error is not None:
                    on_error(exc)
                changes.add("local", [], full=True)
                await asyncio.sleep(retry)
                retry = min(RETRY_CAP_S, retry * 2)
                continue
            if on_result is not None:
                on_result(result)
    finally:
        syncer.on_decision = None
        remove_listener()
        remove_state()
        await asyncio.get_running_loop().run_in_executor(None, watcher.stop)
        with contextlib.suppress(RemoteError, asyncio.CancelledError):
            await asyncio.shield(client.unsubscribe([topic], timeout=5.0))


async def _settle(wake: asyncio.Event) -> None:
    """Return once no change came for QUIET_S, or MAX_WAIT_S after the first."""
    loop = asyncio.get_running_loop()
    end = loop.time() + MAX_WAIT_S
    while True:
        wake.clear()
        left = end - loop.time()
        if left <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), min(QUIET_S, left))
        except TimeoutError:
            return


async def _only_echoes(syncer: Syncer, paths: dict[Side, set[str]]) -> bool:
    """Whether every reported path is ignored or still as the base has it."""
    rules = merged(syncer.ignore_files)
    base = syncer.base
    for side in ("local", "remote"):
        wanted = [p for p in paths[side] if not rules.excluded(p, False)]
        if not wanted:
            continue
        now: dict[str, Any] = await syncer.side(side).stat(wanted)
        for p in wanted:
            b = base.get(p)
            if signature(now.get(p)) != (b.of(side) if b else None):
                return False
    return True

"""The sandboxes' activity, the same whichever hostd is asked.

Three witnesses, strongest first:

1. the process: a stopped or dead sandbox, or a dead pane, is ``exited``
   (source ``process``);
2. Claude Code's hooks: once any hook event of the sandbox's current run
   is in its ``hooks/events/`` folder, the events say it (source ``hooks``;
   :mod:`hostd.claude.hookevents`);
3. the pane and the session files (:mod:`hostd.claude.activity`), for
   other agents and a Claude Code without hooks (source ``pane`` or
   ``session``).

Any hostd can read the hook events. What a hostd saw of the pane (its
hash, when it changed, the state it led to) is kept in the sandbox's
runtime folder as ``activity.json`` by whichever hostd looked last, so a
hostd that has not looked itself (a one-off ``claude-remote metrics``)
carries on from there instead of starting over, and one that does not look
at all (``sandbox.list``) can show it while it is fresh.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from treesync.files import write_atomic

from ..claude import hookevents as he
from ..claude import hooks as hookfolder
from ..claude.activity import EXITED, PROCESS, WAITING, Activity, ActivityTracker, PaneMemory
from ..claude.files import iso_ms, parse_iso
from ..claude.hookdir import HookDir
from ..protocol import methods as m
from ..sandbox.paths import StatePaths

log = logging.getLogger(__name__)

ACTIVITY_FILE = "activity.json"
LIVE = (m.STATUS_RUNNING, m.STATUS_EXITED)
# activity.json is rewritten when the activity changes, and this often while
# a hostd keeps looking (so its figures stay current for the next hostd)...
REFRESH_S = 10.0
# ...so one written longer ago than this means no hostd looks at that pane
# now: what it says may be long past, and a hostd that does not look itself
# shows no pane activity rather than a stale one.
FRESH_FOR_S = 60.0
_MAX_FILE = 65536  # activity.json is hostd's own and a few hundred bytes


@dataclass(frozen=True)
class _Seen:
    started_at: str | None
    activity: Activity
    at: float  # when
    written: tuple[Any, ...] | None = None  # what was last written to activity.json
    written_at: float = 0.0


class Activities:
    """What every sandbox is doing. Thread-safe: the metrics worker records
    pane observations; the monitor, handlers and answers read."""

    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self._lock = threading.Lock()
        self._hooks: dict[str, HookDir] = {}
        self._seen: dict[str, _Seen] = {}  # this hostd's own pane observations
        # activity.json as last read, by its stat (the monitor looks 4 times a second).
        self._files: dict[str, tuple[tuple[Any, ...], tuple[PaneMemory, float] | None]] = {}

    def hookdir(self, sid: str) -> HookDir:
        with self._lock:
            hd = self._hooks.get(sid)
            if hd is None:
                hd = self._hooks[sid] = HookDir(hookfolder.folder(self.paths.runtime_dir(sid)))
            return hd

    def hooks(self, rec: dict[str, Any]) -> he.HookState:
        """What the hook events of the record's current run say."""
        since = since_ns(rec)
        if since is None:
            return he.HookState(None)
        return self.hookdir(rec["id"]).fold(
            since_ns=since, running=rec["status"] == m.STATUS_RUNNING
        )

    # -- the pane: one tracker per sandbox, in the metrics worker -----------------------

    def restore(self, rec: dict[str, Any], tracker: ActivityTracker) -> bool:
        """Give a tracker that has not looked yet the last observation any hostd
        made of this run's pane; whether there was one."""
        if tracker.memory.hash is not None:
            return False
        saved = self._read_file(rec)
        if saved is None:
            return False
        tracker.restore(saved[0])
        return True

    def observed(self, rec: dict[str, Any], tracker: ActivityTracker) -> dict[str, Any]:
        """Note the tracker's latest look (for this hostd, and in activity.json
        for the others); the sandbox's activity, all witnesses heard."""
        current = tracker.current
        assert current is not None, "observed() after the tracker's update()"
        sid = rec["id"]
        before = self._seen.get(sid)
        written, written_at = (before.written, before.written_at) if before else (None, 0.0)
        now = time.time()
        memo = tracker.memory
        state = (rec.get("started_at"), current.key, current.since, current.source)
        due = state != written or now - written_at >= REFRESH_S
        if due and self._write_file(rec, memo, now):
            written, written_at = state, now
        self._seen[sid] = _Seen(rec.get("started_at"), current, now, written, written_at)
        merged = merge(rec, self.hooks(rec), current.to_dict())
        assert merged is not None
        return merged

    def forget(self, sid: str) -> None:
        """This hostd no longer looks at the sandbox (it stopped, or was deleted)."""
        self._seen.pop(sid, None)
        with self._lock:
            self._hooks.pop(sid, None)

    def keep(self, sids: set[str]) -> None:
        """Let go of what is kept for sandboxes not among these (deleted ones)."""
        for sid in set(self._seen) - sids:
            self._seen.pop(sid, None)
        for sid in set(self._files) - sids:
            self._files.pop(sid, None)
        with self._lock:
            for sid in set(self._hooks) - sids:
                del self._hooks[sid]

    # -- any thread ---------------------------------------------------------------------------

    def peek(self, view: dict[str, Any]) -> dict[str, Any] | None:
        """The activity of a Sandbox object, without looking at the pane: the
        hooks, and this hostd's last look or a fresh one of another hostd's.
        None for a sandbox that is not running, or that no one looks at."""
        if view.get("status") not in LIVE:
            return None
        pane = self._pane(view)
        return merge(view, self.hooks(view), pane)

    # -- internals ----------------------------------------------------------------------------

    def _pane(self, view: dict[str, Any]) -> dict[str, Any] | None:
        """This hostd's last look at the pane, or another's newer one if fresh."""
        seen = self._seen.get(view["id"])
        if seen is not None and seen.started_at != view.get("started_at"):
            seen = None
        saved = self._read_file(view)
        if saved is not None and saved[0].current is not None:
            fresh = time.time() - saved[1] <= FRESH_FOR_S
            if fresh and (seen is None or saved[1] > seen.at):
                return saved[0].current.to_dict()
        return seen.activity.to_dict() if seen is not None else None

    def _file(self, sid: str) -> Path:
        return self.paths.runtime_dir(sid) / ACTIVITY_FILE

    def _read_file(self, rec: dict[str, Any]) -> tuple[PaneMemory, float] | None:
        """(memory, when written) from activity.json, if it is of this run."""
        path = self._file(rec["id"])
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size, rec.get("started_at"))
        cached = self._files.get(rec["id"])
        if cached is not None and cached[0] == key:
            return cached[1]
        got = self._parse_file(path, rec)
        self._files[rec["id"]] = (key, got)
        return got

    def _parse_file(self, path: Path, rec: dict[str, Any]) -> tuple[PaneMemory, float] | None:
        try:
            with open(path, "rb") as f:
                obj = json.loads(f.read(_MAX_FILE))
            if not isinstance(obj, dict) or obj.get("started_at") != rec.get("started_at"):
                return None
            cur = obj.get("current")
            current = None
            if isinstance(cur, dict):
                source = str(cur.get("source") or "pane")
                current = Activity(str(cur["state"]), cur.get("reason"), float(cur["since"]),
                                   source, cur.get("request"))  # fmt: skip
            memory = PaneMemory(
                obj.get("hash"), _num(obj.get("first_seen")), _num(obj.get("changed_at")), current
            )
            return memory, float(obj.get("written_at") or 0.0)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            return None

    def _write_file(self, rec: dict[str, Any], memo: PaneMemory, now: float) -> bool:
        cur = memo.current
        obj = {
            "started_at": rec.get("started_at"),
            "written_at": now,
            "hash": memo.hash,
            "first_seen": memo.first_seen,
            "changed_at": memo.changed_at,
            "current": None if cur is None else {
                "state": cur.state, "reason": cur.reason, "since": cur.since,
                "source": cur.source, "request": cur.request,
            },
        }  # fmt: skip
        try:
            write_atomic(self._file(rec["id"]), json.dumps(obj).encode())
        except OSError as exc:  # the sandbox was deleted meanwhile
            log.debug("cannot write %s: %s", self._file(rec["id"]), exc)
            return False
        return True


def merge(
    rec: dict[str, Any], hooks: he.HookState, pane: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The activity from what each witness says (see the module docstring)."""
    status = rec.get("status")
    if status not in LIVE:
        return _activity(EXITED, status, None, PROCESS)
    if status == m.STATUS_EXITED or (pane is not None and pane.get("state") == EXITED):
        if pane is not None and pane.get("state") == EXITED:
            return pane
        code = rec.get("exit_code")
        return _activity(EXITED, f"exit status {code}" if code is not None else None, None, PROCESS)
    act = hooks.activity
    if act is None:
        return pane
    request = act.request
    if request is None and act.state == WAITING and pane is not None:
        # The hook gave up waiting (or was never asked): Claude Code shows its
        # own dialog, and the keys of the one on screen answer it.
        pane_request = pane.get("request")
        if pane_request and pane_request.get("kind") == "permission":
            request = pane_request
    return _activity(act.state, act.reason, iso_ms(act.since_ns / 1e9), m.SOURCE_HOOKS, request)


def _activity(
    state: str, reason: str | None, since: str | None, source: str,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {"state": state, "reason": reason, "since": since, "source": source,
            "request": request}  # fmt: skip


def since_ns(rec: dict[str, Any]) -> int | None:
    started = parse_iso(rec.get("started_at") or "")
    # started_at is floored to the millisecond: an event of the same
    # millisecond belongs to this run.
    return int(started * 1e9) - 1_000_000 if started is not None else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

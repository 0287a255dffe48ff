"""``sandbox.metrics`` and the ``metrics`` stream: tokens, activity, resources.

One :class:`SandboxWatch` per running sandbox keeps what must carry over
between looks: the session reader's file offsets (so a poll costs what was
appended), the activity tracker's memory of the pane, and the process
sampler's CPU baselines. A sandbox that starts again gets a fresh watch.
What the tracker sees is merged with the hook events, and shared with other
hostd processes, by :class:`~hostd.observe.activities.Activities`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..claude.activity import ActivityTracker
from ..claude.files import claude_config_dir, parse_iso
from ..claude.sessions import SessionReader
from ..protocol import methods as m
from ..protocol.errors import InvalidParams, RpcError
from ..sandbox import tmux
from ..sandbox.lifecycle import Manager
from ..sandbox.records import Record, is_claude
from .activities import Activities, merge
from .periodic import Periodic
from .procmetrics import ProcessSampler
from .sysmetrics import system_metrics

log = logging.getLogger(__name__)

# subscribe {metrics: {interval_s}}: a tile's figures need not be fresher than
# a few seconds; each tick costs two tmux calls and a few /proc reads per
# sandbox. 1 s is the fastest allowed, for someone watching closely.
DEFAULT_INTERVAL_S = 3.0
MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 3600.0
LIVE = (m.STATUS_RUNNING, m.STATUS_EXITED)
# Claude Code redraws at least every second while it works, and other agents'
# output comes in bursts; half a second separates a live pane from a still one
# often enough for a one-off look, and a person hardly notices the wait.
SECOND_LOOK_S = 0.5


@dataclass
class SandboxWatch:
    started_at: str | None
    reader: SessionReader | None
    tracker: ActivityTracker = field(default_factory=ActivityTracker)


class MetricsService:
    """Measures sandboxes. ``pool`` must have a single worker: the session
    readers and trackers are used by one thread at a time."""

    def __init__(self, manager: Manager, pool: Executor) -> None:
        self.manager = manager
        self.pool = pool
        self.sampler = ProcessSampler()
        self._watches: dict[str, SandboxWatch] = {}
        self._failing: set[str] = set()
        # Each sandbox writes its sessions to its own Claude config folder
        # (its record's claude_config). A record made before there was one
        # (claude_config null) still runs with the person's folder: the
        # launchers of then bound ~/.claude (or $CLAUDE_CONFIG_DIR) inside.
        self.legacy_config_dir = claude_config_dir(Path.home(), dict(os.environ))
        self.activities = Activities(manager.paths)

    def one(self, ref: str) -> dict[str, Any]:
        """``sandbox.metrics`` (blocking)."""
        rec = self.manager.record(ref)
        records = self.manager.records()
        return self._measure(rec, self._shared(records), first_look_twice=True)[rec["id"]]

    def all(self) -> dict[str, dict[str, Any]]:
        """Every sandbox that has processes, for the ``metrics`` push (blocking)."""
        records = self.manager.records()
        shared = self._shared(records)
        out: dict[str, dict[str, Any]] = {}
        failing: set[str] = set()
        for rec in records.values():
            if rec["status"] not in LIVE:
                continue
            try:
                out.update(self._measure(rec, shared))
            except Exception:
                # One sandbox's odd files must not silence the others. Logged
                # once, not every tick, until it measures again.
                failing.add(rec["id"])
                if rec["id"] not in self._failing:
                    log.exception("measuring sandbox %s failed", rec["id"])
        self._failing = failing
        for sid in set(self._watches) - set(out) - failing:
            del self._watches[sid]
            self.activities.forget(sid)
        self.sampler.forget_dead()
        return out

    # -- internals -------------------------------------------------------------------

    def _watch(self, rec: Record) -> SandboxWatch:
        watch = self._watches.get(rec["id"])
        if watch is None or watch.started_at != rec.get("started_at"):
            reader = None
            if is_claude(rec["agent"]):
                since = parse_iso(rec.get("started_at") or rec["created_at"]) or 0.0
                config = rec.get("claude_config") or self.legacy_config_dir
                reader = SessionReader(rec["project_dir"], config, since)
            watch = self._watches[rec["id"]] = SandboxWatch(rec.get("started_at"), reader)
        return watch

    def _shared(self, records: dict[str, Record]) -> dict[str, list[str]]:
        """Sandbox id -> the other live Claude sandboxes reading the same sessions.

        Only records made before each sandbox had a Claude config folder of
        its own (claude_config null) can share: they all wrote to the
        person's folder, where Claude Code keeps one folder per project
        *slug*, so /x/my-app and /x/my_app share sessions as surely as two
        sandboxes on one path. A sandbox with its own folder shares with none.
        """
        by_key: dict[object, list[str]] = {}
        for rec in records.values():
            if rec.get("claude_config"):
                continue
            if rec["status"] in LIVE and is_claude(rec["agent"]):
                reader = self._watch(rec).reader
                if reader is not None:
                    by_key.setdefault(reader.project_key, []).append(rec["id"])
        return {sid: [o for o in ids if o != sid] for ids in by_key.values() for sid in ids}

    def _measure(
        self, rec: Record, shared: dict[str, list[str]], first_look_twice: bool = False
    ) -> dict[str, dict[str, Any]]:
        sid = rec["id"]
        claude: dict[str, Any] | None = None
        if rec["status"] not in LIVE:
            activity = merge(rec, self.activities.hooks(rec), None)
            return {sid: {"claude": None, "activity": activity, "processes": _no_processes()}}
        watch = self._watch(rec)
        signals = None
        if watch.reader is not None:
            watch.reader.poll()
            claude = watch.reader.metrics(shared.get(sid, []))
            signals = watch.reader.signals()
        exited = rec["status"] == m.STATUS_EXITED
        first_look = watch.tracker.current is None
        # A hostd that has not looked at this pane yet carries on from the
        # last look of any other (so both say the same).
        self.activities.restore(rec, watch.tracker)
        if first_look_twice and first_look and not exited:
            # One look cannot tell a changing pane from a still one; a one-off
            # sandbox.metrics (say, from claude-remote) takes a second.
            watch.tracker.update(_pane_text(rec), session=signals)
            self.sampler.sample(rec)  # and a CPU baseline to measure from
            time.sleep(SECOND_LOOK_S)
        watch.tracker.update(
            _pane_text(rec), pane_dead=exited, exit_status=rec.get("exit_code"), session=signals
        )
        return {
            sid: {
                "claude": claude,
                "activity": self.activities.observed(rec, watch.tracker),
                "processes": self.sampler.sample(rec),
            }
        }


def _pane_text(rec: Record) -> str | None:
    if not rec.get("pane_id"):
        return None
    try:
        return tmux.capture_text(Path(rec["tmux_socket"]), rec["pane_id"])
    except RpcError:
        return None  # its tmux is gone: the monitor will call it dead


def _no_processes() -> dict[str, Any]:
    return {"cpu_percent": 0.0, "rss_bytes": 0, "count": 0}


def parse_interval(obj: dict[str, Any] | None) -> float:
    obj = dict(obj or {})
    unknown = sorted(set(obj) - {"interval_s"})
    if unknown:
        raise InvalidParams(f"unknown metrics setting {unknown[0]!r} (interval_s)", "metrics")
    interval = obj.get("interval_s", DEFAULT_INTERVAL_S)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise InvalidParams("metrics.interval_s must be a number", "metrics")
    if not MIN_INTERVAL_S <= interval <= MAX_INTERVAL_S:
        raise InvalidParams(
            f"metrics.interval_s must be between {MIN_INTERVAL_S:.0f} and {MAX_INTERVAL_S:.0f} s",
            "metrics",
        )
    return float(interval)


class MetricsStream(Periodic):
    """The ``metrics`` subscription: a push every ``interval`` seconds."""

    def __init__(
        self,
        service: MetricsService,
        interval: float,
        push_latest: Callable[[Hashable, str, dict[str, Any]], None],
        on_measured: Callable[[], None],
    ) -> None:
        super().__init__("metrics", interval)
        self.service = service
        self._push = push_latest
        self._on_measured = on_measured

    def update(self, interval: float) -> None:
        self.interval = interval
        self.wake()

    async def step(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            sandboxes = await loop.run_in_executor(self.service.pool, self.service.all)
            system = await loop.run_in_executor(self.service.pool, system_metrics)
        except Exception:
            log.exception("measuring failed")
            return
        self._push(("metrics",), m.METRICS, {"system": system, "sandboxes": sandboxes})
        self._on_measured()

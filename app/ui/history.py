"""The last minutes of metrics the app keeps for every host and sandbox: plain data.

The app feeds ``MetricsHistory`` every ``metrics`` push of every connected
host (``{system: {...}, sandboxes: {id: {claude, activity, processes}}}``,
every 3 s by default: docs/protocol.md, ``subscribe``), so a sandbox's tab
opened later still shows the last minutes, and the host view has the host's.
Each series is a list of (wall-clock unix time, value), oldest first, as
``Sparkline.set_points`` takes it.

What is kept, and why these figures:

- per sandbox: its process tree's CPU (% of one core) and resident memory;
  for a Claude sandbox the cumulative token total and two rates derived from
  it. ``TOKENS`` counts all four kinds (input, output, cache write, cache
  read): that is what the API processed for the agent and what it bills
  (cache reads dominate an agent's turns: each one re-reads the context), so
  ``TOKENS_PER_MIN`` moves with the work done and the money spent. The tile
  shows input + output, the conversation's own size; for a rate that sum is
  nearly all output (with caching, input is a few tokens a turn), so the
  model's writing has its own rate, ``OUTPUT_PER_MIN``.
- per host: CPU, memory and disk used (and their totals, which change when a
  disk is resized or a VM gets memory), the 1-minute load, and network
  receive and send rates derived from hostd's counters.

Rates come from two consecutive samples. A counter that went down (a
sandbox restarted and its token totals began again; a host rebooted and its
network counters did) gives no rate for that step, nor do two samples more
than ``rate_gap_s`` apart (the host was disconnected: a rate over the silence
would be an average of time nobody watched).

Not thread-safe: the GUI thread, which receives the pushes, is its only user.
This module imports no Qt, so it is tested as plain data.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float]

# -- series names ------------------------------------------------------------------

# Per sandbox.
CPU = "cpu_percent"  # processes.cpu_percent: % of one core, can pass 100
RSS = "rss_bytes"  # processes.rss_bytes
TOKENS = "tokens"  # claude: input + output + cache write + cache read, since the start
TOKENS_PER_MIN = "tokens_per_min"  # the rate of TOKENS
OUTPUT_PER_MIN = "output_tokens_per_min"  # the rate of claude.output_tokens
SANDBOX_SERIES = (CPU, RSS, TOKENS, TOKENS_PER_MIN, OUTPUT_PER_MIN)

# Per host (system.metrics).
HOST_CPU = "cpu_percent"
MEMORY_USED = "memory_used"
MEMORY_TOTAL = "memory_total"
DISK_USED = "disk_used"
DISK_TOTAL = "disk_total"
LOAD_1 = "load_1"  # load[0], the 1-minute load average
NET_RX = "net_rx_rate"  # bytes/s received, from net_rx_bytes
NET_TX = "net_tx_rate"  # bytes/s sent, from net_tx_bytes
HOST_SERIES = (HOST_CPU, MEMORY_USED, MEMORY_TOTAL, DISK_USED, DISK_TOTAL, LOAD_1, NET_RX, NET_TX)

# Ten minutes: the sparklines show the last five (sparkline.DEFAULT_WINDOW_S);
# twice that lets a tab opened a while later still fill its chart, and a chart
# be widened to ten. At the default 3 s pushes that is 200 samples a series.
DEFAULT_KEEP_S = 600.0
# The shortest push interval hostd accepts (subscribe's metrics.interval_s,
# 1 to 3600 s): with it, a series holds keep_s / 1 samples at most.
MIN_INTERVAL_S = 1.0
# Ten missed pushes at the default 3 s: beyond that a rate is not derived.
DEFAULT_RATE_GAP_S = 30.0


@dataclass
class _Counter:
    """The last reading of a cumulative figure, to derive a rate from."""

    t: float
    value: float


@dataclass
class _Series:
    """Samples of several named series that age together, plus the counters
    their rates are derived from."""

    maxlen: int
    seen: float = -math.inf  # when its subject was last in a push
    data: dict[str, deque[Point]] = field(default_factory=dict)
    counters: dict[str, _Counter] = field(default_factory=dict)

    def append(self, name: str, t: float, value: float) -> None:
        points = self.data.get(name)
        if points is None:
            points = self.data[name] = deque(maxlen=self.maxlen)
        if points and t < points[-1][0]:
            return  # older than what we have (a clock step back): keep the order
        points.append((t, value))

    def trim(self, oldest: float) -> None:
        for name in list(self.data):
            points = self.data[name]
            while points and points[0][0] < oldest:
                points.popleft()
            if not points:
                del self.data[name]

    def rate(
        self, name: str, t: float, value: float, per_s: float, max_gap_s: float
    ) -> float | None:
        """The change of a counter since its last reading, per ``per_s`` seconds;
        None when there is no usable last reading (none, too old, or larger)."""
        last = self.counters.get(name)
        self.counters[name] = _Counter(t, value)
        if last is None:
            return None
        dt = t - last.t
        if dt <= 0 or dt > max_gap_s or value < last.value:
            return None
        return (value - last.value) / dt * per_s


@dataclass
class _Host:
    system: _Series
    sandboxes: dict[str, _Series] = field(default_factory=dict)
    claude: dict[str, dict[str, Any]] = field(default_factory=dict)  # the latest, per sandbox


class MetricsHistory:
    """Bounded per-host and per-sandbox series, fed by ``metrics`` pushes.

    Every series keeps the samples of the last ``keep_s`` seconds (measured
    back from the latest sample of its host), and never more than
    ``keep_s / min_interval_s`` of them, whatever the pushes' times say.
    """

    def __init__(
        self,
        keep_s: float = DEFAULT_KEEP_S,
        *,
        min_interval_s: float = MIN_INTERVAL_S,
        rate_gap_s: float = DEFAULT_RATE_GAP_S,
    ) -> None:
        if keep_s <= 0 or min_interval_s <= 0 or rate_gap_s <= 0:
            raise ValueError("keep_s, min_interval_s and rate_gap_s must be positive")
        self.keep_s = keep_s
        self.rate_gap_s = rate_gap_s
        self.maxlen = math.ceil(keep_s / min_interval_s) + 1
        self._hosts: dict[str, _Host] = {}

    # -- feeding -------------------------------------------------------------------

    def add(self, host: str, params: Mapping[str, Any], t: float) -> None:
        """One ``metrics`` push of ``host``, received at ``t`` (unix seconds).

        Figures that are missing or not numbers are skipped, not guessed. A
        sandbox that is no longer in the pushes keeps its samples until they
        age out (``drop_sandbox`` forgets it at once, for a deleted one).
        """
        system = params.get("system")
        if isinstance(system, Mapping):
            self.add_system(host, system, t)
        sandboxes = params.get("sandboxes")
        if isinstance(sandboxes, Mapping):
            for sid, metrics in sandboxes.items():
                if isinstance(metrics, Mapping):
                    self.add_sandbox(host, str(sid), metrics, t)
        self._trim(host, t)

    def add_system(self, host: str, system: Mapping[str, Any], t: float) -> None:
        """A ``system.metrics`` result (also the ``system`` of a push)."""
        series = self._host(host).system
        for name, key in (
            (HOST_CPU, "cpu_percent"),
            (MEMORY_USED, "memory_used"),
            (MEMORY_TOTAL, "memory_total"),
            (DISK_USED, "disk_used"),
            (DISK_TOTAL, "disk_total"),
        ):
            value = _number(system.get(key))
            if value is not None:
                series.append(name, t, value)
        load = system.get("load")
        if isinstance(load, list | tuple) and load:
            value = _number(load[0])
            if value is not None:
                series.append(LOAD_1, t, value)
        for name, key in ((NET_RX, "net_rx_bytes"), (NET_TX, "net_tx_bytes")):
            value = _number(system.get(key))
            if value is not None:
                rate = series.rate(name, t, value, 1.0, self.rate_gap_s)
                if rate is not None:
                    series.append(name, t, rate)

    def add_sandbox(self, host: str, sid: str, metrics: Mapping[str, Any], t: float) -> None:
        """One sandbox's ``{claude, activity, processes}`` (a push's, or a
        ``sandbox.metrics`` result)."""
        h = self._host(host)
        series = h.sandboxes.get(sid)
        if series is None:
            series = h.sandboxes[sid] = _Series(self.maxlen)
        series.seen = max(series.seen, t)
        processes = metrics.get("processes")
        if isinstance(processes, Mapping):
            for name, key in ((CPU, "cpu_percent"), (RSS, "rss_bytes")):
                value = _number(processes.get(key))
                if value is not None:
                    series.append(name, t, value)
        claude = metrics.get("claude")
        if not isinstance(claude, Mapping):
            h.claude.pop(sid, None)
            return
        h.claude[sid] = dict(claude)
        total = token_total(claude)
        if total is not None:
            series.append(TOKENS, t, total)
            rate = series.rate(TOKENS_PER_MIN, t, total, 60.0, self.rate_gap_s)
            if rate is not None:
                series.append(TOKENS_PER_MIN, t, rate)
        output = _number(claude.get("output_tokens"))
        if output is not None:
            rate = series.rate(OUTPUT_PER_MIN, t, output, 60.0, self.rate_gap_s)
            if rate is not None:
                series.append(OUTPUT_PER_MIN, t, rate)

    def drop_host(self, host: str) -> None:
        self._hosts.pop(host, None)

    def drop_sandbox(self, host: str, sid: str) -> None:
        h = self._hosts.get(host)
        if h is not None:
            h.sandboxes.pop(sid, None)
            h.claude.pop(sid, None)

    # -- reading -------------------------------------------------------------------

    def series(self, host: str, sid: str, name: str) -> list[Point]:
        """A sandbox's series, oldest first; [] for a host or sandbox not seen."""
        if name not in SANDBOX_SERIES:
            raise ValueError(f"no sandbox series {name!r}; there are {', '.join(SANDBOX_SERIES)}")
        h = self._hosts.get(host)
        s = h.sandboxes.get(sid) if h is not None else None
        return list(s.data.get(name, ())) if s is not None else []

    def host_series(self, host: str, name: str) -> list[Point]:
        """A host's series, oldest first; [] for a host not seen."""
        if name not in HOST_SERIES:
            raise ValueError(f"no host series {name!r}; there are {', '.join(HOST_SERIES)}")
        h = self._hosts.get(host)
        return list(h.system.data.get(name, ())) if h is not None else []

    def latest(self, host: str, sid: str, name: str) -> float | None:
        points = self.series(host, sid, name)
        return points[-1][1] if points else None

    def host_latest(self, host: str, name: str) -> float | None:
        points = self.host_series(host, name)
        return points[-1][1] if points else None

    def claude(self, host: str, sid: str) -> dict[str, Any] | None:
        """The sandbox's latest ``claude`` object (for its cost), or None."""
        h = self._hosts.get(host)
        return h.claude.get(sid) if h is not None else None

    def hosts(self) -> list[str]:
        return sorted(self._hosts)

    def sandboxes(self, host: str) -> list[str]:
        h = self._hosts.get(host)
        return sorted(h.sandboxes) if h is not None else []

    # -- internals -----------------------------------------------------------------

    def _host(self, host: str) -> _Host:
        h = self._hosts.get(host)
        if h is None:
            h = self._hosts[host] = _Host(_Series(self.maxlen))
        return h

    def _trim(self, host: str, now: float) -> None:
        h = self._hosts.get(host)
        if h is None:
            return
        oldest = now - self.keep_s
        h.system.trim(oldest)
        for sid in list(h.sandboxes):
            series = h.sandboxes[sid]
            series.trim(oldest)
            if series.seen < oldest:
                # Gone from the pushes for keep_s (stopped, or deleted unseen).
                del h.sandboxes[sid]
                h.claude.pop(sid, None)


def token_total(claude: Mapping[str, Any]) -> float | None:
    """All tokens a Claude session's API calls processed: input, output, cache
    write and cache read (sub-agents included, as hostd's totals are). None
    if none of the four is a number."""
    parts = [
        _number(claude.get(k))
        for k in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    ]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def _number(value: object) -> float | None:
    # bool is an int to Python, never a figure here; NaN or inf would break a scale.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None

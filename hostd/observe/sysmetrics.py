"""Host-wide figures for ``system.metrics`` (psutil)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil

# A CPU percentage compares two samples of the CPU times. psutil's own
# cpu_percent(interval=None) keeps its last sample per thread, so a first call
# from a pool thread (where every system.metrics runs) had nothing to compare
# with and said 0.0 however busy the host was. We keep one sample for the
# process instead, taken at import (hostd's start), and compare each reading
# with it after at least this long: at the kernel's 100 ticks a second, 0.1 s
# is ten ticks per core, enough to see a busy core, and a wait nobody notices.
_MIN_CPU_WINDOW_S = 0.1

_lock = threading.Lock()
_last = (time.monotonic(), psutil.cpu_times())


def cpu_percent() -> float:
    """The host's CPU use since the last reading, in percent of all cores;
    each reading covers at least :data:`_MIN_CPU_WINDOW_S`."""
    global _last
    with _lock:
        then, before = _last or (time.monotonic(), psutil.cpu_times())
        wait = _MIN_CPU_WINDOW_S - (time.monotonic() - then)
        if wait > 0:
            time.sleep(wait)
        now = psutil.cpu_times()
        _last = (time.monotonic(), now)
    return _busy_percent(before, now)


def _busy_percent(before: Any, after: Any) -> float:
    """As psutil computes it: idle and iowait are not busy; guest time is
    already counted in user (and guest_nice in nice), so it is left out of
    the total."""
    delta: dict[str, float] = {
        f: max(0.0, float(getattr(after, f)) - float(getattr(before, f))) for f in after._fields
    }
    total = sum(delta.values()) - delta.get("guest", 0.0) - delta.get("guest_nice", 0.0)
    idle = delta.get("idle", 0.0) + delta.get("iowait", 0.0)
    if total <= 0:
        return 0.0
    return round(max(0.0, min(100.0, (total - idle) / total * 100)), 1)


def system_metrics(disk_path: Path | None = None) -> dict[str, Any]:
    """Figures for the whole host; disk figures are for the filesystem of ``disk_path``."""
    vm = psutil.virtual_memory()
    disk = psutil.disk_usage(str(disk_path or Path.home()))
    net = psutil.net_io_counters(pernic=True)
    rx = sum(c.bytes_recv for nic, c in net.items() if nic != "lo")
    tx = sum(c.bytes_sent for nic, c in net.items() if nic != "lo")
    return {
        "cpu_percent": cpu_percent(),
        "cpu_count": psutil.cpu_count() or 1,
        "memory_used": vm.total - vm.available,
        "memory_total": vm.total,
        "disk_used": disk.used,
        "disk_total": disk.total,
        "load": list(os.getloadavg()),
        "net_rx_bytes": rx,
        "net_tx_bytes": tx,
    }

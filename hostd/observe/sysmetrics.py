"""Host-wide figures for ``system.metrics`` (psutil)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil

# cpu_percent(interval=None) compares with the previous call; a first call has
# nothing to compare with. We prime it at import and make sure at least this
# long has passed before the first reading is trusted.
_MIN_CPU_WINDOW_S = 0.1

_lock = threading.Lock()
_primed_at = time.monotonic()
psutil.cpu_percent(interval=None)


def cpu_percent() -> float:
    with _lock:
        wait = _MIN_CPU_WINDOW_S - (time.monotonic() - _primed_at)
        if wait > 0:
            time.sleep(wait)
        return float(psutil.cpu_percent(interval=None))


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

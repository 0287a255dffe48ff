"""Per-sandbox resource use: CPU, memory and process count of its whole tree.

A sandbox's processes are its pane's descendants (the launcher, the agent,
whatever they start, a VM's QEMU), its tmux server's other children (the log
pipe) and its Xvfb. CPU is measured between two samples of the same process
objects, so the sampler keeps them from one call to the next.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import psutil

from ..sandbox.procs import ProcRef, tree
from ..sandbox.records import Record


class ProcessSampler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[int, psutil.Process] = {}

    def sample(self, rec: Record) -> dict[str, Any]:
        """``{cpu_percent, rss_bytes, count}`` for the sandbox's processes now.

        CPU is the share of one core since the previous sample (0 for a process
        seen for the first time), summed over the tree, so a busy sandbox on a
        4-core host can show up to 400.
        """
        recorded = rec.get("procs") or {}
        # The pane is a child of its tmux server: walking the server's tree
        # finds it (each walk reads all of /proc, so one fewer matters).
        refs = [ProcRef.from_obj(recorded.get(k)) for k in ("tmux", "xvfb")]
        if recorded.get("tmux") is None:
            refs.append(ProcRef.from_obj(recorded.get("pane")))
        procs = tree(refs)
        cpu = 0.0
        rss = 0
        count = 0
        with self._lock:
            for p in procs:
                known = self._known.setdefault(p.pid, p)
                if known.create_time() != p.create_time():  # the pid was reused
                    known = self._known[p.pid] = p
                with contextlib.suppress(psutil.Error):
                    cpu += known.cpu_percent(interval=None)
                    rss += known.memory_info().rss
                    count += 1
        return {"cpu_percent": round(cpu, 1), "rss_bytes": rss, "count": count}

    def forget_dead(self) -> None:
        """Drop processes that have exited (call now and then)."""
        with self._lock:
            for pid, p in list(self._known.items()):
                if not p.is_running():
                    del self._known[pid]

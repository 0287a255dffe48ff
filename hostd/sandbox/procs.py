"""Process identity and termination.

A pid alone names a process only until it exits: pids are reused. A
:class:`ProcRef` is a pid together with the process's start time, and it is
trusted only while both match.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psutil

log = logging.getLogger(__name__)

# psutil derives create_time from the boot time and the start tick in
# /proc/<pid>/stat: exact to a clock tick (10 ms) and identical across calls.
_START_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class ProcRef:
    pid: int
    started: float

    @classmethod
    def of(cls, pid: int) -> ProcRef:
        return cls(pid, psutil.Process(pid).create_time())

    @classmethod
    def from_obj(cls, obj: Any) -> ProcRef | None:
        if not isinstance(obj, dict):
            return None
        pid, started = obj.get("pid"), obj.get("started")
        if not isinstance(pid, int) or not isinstance(started, (int, float)):
            return None
        return cls(pid, float(started))

    @classmethod
    def of_live(cls, pid: int) -> ProcRef | None:
        """A ref for ``pid`` as it is now, or None if there is no such process."""
        try:
            return cls.of(pid)
        except psutil.Error:
            return None

    def to_obj(self) -> dict[str, Any]:
        return {"pid": self.pid, "started": self.started}

    def process(self) -> psutil.Process | None:
        """The live process this names, or None if it is gone (or a zombie)."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.started) > _START_TOLERANCE_S:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                if proc.ppid() == os.getpid():
                    # Our own child (Xvfb) that died on its own: reap it, or
                    # it lingers as a zombie for as long as hostd runs.
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(self.pid, os.WNOHANG)
                return None
            return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None

    def alive(self) -> bool:
        return self.process() is not None


def tree(refs: Iterable[ProcRef | None]) -> list[psutil.Process]:
    """The live processes named by ``refs`` and all their descendants."""
    found: dict[int, psutil.Process] = {}
    for ref in refs:
        proc = ref.process() if ref else None
        if proc is None:
            continue
        found[proc.pid] = proc
        with contextlib.suppress(psutil.Error):
            for child in proc.children(recursive=True):
                found.setdefault(child.pid, child)
    return list(found.values())


def mentioning(text: str) -> list[psutil.Process]:
    """Our processes whose command line mentions ``text``. Scans every
    process, so it is kept for cleanups after a crash, not routine work."""
    uid = os.getuid()
    found = []
    for p in psutil.process_iter(["cmdline", "uids"]):
        try:
            if p.info["uids"] is None or p.info["uids"].real != uid:
                continue
            if p.pid != os.getpid() and any(text in arg for arg in p.info["cmdline"] or []):
                found.append(p)
        except psutil.Error:
            continue
    return found


def tagged(name: str, value: str) -> list[psutil.Process]:
    """Our processes whose environment holds ``name=value``.

    The pane's environment names its sandbox, and every process started in
    it inherits that, so this finds what the process tree misses: a daemon
    that double-forked away to init, or a child born after the tree was
    walked whose parent was then killed (bubblewrap's outer process dying
    before its namespace init set its parent-death signal). Scans every
    process, so it is kept for stop and delete, not routine work.
    """
    needle = f"{name}={value}".encode()
    uid, me = os.getuid(), os.getpid()
    found = []
    for p in psutil.process_iter(["uids"]):
        try:
            if p.pid == me or p.info["uids"] is None or p.info["uids"].real != uid:
                continue
            with open(f"/proc/{p.pid}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(p)
        except (OSError, psutil.Error):
            continue
    return found


def terminate(procs: Iterable[psutil.Process], timeout: float = 3.0) -> list[psutil.Process]:
    """SIGTERM, wait up to ``timeout``, then SIGKILL. Returns any that survived.

    A process that has exited counts as gone even while it is a zombie: its
    parent (init, for a daemon such as the tmux server) reaps it in its own
    time. Our own children are reaped here, so none linger as zombies.
    """
    procs = [p for p in procs if _running(p)]
    mine = {p.pid for p in procs if _ppid(p) == os.getpid()}
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    alive = _wait_gone(procs, timeout, mine)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    alive = _wait_gone(alive, timeout, mine)
    for p in alive:
        log.error("process %d (%s) survived SIGKILL", p.pid, _name(p))
    return alive


def _wait_gone(procs: list[psutil.Process], timeout: float, mine: set[int]) -> list[psutil.Process]:
    end = time.monotonic() + timeout
    while True:
        for pid in mine:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        alive = [p for p in procs if _running(p)]
        if not alive or time.monotonic() >= end:
            return alive
        time.sleep(0.02)


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _ppid(p: psutil.Process) -> int | None:
    try:
        return p.ppid()
    except psutil.Error:
        return None


def _name(p: psutil.Process) -> str:
    try:
        return p.name()
    except psutil.Error:
        return "?"

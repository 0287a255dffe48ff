"""Reconcile: bring the records in line with the processes that actually exist.

Run when hostd starts and every few seconds after. It never acts on a
sandbox whose operation lock is taken: a sandbox being started or stopped
is not a dead one. What it finds:

* a reservation whose hostd is gone: a create cut short, undone;
* a running record whose pane is gone: ``exited`` if tmux kept the pane
  (the agent ended; the record keeps its exit code and last lines), else
  ``dead``, and what is left is stopped;
* a stopped or dead record with live processes: they are stopped;
* an exited record whose (new) pane lives: a start cut short, running.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from treesync.files import flocked

from ..protocol.methods import STATUS_DEAD, STATUS_EXITED, STATUS_RUNNING, STATUS_STOPPED
from . import exits, steps, tmux
from .paths import StatePaths
from .procs import ProcRef
from .records import Record
from .state import State, StateStore

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, paths: StatePaths, store: StateStore) -> None:
        self.paths = paths
        self.store = store
        self._swept = False

    def run(self) -> None:
        """One pass over every reservation and record (blocking)."""
        state = self.store.read()
        for sid, pending in list(state["pending"].items()):
            owner = ProcRef.from_obj(pending.get("owner"))
            if owner is None or not owner.alive():
                self._reap_pending(sid)
        for sid, rec in list(state["sandboxes"].items()):
            if observe(rec) is not None:
                self._settle(sid)
        if not self._swept:  # leftovers of a killed hostd: once per hostd is enough
            self._sweep_temp_files()
            self._swept = True

    def _settle(self, sid: str) -> None:
        with flocked(self.paths.op_lock(sid), blocking=False) as got:
            if not got:
                return  # an operation is under way; it will leave things right
            rec = self.store.read()["sandboxes"].get(sid)
            if rec is None:
                return
            change = observe(rec)
            if change is None:
                return
            if change["status"] == STATUS_RUNNING:
                self.store.update(lambda state: _apply(state, sid, change))
                log.info("sandbox %s runs again: its start was cut short", rec["name"])
                return
            if change["status"] == STATUS_EXITED and rec["status"] == STATUS_RUNNING:
                self.store.update(lambda state: _apply(state, sid, change))
                log.info("sandbox %s exited with status %s", rec["name"], change.get("exit_code"))
                return
            steps.kill(rec)
            self.store.update(lambda state: steps.mark_stopped(state, sid, change["status"]))
            if rec["status"] == STATUS_RUNNING:
                log.warning("sandbox %s (%s) is dead: its tmux session vanished", rec["name"], sid)

    def _reap_pending(self, sid: str) -> None:
        with flocked(self.paths.op_lock(sid), blocking=False) as got:
            if not got:
                return
            pending = self.store.read()["pending"].get(sid)
            if pending is None:
                return
            log.warning("cleaning up after an interrupted create of %r", pending.get("name"))
            steps.undo_create(self.paths, self.store, sid, search=True)
            self.paths.op_lock(sid).unlink(missing_ok=True)

    def _sweep_temp_files(self) -> None:
        """Remove the state temp files a killed hostd left."""
        prefix = ".state.json.tmp-"
        for tmp in self.paths.root.glob(prefix + "*"):
            pid = tmp.name[len(prefix) :].split("-")[0].split(".")[0]
            if pid.isdigit() and not _pid_exists(int(pid)):
                with contextlib.suppress(OSError):
                    tmp.unlink()


def observe(rec: Record) -> dict[str, Any] | None:
    """What should change in ``rec``, judged from outside; None if nothing."""
    procs = {k: ProcRef.from_obj(v) for k, v in (rec.get("procs") or {}).items()}
    status = rec.get("status")
    if status == STATUS_RUNNING:
        pane = procs.get("pane")
        if pane is not None and pane.alive():
            return None
        state = None
        tmux_ref = procs.get("tmux")
        if tmux_ref is not None and tmux_ref.alive() and rec.get("pane_id"):
            state = tmux.pane_state(Path(rec["tmux_socket"]), rec["pane_id"])
        if state is None:
            return {"status": STATUS_DEAD}
        if state.dead:
            lines = exits.read_last_lines(Path(rec["tmux_socket"]), rec["pane_id"])
            return {"status": STATUS_EXITED, "exit_code": state.status, "last_lines": lines}
        return None
    if status in (STATUS_STOPPED, STATUS_DEAD) and any(
        p is not None and p.alive() for p in procs.values()
    ):
        return {"status": status}  # leftovers to stop
    pane = procs.get("pane")
    if status == STATUS_EXITED and pane is not None and pane.alive():
        # A start's agent runs, but the record still says exited: the hostd
        # starting it was killed before it could say so. It is running.
        return {"status": STATUS_RUNNING, "exit_code": None, "last_lines": None}
    tmux_ref = procs.get("tmux")
    if status == STATUS_EXITED and tmux_ref is not None and not tmux_ref.alive():
        # Its tmux went after the agent ended: the kept pane is gone, so
        # stop what is left (its display) and say the pane is gone.
        return {"status": STATUS_EXITED}
    return None


def _apply(state: State, sid: str, change: dict[str, Any]) -> None:
    if sid in state["sandboxes"]:
        state["sandboxes"][sid].update(change)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

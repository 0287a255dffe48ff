"""Sandbox lifecycle: create, start, stop, delete, and reconcile with reality.

Everything here blocks (it starts processes and waits for them) and runs in
an executor thread, never on the event loop.

Three rules keep several hostd processes and sudden kills from losing or
leaking anything:

* Names are reserved before any process starts: a ``pending`` entry in the
  state names the hostd doing the create (pid + start time) and, as they
  start, the processes it owns. If that hostd dies mid-create, the next
  reconcile finds the entry stale and stops what it lists.
* Each sandbox has an operation lock (flock); create, start, stop and delete
  hold it, and reconcile skips a sandbox whose lock is taken, so it never
  mistakes a sandbox being started or stopped for a dead one.
* Processes are recorded as they start, so a record never hides a process:
  a stopped or dead record with live processes gets them stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from treesync.files import flocked

from ..protocol.errors import (
    BackendUnavailable,
    InvalidParams,
    InvalidState,
    NoSuchSandbox,
    ProcessFailed,
)
from ..protocol.methods import STATUS_DEAD, STATUS_EXITED, STATUS_RUNNING, STATUS_STOPPED
from ..protocol.names import check_name
from ..protocol.spec import DEFAULT_AGENT, DEFAULT_GEOMETRY, DEFAULT_NETWORK
from . import display, tmux
from .backends import BACKENDS, Backend, launcher_argv, probe
from .paths import StatePaths, create_private_file, make_private_dir
from .procs import ProcRef, mentioning, tagged, terminate, tree
from .records import (
    Record,
    check_project_dir,
    newest_first,
    now_iso,
    public_view,
    resolve,
    split_agent,
)
from .state import State, StateStore

# In the pane's environment, so every process of a sandbox carries it.
SANDBOX_ID_VAR = "CLAUDE_SANDBOX_ID"
SANDBOX_NAME_VAR = "CLAUDE_SANDBOX_NAME"

log = logging.getLogger(__name__)

# A retry with the same client_token while the first create is still running
# waits for it. A VM launcher may take a minute to boot; this is well past it.
TOKEN_WAIT_S = 180.0
MAX_TOKEN_LEN = 200
# sandbox.logs returns at most the last 4 MiB: JSON can escape a terminal's
# bytes to several times their size, and the reply must fit one 32 MiB line.
MAX_LOG_READ = 4 * 1024 * 1024


class Manager:
    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        paths.ensure()
        self.store = StateStore(paths)
        self.owner = ProcRef.of(os.getpid())
        self._swept = False
        # A hostd started inside a sandbox (its pane, an agent) inherits that
        # sandbox's tag; the displays and tmux servers it starts for other
        # sandboxes must not carry it, or stopping that one would end them.
        for var in (SANDBOX_ID_VAR, SANDBOX_NAME_VAR):
            os.environ.pop(var, None)

    # -- reads -----------------------------------------------------------------

    def records(self) -> dict[str, Record]:
        sandboxes: dict[str, Record] = self.store.read()["sandboxes"]
        return sandboxes

    def views(self) -> list[dict[str, Any]]:
        return [public_view(r) for r in newest_first(list(self.records().values()))]

    def get(self, ref: str) -> dict[str, Any]:
        return public_view(resolve(self.records(), ref))

    def record(self, ref: str) -> Record:
        return resolve(self.records(), ref)

    # -- lifecycle -------------------------------------------------------------

    def create(
        self,
        *,
        name: str,
        backend: str,
        project_dir: str,
        network: bool = DEFAULT_NETWORK,
        agent: str = DEFAULT_AGENT,
        geometry: str = DEFAULT_GEOMETRY,
        client_token: str | None = None,
    ) -> dict[str, Any]:
        check_name(name)
        if backend not in BACKENDS:
            raise InvalidParams(
                f"unknown backend {backend!r}; one of: {', '.join(BACKENDS)}", "backend"
            )
        project = check_project_dir(project_dir)
        agent_argv = split_agent(agent)
        try:
            size = display.parse_geometry(geometry)
        except ValueError as exc:
            raise InvalidParams(str(exc), "geometry") from None
        if backend == "none" and not network:
            raise InvalidParams(
                "backend 'none' has no isolation, so it cannot turn the network off; "
                "choose an isolating backend or network: true",
                "network",
            )
        if client_token is not None and not (0 < len(client_token) <= MAX_TOKEN_LEN):
            raise InvalidParams(
                f"client_token must be 1 to {MAX_TOKEN_LEN} characters", "client_token"
            )
        be = self._available(backend)
        if self.paths.socket_room() < 0:
            raise ProcessFailed(
                f"the state folder {self.paths.root} is too long a path for unix sockets; "
                "set HOSTD_STATE_DIR to a shorter path"
            )

        sid = str(uuid.uuid4())
        rundir = self.paths.runtime_dir(sid)
        created = now_iso()
        rec: Record = {
            "id": sid, "name": name, "backend": backend, "project_dir": project,
            "status": STATUS_STOPPED, "exit_code": None, "display": None,
            "tmux_socket": str(rundir / "tmux.sock"),
            "tmux_session": tmux.session_name_for(name),
            "qmp_socket": str(rundir / "qmp.sock") if backend == "vm" else None,
            "network": network, "agent": agent, "geometry": f"{size[0]}x{size[1]}",
            "created_at": created, "started_at": None, "stopped_at": None,
            "client_token": client_token, "procs": {}, "pane_id": None,
        }  # fmt: skip
        existing = self._reserve(rec)
        if existing is not None:
            return public_view(existing)

        with flocked(self.paths.op_lock(sid)):
            try:
                make_private_dir(rundir)
                create_private_file(self.paths.log_file(sid), exclusive=True)
                up = self._bring_up(
                    rec, be, agent_argv, lambda procs: self._note_pending(sid, procs)
                )
            except BaseException:
                self._undo_create(sid)
                raise

            def commit(state: State) -> None:
                state["pending"].pop(sid, None)
                rec.update(up, status=STATUS_RUNNING, started_at=now_iso())
                state["sandboxes"][sid] = rec

            self.store.update(commit)
        log.info("created sandbox %s (%s) backend=%s", name, sid, backend)
        return public_view(rec)

    def start(self, ref: str) -> dict[str, Any]:
        sid = self.record(ref)["id"]
        with flocked(self.paths.op_lock(sid)):
            rec = self._fresh(sid)
            if rec["status"] == STATUS_RUNNING:
                raise InvalidState(
                    f"sandbox {rec['name']!r} is already running", {"status": rec["status"]}
                )
            # A dead or exited sandbox may still hold leftovers (its display).
            self._kill(rec)
            be = self._available(rec["backend"])
            agent_argv = split_agent(rec["agent"])
            make_private_dir(self.paths.runtime_dir(sid))
            try:
                up = self._bring_up(
                    rec, be, agent_argv, lambda procs: self._note_record(sid, procs)
                )
            except BaseException:
                self._kill(self._fresh(sid))
                self._note_record(sid, {})
                raise

            def commit(state: State) -> Record:
                r: Record = state["sandboxes"][sid]
                r.update(
                    up, status=STATUS_RUNNING, exit_code=None, started_at=now_iso(), stopped_at=None
                )
                return r

            rec = self.store.update(commit)
        log.info("started sandbox %s (%s)", rec["name"], sid)
        return public_view(rec)

    def stop(self, ref: str) -> dict[str, Any]:
        sid = self.record(ref)["id"]
        with flocked(self.paths.op_lock(sid)):
            rec = self._fresh(sid)
            if rec["status"] == STATUS_STOPPED and not rec.get("procs"):
                return public_view(rec)
            self._kill(rec)
            rec = self.store.update(lambda state: self._mark_stopped(state, sid, STATUS_STOPPED))
        log.info("stopped sandbox %s (%s)", rec["name"], sid)
        return public_view(rec)

    def delete(self, ref: str) -> dict[str, Any]:
        sid = self.record(ref)["id"]
        lock = self.paths.op_lock(sid)
        with flocked(lock):
            rec = self._fresh(sid)
            self._kill(rec)
            self.store.update(lambda state: state["sandboxes"].pop(sid, None))
            self._remove_files(sid)
            lock.unlink(missing_ok=True)
        log.info("deleted sandbox %s (%s)", rec["name"], sid)
        return {"id": sid}

    # -- other per-sandbox requests ----------------------------------------------

    def logs(self, ref: str, tail: int | None) -> dict[str, Any]:
        rec = self.record(ref)
        path = self.paths.log_file(rec["id"])
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                start = max(0, size - MAX_LOG_READ)
                f.seek(start)
                data = f.read()
        except FileNotFoundError:
            data, start = b"", 0
        truncated = start > 0
        if tail is not None:
            # By newline only: a bare \r (a progress bar redrawing) is not a line.
            lines = data.split(b"\n")
            lines = [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
            if len(lines) > tail:
                truncated = True
                data = b"".join(lines[len(lines) - tail :]) if tail else b""
        return {"text": data.decode("utf-8", "replace"), "truncated": truncated}

    def send_keys(self, ref: str, keys: list[str]) -> dict[str, Any]:
        rec = self._live(ref, "send keys to")
        tmux.send_keys(Path(rec["tmux_socket"]), rec["pane_id"], keys)
        return {}

    def pane(self, ref: str, escapes: bool) -> dict[str, Any]:
        rec = self._live(ref, "read the screen of", allow_exited=True)
        return tmux.capture(Path(rec["tmux_socket"]), rec["pane_id"], escapes)

    def attach_command(self, ref: str) -> dict[str, Any]:
        rec = self._live(ref, "attach to", allow_exited=True)
        return {"argv": tmux.attach_argv(Path(rec["tmux_socket"]), rec["tmux_session"])}

    # -- reconcile ---------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring records in line with the processes that actually exist."""
        state = self.store.read()
        for sid, pending in list(state["pending"].items()):
            owner = ProcRef.from_obj(pending.get("owner"))
            if owner is None or not owner.alive():
                self._reap_pending(sid)
        for sid, rec in list(state["sandboxes"].items()):
            if self._observe(rec) is not None:
                self._settle(sid)
        if not self._swept:  # leftovers of a killed hostd: once per hostd is enough
            self._sweep_temp_files()
            self._swept = True

    def _observe(self, rec: Record) -> dict[str, Any] | None:
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
                return {"status": STATUS_EXITED, "exit_code": state.status}
            return None
        if status in (STATUS_STOPPED, STATUS_DEAD) and any(
            p is not None and p.alive() for p in procs.values()
        ):
            return {"status": status}  # leftovers to stop
        tmux_ref = procs.get("tmux")
        if status == STATUS_EXITED and tmux_ref is not None and not tmux_ref.alive():
            # Its tmux went after the agent ended: the kept pane is gone, so
            # stop what is left (its display) and say the pane is gone.
            return {"status": STATUS_EXITED}
        return None

    def _settle(self, sid: str) -> None:
        with flocked(self.paths.op_lock(sid), blocking=False) as got:
            if not got:
                return  # an operation is under way; it will leave things right
            rec = self.store.read()["sandboxes"].get(sid)
            if rec is None:
                return
            change = self._observe(rec)
            if change is None:
                return
            if change["status"] == STATUS_EXITED and rec["status"] == STATUS_RUNNING:
                self.store.update(lambda state: _apply(state, sid, change))
                log.info("sandbox %s exited with status %s", rec["name"], change.get("exit_code"))
                return
            self._kill(rec)
            self.store.update(lambda state: self._mark_stopped(state, sid, change["status"]))
            if rec["status"] == STATUS_RUNNING:
                log.warning("sandbox %s (%s) is dead: its tmux session vanished", rec["name"], sid)

    # -- internals ---------------------------------------------------------------

    def _available(self, backend: str) -> Backend:
        be = probe(backend)
        if not be.available:
            raise BackendUnavailable(
                f"backend {backend!r} is not available on this host: {be.detail}",
                {"backend": backend},
            )
        return be

    def _reserve(self, rec: Record) -> Record | None:
        """Reserve the name (and token); returns an existing record for a retried token."""
        token = rec["client_token"]
        deadline = time.monotonic() + TOKEN_WAIT_S

        def reserve(state: State) -> tuple[str, Record | None]:
            live_pending = {
                sid: p for sid, p in state["pending"].items()
                if (o := ProcRef.from_obj(p.get("owner"))) is not None and o.alive()
            }  # fmt: skip
            if token is not None:
                for r in state["sandboxes"].values():
                    if r.get("client_token") == token:
                        return "done", r
                if any(p.get("client_token") == token for p in live_pending.values()):
                    return "wait", None
            names = [r["name"] for r in state["sandboxes"].values()]
            names += [p["name"] for p in live_pending.values()]
            if rec["name"] in names:
                raise InvalidParams(
                    f"a sandbox named {rec['name']!r} already exists on this host", "name"
                )
            state["pending"][rec["id"]] = {
                "name": rec["name"], "client_token": token, "owner": self.owner.to_obj(),
                "procs": {}, "at": now_iso(),
            }  # fmt: skip
            return "reserved", None

        while True:
            outcome, existing = self.store.update(reserve)
            if outcome == "done":
                return existing
            if outcome == "reserved":
                return None
            if time.monotonic() > deadline:
                raise InvalidState(
                    "a create with this client_token is still in progress", {"client_token": token}
                )
            time.sleep(0.1)

    def _bring_up(
        self,
        rec: Record,
        be: Backend,
        agent_argv: list[str],
        note: Callable[[dict[str, Any]], None],
    ) -> dict[str, Any]:
        """Start display and tmux for ``rec``; undo what started if a step fails.

        ``note`` persists process identities as they start, so that a hostd
        killed half-way leaves a record from which they can be found.
        """
        sid = rec["id"]
        rundir = self.paths.runtime_dir(sid)
        procs: dict[str, Any] = {}
        env = {SANDBOX_ID_VAR: sid, SANDBOX_NAME_VAR: rec["name"]}
        disp: display.Display | None = None
        try:
            tmux.require_tmux()
            if be.uses_xvfb:
                w, h = (int(v) for v in rec["geometry"].split("x"))
                disp = display.start(rundir, (w, h))
                procs["xvfb"] = disp.process.to_obj()
                note(procs)
                env["DISPLAY"] = disp.name
                env["XAUTHORITY"] = str(disp.xauthority)
            argv = launcher_argv(
                be, rec["project_dir"], agent_argv, rec["network"], rec["qmp_socket"]
            )
            session = tmux.start(
                rundir, rec["tmux_session"], argv, env, rec["project_dir"], self.paths.log_file(sid)
            )
            procs["tmux"] = session.server.to_obj()
            procs["pane"] = session.pane.to_obj()
            note(procs)
        except BaseException:
            refs = [ProcRef.from_obj(v) for v in procs.values()]
            terminate(tree(refs))
            raise
        return {
            "display": disp.name if disp else None,
            "procs": procs,
            "pane_id": session.pane_id,
        }

    def _note_pending(self, sid: str, procs: dict[str, Any]) -> None:
        def note(state: State) -> None:
            if sid in state["pending"]:
                state["pending"][sid]["procs"] = dict(procs)

        self.store.update(note)

    def _note_record(self, sid: str, procs: dict[str, Any]) -> None:
        def note(state: State) -> None:
            if sid in state["sandboxes"]:
                state["sandboxes"][sid]["procs"] = dict(procs)

        self.store.update(note)

    def _undo_create(self, sid: str, *, search: bool = False) -> None:
        """Stop what a create started, remove its files and its reservation.

        With ``search``, also look for processes that mention the runtime
        folder: a hostd killed between starting Xvfb and recording it left
        one that nothing else names.
        """
        pending = self.store.read()["pending"].get(sid) or {}
        rundir = self.paths.runtime_dir(sid)
        self._kill(
            {"procs": pending.get("procs") or {}, "tmux_socket": str(rundir / "tmux.sock")}, sid
        )
        if search:
            terminate(mentioning(str(rundir)))
        self._remove_files(sid)
        self.store.update(lambda state: state["pending"].pop(sid, None))

    def _reap_pending(self, sid: str) -> None:
        with flocked(self.paths.op_lock(sid), blocking=False) as got:
            if not got:
                return
            pending = self.store.read()["pending"].get(sid)
            if pending is None:
                return
            log.warning("cleaning up after an interrupted create of %r", pending.get("name"))
            self._undo_create(sid, search=True)
            self.paths.op_lock(sid).unlink(missing_ok=True)

    def _kill(self, rec: Record, sid: str | None = None) -> None:
        """Stop every process the record names, the pane's descendants included,
        and any other that carries the sandbox's id in its environment."""
        sid = sid or rec.get("id")
        procs = {k: ProcRef.from_obj(v) for k, v in (rec.get("procs") or {}).items()}
        socket = Path(rec["tmux_socket"]) if rec.get("tmux_socket") else None
        # The server itself names its processes, even ones a hostd killed
        # mid-start never got to record.
        found = [ProcRef.of_live(pid) for pid in tmux.server_pids(socket)] if socket else []
        victims = tree([procs.get("pane"), procs.get("tmux"), *found])
        if socket is not None and found:
            # kill-server hangs up on the panes, as closing a terminal would.
            tmux.kill_server(socket)
        terminate(victims + tree([procs.get("xvfb")]))
        if socket is not None:
            socket.unlink(missing_ok=True)
        if sid is not None:
            # What escaped the tree still carries the sandbox's id. Again while
            # any remain: one may have forked between the scan and the signal.
            for _ in range(3):
                left = tagged(SANDBOX_ID_VAR, sid)
                if not left:
                    break
                log.info("ending %d process(es) of %s that left the pane's tree", len(left), sid)
                terminate(left, timeout=1.0)

    def _mark_stopped(self, state: State, sid: str, status: str) -> Record:
        r: Record = state["sandboxes"][sid]
        r.update(status=status, display=None, procs={}, pane_id=None)
        if r.get("stopped_at") is None or status == STATUS_STOPPED:
            r["stopped_at"] = now_iso()
        return r

    def _fresh(self, sid: str) -> Record:
        rec: Record | None = self.store.read()["sandboxes"].get(sid)
        if rec is None:
            raise NoSuchSandbox(f"sandbox {sid} was deleted", {"id": sid})
        return rec

    def _live(self, ref: str, what: str, *, allow_exited: bool = False) -> Record:
        rec = self.record(ref)
        ok = (STATUS_RUNNING, STATUS_EXITED) if allow_exited else (STATUS_RUNNING,)
        if rec["status"] not in ok or not rec.get("pane_id"):
            raise InvalidState(
                f"cannot {what} sandbox {rec['name']!r}: it is {rec['status']}",
                {"status": rec["status"]},
            )
        return rec

    def _remove_files(self, sid: str) -> None:
        self.paths.log_file(sid).unlink(missing_ok=True)
        shutil.rmtree(self.paths.runtime_dir(sid), ignore_errors=True)

    def _sweep_temp_files(self) -> None:
        """Remove the state temp files a killed hostd left."""
        prefix = ".state.json.tmp-"
        for tmp in self.paths.root.glob(prefix + "*"):
            pid = tmp.name[len(prefix) :].split("-")[0].split(".")[0]
            if pid.isdigit() and not _pid_exists(int(pid)):
                with contextlib.suppress(OSError):
                    tmp.unlink()


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

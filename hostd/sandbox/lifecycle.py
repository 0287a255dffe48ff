"""Sandbox lifecycle: create, start, stop and delete, and the reads of a sandbox.

Everything here blocks (it starts processes and waits for them) and runs in
an executor thread, never on the event loop. The process work itself is in
:mod:`.steps`; setting records right after a crash is :mod:`.reconcile`.

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

Create and start wait a moment (spec.SETTLE_S, or HOSTD_SETTLE_S from the
environment: :func:`exits.settle_seconds`) for an agent that ends at once, and
answer with the record ``exited`` (its code and last lines) then.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from treesync.files import flocked

from ..protocol.errors import InvalidParams, InvalidState, NoSuchSandbox, ProcessFailed
from ..protocol.methods import STATUS_EXITED, STATUS_RUNNING, STATUS_STOPPED
from ..protocol.names import check_name
from ..protocol.spec import (
    DEFAULT_AGENT,
    DEFAULT_GEOMETRY,
    DEFAULT_NETWORK,
    DEFAULT_SSH_AGENT,
)
from . import claude_folder, display, exits, steps, tmux
from .backends import BACKENDS
from .paths import StatePaths, create_private_file, make_private_dir
from .procs import ProcRef
from .reconcile import Reconciler, observe
from .records import (
    Record,
    check_project_dir,
    check_project_place,
    newest_first,
    now_iso,
    public_view,
    resolve,
    split_agent,
)
from .state import State, StateStore
from .steps import SANDBOX_ID_VAR, SANDBOX_NAME_VAR

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
        self._reconciler = Reconciler(paths, self.store)
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
        ssh_agent: bool = DEFAULT_SSH_AGENT,
    ) -> dict[str, Any]:
        check_name(name)
        if backend not in BACKENDS:
            raise InvalidParams(
                f"unknown backend {backend!r}; one of: {', '.join(BACKENDS)}", "backend"
            )
        project = check_project_dir(project_dir)
        check_project_place(project, str(Path.home()), str(self.paths.root))
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
        be = steps.available(backend)
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
            "claude_config": str(self.paths.claude_config(sid)),
            "network": network, "ssh_agent": ssh_agent, "agent": agent,
            "geometry": f"{size[0]}x{size[1]}",
            "created_at": created, "started_at": None, "stopped_at": None,
            "client_token": client_token, "procs": {}, "pane_id": None, "last_lines": None,
        }  # fmt: skip
        existing = self._reserve(rec)
        if existing is not None:
            return public_view(existing)

        with flocked(self.paths.op_lock(sid)):
            try:
                make_private_dir(rundir)
                claude_folder.make(self.paths.claude_config(sid))
                create_private_file(self.paths.log_file(sid), exclusive=True)
                up = steps.bring_up(
                    self.paths,
                    rec,
                    be,
                    agent_argv,
                    lambda procs: steps.note_pending(self.store, sid, procs),
                )
                rec.update(up, status=STATUS_RUNNING, started_at=now_iso())
                rec.update(_settle(rec))
            except BaseException:
                steps.undo_create(self.paths, self.store, sid)
                raise

            def commit(state: State) -> None:
                state["pending"].pop(sid, None)
                state["sandboxes"][sid] = rec

            self.store.update(commit)
        log.info("created sandbox %s (%s) backend=%s: %s, exit code %s",
                 name, sid, backend, rec["status"], rec["exit_code"])  # fmt: skip
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
            steps.kill(rec)
            be = steps.available(rec["backend"])
            agent_argv = split_agent(rec["agent"])
            make_private_dir(self.paths.runtime_dir(sid))
            if rec.get("claude_config") is None:
                rec = self._give_claude_folder(sid)
            try:
                up = steps.bring_up(
                    self.paths,
                    rec,
                    be,
                    agent_argv,
                    lambda procs: steps.note_record(self.store, sid, procs),
                )
                fresh: Record = {
                    **up, "status": STATUS_RUNNING, "exit_code": None, "last_lines": None,
                    "started_at": now_iso(), "stopped_at": None,
                }  # fmt: skip
            except BaseException:
                steps.kill(self._fresh(sid))
                steps.note_record(self.store, sid, {})
                raise

            def commit(change: dict[str, Any]) -> Callable[[State], Record]:
                def apply(state: State) -> Record:
                    r: Record = state["sandboxes"][sid]
                    r.update(change)
                    return r

                return apply

            # Running is on record before the settle: a hostd killed during
            # it leaves a running record, which reconcile then judges (an
            # exited one whose tmux lives would hide a live agent).
            rec = self.store.update(commit(fresh))
            try:
                change = _settle(rec)
            except BaseException:
                steps.kill(self._fresh(sid))
                self.store.update(lambda state: steps.mark_stopped(state, sid, STATUS_STOPPED))
                raise
            if change:
                rec = self.store.update(commit(change))
        log.info("started sandbox %s (%s): %s, exit code %s",
                 rec["name"], sid, rec["status"], rec["exit_code"])  # fmt: skip
        return public_view(rec)

    def stop(self, ref: str) -> dict[str, Any]:
        sid = self.record(ref)["id"]
        with flocked(self.paths.op_lock(sid)):
            rec = self._fresh(sid)
            if rec["status"] == STATUS_STOPPED and not rec.get("procs"):
                return public_view(rec)
            steps.kill(rec)
            rec = self.store.update(lambda state: steps.mark_stopped(state, sid, STATUS_STOPPED))
        log.info("stopped sandbox %s (%s)", rec["name"], sid)
        return public_view(rec)

    def delete(self, ref: str) -> dict[str, Any]:
        sid = self.record(ref)["id"]
        lock = self.paths.op_lock(sid)
        with flocked(lock):
            rec = self._fresh(sid)
            steps.kill(rec)
            self.store.update(lambda state: state["sandboxes"].pop(sid, None))
            steps.remove_files(self.paths, sid)
            lock.unlink(missing_ok=True)
        log.info("deleted sandbox %s (%s)", rec["name"], sid)
        return {"id": sid}

    # -- other per-sandbox requests ----------------------------------------------

    def logs(
        self, ref: str, tail: int | None, after: int | None = None, before: int | None = None
    ) -> dict[str, Any]:
        """The log's bytes in ``[after, before)`` (its whole length by default),
        the last 4 MiB of them, the last ``tail`` lines of those; ``start`` and
        ``end`` say where the text lies in the file, in bytes."""
        rec = self.record(ref)
        path = self.paths.log_file(rec["id"])
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                end = size if before is None else min(before, size)
                first = min(after or 0, end)
                start = max(first, end - MAX_LOG_READ)
                f.seek(start)
                data = f.read(end - start)
        except FileNotFoundError:
            data, start, first = b"", 0, 0
        end = start + len(data)
        truncated = start > first
        if truncated:
            # Cut by the 4 MiB bound: begin at a line's start, not inside a
            # line, an escape sequence or a character.
            cut = data.find(b"\n")
            if 0 <= cut < len(data) - 1:
                data = data[cut + 1 :]
                start = end - len(data)
        if tail is not None:
            # By newline only: a bare \r (a progress bar redrawing) is not a line.
            lines = data.split(b"\n")
            lines = [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
            if len(lines) > tail:
                truncated = True
                data = b"".join(lines[len(lines) - tail :]) if tail else b""
                start = end - len(data)
        return {
            "text": data.decode("utf-8", "replace"),
            "truncated": truncated,
            "start": start,
            "end": end,
        }

    def send_keys(self, ref: str, keys: list[str]) -> dict[str, Any]:
        rec = self._live(ref, "send keys to")
        tmux.send_keys(Path(rec["tmux_socket"]), rec["pane_id"], keys)
        return {}

    def pane(self, ref: str, escapes: bool) -> dict[str, Any]:
        rec = self._live(ref, "read the screen of", allow_exited=True)
        return tmux.capture(Path(rec["tmux_socket"]), rec["pane_id"], escapes)

    def attach_command(self, ref: str, features: list[str] | None = None) -> dict[str, Any]:
        rec = self._live(ref, "attach to", allow_exited=True)
        argv = tmux.attach_argv(Path(rec["tmux_socket"]), rec["tmux_session"], features)
        return {"argv": argv}

    def scroll(self, ref: str, lines: int) -> dict[str, Any]:
        rec = self._live(ref, "scroll", allow_exited=True)
        tmux.scroll(Path(rec["tmux_socket"]), rec["pane_id"], lines)
        return {}

    # -- reconcile ---------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring records in line with the processes that actually exist."""
        self._reconciler.run()

    # -- internals ---------------------------------------------------------------

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

    def _give_claude_folder(self, sid: str) -> Record:
        """A record made before sandboxes had a Claude config folder gets one
        at its next start: the launchers no longer show the person's own."""
        folder = self.paths.claude_config(sid)
        claude_folder.make(folder)

        def note(state: State) -> Record:
            r: Record = state["sandboxes"][sid]
            r["claude_config"] = str(folder)
            return r

        return self.store.update(note)

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


def _settle(rec: Record) -> dict[str, Any]:
    """Wait up to exits.settle_seconds() for the agent of ``rec``, just started, to
    end: the change that makes the record ``exited`` (code, last lines) if it
    did, else nothing (it runs; reconcile watches it from now on)."""
    if not exits.wait_for_end(ProcRef.from_obj(rec["procs"].get("pane")), exits.settle_seconds()):
        return {}
    change = observe(rec)
    return change if change is not None and change["status"] == STATUS_EXITED else {}

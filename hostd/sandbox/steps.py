"""The process work of a lifecycle operation: bring a sandbox up, undo a
create, and kill everything a record names.

Each step blocks (it starts processes or waits for them to end) and runs in
an executor thread. A step is given the state folder and store it works on;
the decisions (which step, under which lock) are :mod:`.lifecycle`'s and
:mod:`.reconcile`'s.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..claude import hooks
from ..protocol.errors import BackendUnavailable
from ..protocol.methods import STATUS_STOPPED
from . import claude_folder, display, environ, tmux
from .backends import Backend, launcher_argv, probe
from .paths import StatePaths, remove_tree
from .procs import ProcRef, mentioning, tagged, terminate, tree
from .records import Record, is_claude, now_iso
from .state import State, StateStore

# In the pane's environment, so every process of a sandbox carries it.
SANDBOX_ID_VAR = "CLAUDE_SANDBOX_ID"
SANDBOX_NAME_VAR = "CLAUDE_SANDBOX_NAME"

log = logging.getLogger(__name__)


def available(backend: str) -> Backend:
    """What serves ``backend`` here; BackendUnavailable if nothing can."""
    be = probe(backend)
    if not be.available:
        raise BackendUnavailable(
            f"backend {backend!r} is not available on this host: {be.detail}",
            {"backend": backend},
        )
    return be


def bring_up(
    paths: StatePaths,
    rec: Record,
    be: Backend,
    agent_argv: list[str],
    note: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Start display and tmux for ``rec``; undo what started if a step fails.

    ``note`` persists process identities as they start, so that a hostd
    killed half-way leaves a record from which they can be found. A Claude
    Code agent gets the hooks folder (:mod:`hostd.claude.hooks`), made
    before the launcher starts, and ``--settings`` naming its settings.
    """
    sid = rec["id"]
    rundir = paths.runtime_dir(sid)
    procs: dict[str, Any] = {}
    ssh_agent = bool(rec.get("ssh_agent"))
    # The allow-list, never hostd's whole environment (see .environ).
    server_env = environ.sandbox_env(os.environ, ssh_agent=ssh_agent)
    env = {SANDBOX_ID_VAR: sid, SANDBOX_NAME_VAR: rec["name"]}
    config: str | None = rec.get("claude_config")
    disp: display.Display | None = None
    hooks_dir: Path | None = None
    try:
        tmux.require_tmux()
        if config is not None and be.name == "none":
            # No launcher to seed it: hostd links the person's set-up in.
            claude_folder.seed_for_none(Path(config), os.environ, str(Path.home()))
            env["CLAUDE_CONFIG_DIR"] = config
        if be.uses_xvfb:
            w, h = (int(v) for v in rec["geometry"].split("x"))
            disp = display.start(rundir, (w, h))
            procs["xvfb"] = disp.process.to_obj()
            note(procs)
            env["DISPLAY"] = disp.name
            env["XAUTHORITY"] = str(disp.xauthority)
        if is_claude(rec["agent"]):
            # At its real path: every launcher binds it there (and `none`
            # uses it as it is), and settings.json names hook.sh by it.
            hooks_dir = hooks.folder(Path(os.path.realpath(rundir)))
            settings = hooks.make(hooks_dir, hooks.answer_timeout(os.environ))
            agent_argv = hooks.with_settings(agent_argv, settings)
        argv = launcher_argv(
            be, rec["project_dir"], agent_argv, rec["network"], rec["qmp_socket"],
            ssh_agent=ssh_agent, claude_config=config,
            hooks=str(hooks_dir) if hooks_dir is not None else None,
        )  # fmt: skip
        session = tmux.start(
            rundir, rec["tmux_session"], argv, env, rec["project_dir"], paths.log_file(sid),
            server_env,
        )  # fmt: skip
        procs["tmux"] = session.server.to_obj()
        procs["pane"] = session.pane.to_obj()
        note(procs)
    except BaseException:
        refs = [ProcRef.from_obj(v) for v in procs.values()]
        terminate(tree(refs))
        if hooks_dir is not None:
            hooks.remove(hooks_dir)
        raise
    return {
        "display": disp.name if disp else None,
        "procs": procs,
        "pane_id": session.pane_id,
    }


def note_pending(store: StateStore, sid: str, procs: dict[str, Any]) -> None:
    """Record a create's processes in its reservation."""

    def note(state: State) -> None:
        if sid in state["pending"]:
            state["pending"][sid]["procs"] = dict(procs)

    store.update(note)


def note_record(store: StateStore, sid: str, procs: dict[str, Any]) -> None:
    """Record a start's processes in the sandbox's record."""

    def note(state: State) -> None:
        if sid in state["sandboxes"]:
            state["sandboxes"][sid]["procs"] = dict(procs)

    store.update(note)


def undo_create(paths: StatePaths, store: StateStore, sid: str, *, search: bool = False) -> None:
    """Stop what a create started, remove its files and its reservation.

    With ``search``, also look for processes that mention the runtime
    folder: a hostd killed between starting Xvfb and recording it left
    one that nothing else names.
    """
    pending = store.read()["pending"].get(sid) or {}
    rundir = paths.runtime_dir(sid)
    kill({"procs": pending.get("procs") or {}, "tmux_socket": str(rundir / "tmux.sock")}, sid)
    if search:
        terminate(mentioning(str(rundir)))
    remove_files(paths, sid)
    store.update(lambda state: state["pending"].pop(sid, None))


def kill(rec: Record, sid: str | None = None) -> None:
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


def mark_stopped(state: State, sid: str, status: str) -> Record:
    """In ``state``: the sandbox has no processes any more, and is ``status``."""
    r: Record = state["sandboxes"][sid]
    r.update(status=status, display=None, procs={}, pane_id=None)
    if r.get("stopped_at") is None or status == STATUS_STOPPED:
        r["stopped_at"] = now_iso()
    return r


def remove_files(paths: StatePaths, sid: str) -> None:
    paths.log_file(sid).unlink(missing_ok=True)
    # The hooks folder in it holds what the agent wrote (its events/).
    remove_tree(paths.runtime_dir(sid))
    claude_folder.remove(paths.claude_config(sid))

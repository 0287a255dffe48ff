"""Sandbox records: what is stored, what clients see, and how ids resolve.

A record in state.json holds the public Sandbox object (:class:`wire.Sandbox`) plus
what hostd needs to manage it (process identities, pane id, client token).
Clients only ever see :func:`public_view`.
"""

from __future__ import annotations

import os
import shlex
import time
from typing import Any

from ..claude.files import iso_ms
from ..protocol.errors import AmbiguousId, InvalidParams, NoSuchSandbox
from ..protocol.wire import RECORD_FIELDS

MIN_PREFIX = 4

PUBLIC_FIELDS = RECORD_FIELDS

Record = dict[str, Any]


def now_iso() -> str:
    """UTC time with milliseconds, e.g. 2026-11-29T10:30:00.123Z (sorts as text)."""
    return iso_ms(time.time())


def public_view(rec: Record) -> dict[str, Any]:
    return {key: rec.get(key) for key in PUBLIC_FIELDS}


def newest_first(records: list[Record]) -> list[Record]:
    return sorted(
        records, key=lambda r: (r.get("created_at") or "", r.get("id") or ""), reverse=True
    )


def check_project_dir(path: str) -> str:
    """An absolute, existing directory; returned with symlinks resolved."""
    if not path:
        raise InvalidParams("project_dir is empty", "project_dir")
    if "\0" in path:
        raise InvalidParams("project_dir contains a NUL character", "project_dir")
    if not os.path.isabs(path):
        raise InvalidParams(f"project_dir must be an absolute path, not {path!r}", "project_dir")
    real = os.path.realpath(path)
    if not os.path.exists(real):
        raise InvalidParams(f"project_dir {path!r} does not exist on this host", "project_dir")
    if not os.path.isdir(real):
        raise InvalidParams(f"project_dir {path!r} is not a directory", "project_dir")
    return real


def check_project_place(project: str, home: str, state_dir: str) -> None:
    """Refuse a project directory from which the agent could reach outside.

    ``project`` is resolved; ``home`` and ``state_dir`` are resolved here.
    The project is writable inside every sandbox, so it must not be:
    the home or a folder holding it (all of the home would be writable); a
    dot folder of the home or anything in one (``~/.config``, ``~/.ssh``,
    ``~/.local``: what the person's programs read and run); nor hold, or lie
    in, hostd's state folder (its tmux sockets and records: ``tmux -S ...
    run-shell`` runs outside any sandbox).
    """
    home, state_dir = os.path.realpath(home), os.path.realpath(state_dir)

    def within(path: str, root: str) -> bool:
        return path == root or path.startswith(root.rstrip("/") + "/")

    reason = None
    if within(home, project):
        reason = "is your home or holds it: all of your home would be writable inside"
    elif within(project, home) and os.path.relpath(project, home).startswith("."):
        top = os.path.relpath(project, home).split("/")[0]
        reason = (
            f"is in ~/{top}, a hidden folder of your home that holds what your own "
            "programs read and run"
        )
    elif within(state_dir, project):
        reason = f"holds hostd's state folder {state_dir} (its records and tmux sockets)"
    elif within(project, state_dir):
        reason = f"is inside hostd's state folder {state_dir}"
    if reason is not None:
        raise InvalidParams(
            f"project_dir {project!r} {reason}; choose the project's own folder", "project_dir"
        )


def split_agent(agent: str) -> list[str]:
    try:
        argv = shlex.split(agent)
    except ValueError as exc:
        raise InvalidParams(f"agent is not a valid command line: {exc}", "agent") from None
    if not argv:
        raise InvalidParams("agent is empty", "agent")
    if any("\0" in a for a in argv):
        raise InvalidParams("agent contains a NUL character", "agent")
    return argv


def is_claude(agent: str) -> bool:
    """Whether the agent is Claude Code (its program's name starts with
    "claude"): its session files say more than its pane, and it gets hostd's
    hooks (:mod:`hostd.claude.hooks`)."""
    try:
        argv = shlex.split(agent)
    except ValueError:
        return False
    return bool(argv) and os.path.basename(argv[0]).startswith("claude")


def resolve(sandboxes: dict[str, Record], ref: str) -> Record:
    """Find a record by exact id, exact name, or unique id prefix (>= 4 chars)."""
    if ref in sandboxes:
        return sandboxes[ref]
    for rec in sandboxes.values():
        if rec.get("name") == ref:
            return rec
    if len(ref) < MIN_PREFIX:
        raise InvalidParams(
            f"id {ref!r} names no sandbox, and an id prefix needs at least {MIN_PREFIX} characters",
            "id",
        )
    matches = [rec for sid, rec in sandboxes.items() if sid.startswith(ref.lower())]
    if not matches:
        raise NoSuchSandbox(f"no sandbox with id or name {ref!r}", {"id": ref})
    if len(matches) > 1:
        names = ", ".join(sorted(f"{m['name']} ({m['id'][:8]})" for m in matches))
        raise AmbiguousId(
            f"id prefix {ref!r} matches {len(matches)} sandboxes: {names}",
            {"id": ref, "matches": sorted(m["id"] for m in matches)},
        )
    return matches[0]

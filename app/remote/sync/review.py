"""Incoming files that run or configure code on this machine wait for the
person's word: the config review of a round. No I/O.

What the agent writes in the project lands here, and some files are not
just data: opened here, they run code or say what may run.

- ``.claude/settings*.json`` (Claude Code's permissions, hooks, env) and
  anything under ``.claude/commands/`` (its slash commands);
- ``.mcp.json`` (the MCP servers Claude Code starts);
- ``.envrc`` (direnv runs it on ``cd``);
- ``.vscode/tasks.json`` (VS Code tasks, some run on opening the folder).

They are matched at any depth (Claude Code, direnv and VS Code read them in
whatever folder they are started in), whatever the case or Unicode spelling
(:func:`treesync.rules.spellings`: a Mac takes ``.Claude/Settings.JSON``
for ``.claude/settings.json``), and so is a symlink named ``.claude`` or
``.vscode`` (through it, a file of any name would be read as one of them).

:func:`hold_config` takes every change such a path would get on this
machine's side (a new file, a replacement, a deletion, a conflict copy) out
of a round's plan, with everything else the plan does to that path on either
side, and the record of it: the path is left as it was on both sides, and
the next round finds the same change again. What was held is returned, for
the person to see; a later round takes those the person accepted
(:attr:`Held.key`: the path with the host's version of it, so a version
changed since it was shown is asked about again).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from treesync.rules import spellings
from treesync.tree import Entry, Signature, signature

from .plan import SIDES, Plan

Key = tuple[str, Signature | None]
Change = Literal["new", "changed", "deleted"]
# What a person is told these are, in a sentence.
WHY = (
    "they configure or run code on this machine (Claude Code settings and commands, "
    "MCP servers, direnv, VS Code tasks)"
)


@dataclass(frozen=True)
class Held:
    """A change from the host to ``path`` that did not land here."""

    path: str
    change: Change  # what it would do here
    kind: str  # file, dir or link: the host's (for a deletion, this machine's)
    local: Signature | None  # this machine's version when it was held
    remote: Signature | None  # the host's version: the one accepting takes

    @property
    def key(self) -> Key:
        return (self.path, self.remote)

    def describe(self) -> str:
        what = {"new": "new", "changed": "changed", "deleted": "deleted on the host"}
        kind = "" if self.kind == "file" else f", a {'folder' if self.kind == 'dir' else 'link'}"
        return f"{self.path} ({what[self.change]}{kind})"

    def to_obj(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "type": self.kind}


def _is(part: str, name: str) -> bool:
    return any(s.rstrip(" .") == name for s in spellings(part))


def is_config(path: str) -> bool:
    """Whether ``path`` (relative, any depth) is one of the files above."""
    parts = path.split("/")
    last = parts[-1]
    if _is(last, ".mcp.json") or _is(last, ".envrc"):
        return True
    for i in range(len(parts) - 1):
        if _is(parts[i], ".claude"):
            if _is(parts[i + 1], "commands"):
                return True
            if i + 2 == len(parts) and any(
                s.startswith("settings") and s.rstrip(" .").endswith(".json")
                for s in spellings(last)
            ):
                return True
        if i + 2 == len(parts) and _is(parts[i], ".vscode") and _is(last, "tasks.json"):
            return True
    return False


def is_config_folder_link(path: str, entry: Entry | None) -> bool:
    """A link named ``.claude`` or ``.vscode``: what is read through it is
    what those folders hold."""
    if entry is None or entry["type"] != "link":
        return False
    last = path.rpartition("/")[2]
    return _is(last, ".claude") or _is(last, ".vscode")


def hold_config(
    plan: Plan,
    local: Mapping[str, Entry],
    remote: Mapping[str, Entry],
    accept: bool | Collection[Key] = False,
) -> list[Held]:
    """Take out of ``plan`` (in place) the incoming changes to config files
    that ``accept`` does not cover (True: all), and return them."""
    if accept is True:
        return []
    accepted = set() if accept is False else set(accept)
    # Each path this machine's side would see changed, and the name it would
    # change (itself, or its conflict copy).
    touched: dict[str, set[str]] = {}
    for c in plan.copies:
        if c.source == "remote":
            touched.setdefault(c.path, set()).add(c.dest)
    for e in plan.trash["local"]:
        touched.setdefault(e["path"], set()).add(e["path"])
    for r in plan.renames:
        if r.side == "local":
            touched.setdefault(r.entry["path"], set()).update((r.entry["path"], r.to))
    held: list[Held] = []
    for path, names in sorted(touched.items()):
        there = remote.get(path)
        risky = any(is_config(n) for n in {path, *names}) or is_config_folder_link(path, there)
        if not risky:
            continue
        here = local.get(path)
        change: Change = "deleted" if there is None else "new" if here is None else "changed"
        kind = str((there or here or {"type": "file"})["type"])
        item = Held(path, change, kind, signature(here), signature(there))
        if item.key not in accepted:
            held.append(item)
    _drop(plan, {h.path for h in held})
    return held


def _drop(plan: Plan, paths: set[str]) -> None:
    """Everything the plan does to ``paths``, on both sides, undone."""
    if not paths:
        return
    dropped = [r for r in plan.renames if r.entry["path"] in paths]
    plan.renames = [r for r in plan.renames if r not in dropped]
    plan.copies = [
        c
        for c in plan.copies
        if c.path not in paths and (c.after is None or c.after not in dropped)
    ]
    for side in SIDES:
        plan.trash[side] = [e for e in plan.trash[side] if e["path"] not in paths]
    plan.deletes = {(s, p) for s, p in plan.deletes if p not in paths}
    plan.conflicts = [c for c in plan.conflicts if c.path not in paths]
    for path in paths:
        plan.base.pop(path, None)

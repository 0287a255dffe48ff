"""Deciding what a sync round does: a three-way comparison, no I/O.

Inputs: both sides' listings now, and the *base*: for every path, each
side's signature when the last sync accounted for it (:class:`Base`). A side
*changed* a path when its signature differs from its base signature.

- Changed on one side only: that side's version (or its deletion) is
  carried to the other, if the direction is allowed (push: local to remote;
  pull: remote to local; both).
- Changed on both, to the same thing (same content by hash, same link
  target, both folders, both gone): nothing moves, the base is updated.
- Changed on both, differently: a conflict, and both versions survive. In
  one direction the incoming version is written beside the other as
  ``NAME.conflict-<side>-<time>``. Both ways, the newer version keeps the
  name on both sides and the older one becomes ``NAME.conflict-<its
  side>-<time>`` on both (as Syncthing does).
- Deleted on one side, changed on the other: the changed file is kept (and,
  where the direction allows, copied back); the deletion is not carried.
- A path ignored by either side's ``.gitignore`` (or under ``.git``) is not
  looked at, so it is neither sent, nor deleted, nor overwritten.
- A side left with no file at all (only folders, or what is ignored) after
  a sync that had files on both sides was most likely emptied by accident
  (``rm -rf``, a sandbox made again at the same path, a disk not mounted):
  carrying that over would delete every file on the other side. The plan
  notes it (:attr:`Plan.emptied`) and the round refuses, unless told to go
  ahead. A one-way round *into* a side with no file ignores the base, as a
  first sync would, so a push or pull fills the emptied side again.

Files of the receiving side that a round replaces or deletes are those
found unchanged; the round moves them to the trash first, and only if they
are still what the listing saw (see :mod:`app.remote.sync.syncer`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from treesync.rules import merged
from treesync.tree import Entry, Signature, signature

Side = Literal["local", "remote"]
Mode = Literal["push", "pull", "both"]
SIDES: tuple[Side, Side] = ("local", "remote")


def other(side: Side) -> Side:
    return "remote" if side == "local" else "local"


@dataclass(frozen=True)
class Base:
    """What the last sync accounted for, per side (None: absent there)."""

    local: Signature | None
    remote: Signature | None
    hash: str | None = None

    def of(self, side: Side) -> Signature | None:
        return self.local if side == "local" else self.remote

    def with_side(self, side: Side, sig: Signature | None) -> Base:
        if side == "local":
            return Base(sig, self.remote, self.hash)
        return Base(self.local, sig, self.hash)


@dataclass(frozen=True)
class Conflict:
    """Both sides changed ``path``; what was done so that both survive."""

    path: str
    kind: Literal["both-changed", "deleted-vs-changed", "type"]
    kept: Side | None  # whose version keeps the name (None: each side its own)
    copy: str | None = None  # NAME.conflict-<side>-<time>, where one was made
    copy_side: Side | None = None  # whose version the copy holds
    detail: str = ""

    def to_obj(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "kept": self.kept,
            "copy": self.copy,
            "copy_of": self.copy_side,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Rename:
    """On ``side``, move ``entry`` aside to ``to`` (a conflict copy)."""

    side: Side
    entry: Entry
    to: str


@dataclass(frozen=True)
class Copy:
    """Send ``entry`` (the source side's, as listed) to the other side as ``dest``."""

    source: Side
    entry: Entry
    dest: str
    # A conflict copy made by a rename this round: skipped if the rename was.
    after: Rename | None = None
    # A one-way conflict copy: the conflicted path's base once it has arrived
    # (not before: a copy that fails leaves the conflict to be seen again).
    settles: Base | None = None

    @property
    def path(self) -> str:
        return str(self.entry["path"])


@dataclass(frozen=True)
class Emptied:
    """``side`` has no file left, and the plan would delete ``deletes`` files
    (or links) on the other side that both sides had at the last sync."""

    side: Side
    deletes: int


@dataclass
class Plan:
    renames: list[Rename] = field(default_factory=list)
    # Per side: entries to move to the trash, as listed (deletions and files
    # about to be replaced), each with whether it is a deletion.
    trash: dict[Side, list[Entry]] = field(default_factory=lambda: {"local": [], "remote": []})
    deletes: set[tuple[Side, str]] = field(default_factory=set)
    copies: list[Copy] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # Base entries decided without any transfer (None: forget the path).
    base: dict[str, Base | None] = field(default_factory=dict)
    # Paths changed on both sides whose contents must be compared (hashes)
    # before the plan can be made.
    need_hash: list[str] = field(default_factory=list)
    # Set when the plan carries the deletions of a side with no file left.
    emptied: Emptied | None = None
    # The last sync's record is set aside (a one-way round into a side with no
    # file): forgotten, and saved so before anything moves.
    reset: bool = False

    @property
    def empty(self) -> bool:
        return not (self.renames or self.copies or self.trash["local"] or self.trash["remote"])


def conflict_name(path: str, side: Side, stamp: str, taken: set[str]) -> str:
    name = f"{path}.conflict-{side}-{stamp}"
    n = 2
    while name in taken:
        name = f"{path}.conflict-{side}-{stamp}-{n}"
        n += 1
    taken.add(name)
    return name


def make_plan(
    base: Mapping[str, Base],
    local: Mapping[str, Entry],
    remote: Mapping[str, Entry],
    ignore_files: tuple[Mapping[str, str], Mapping[str, str]],
    mode: Mode,
    hashes: Mapping[Side, Mapping[str, str | None]] | None = None,
    stamp: str | None = None,
) -> Plan:
    """The round's plan. When files changed on both sides need comparing and
    ``hashes`` lacks them, the plan only lists them in ``need_hash``."""
    plan = Plan()
    rules = merged(ignore_files)
    listed: dict[Side, Mapping[str, Entry]] = {"local": local, "remote": remote}
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    taken = set(local) | set(remote)
    allowed: dict[Side, bool] = {
        "local": mode in ("push", "both"),
        "remote": mode in ("pull", "both"),
    }
    # Paths under a folder whose two sides cannot be reconciled this round.
    blocked: list[str] = []
    has_files = {s: _has_files(rules, listed[s]) for s in SIDES}
    for dest in SIDES:
        if allowed[other(dest)] and not allowed[dest] and not has_files[dest] and base:
            # One way into a side with no file: fill it, as a first sync
            # would, rather than take its emptiness for deletions to respect.
            # The whole record is forgotten: if the fill is cut short, the
            # next round must not take what has not arrived yet for
            # deletions to carry back (see Plan.reset).
            plan.base.update({p: None for p in base})
            plan.reset = True
            base = {}

    paths = sorted(set(local) | set(remote) | set(base))
    if hashes is None:
        for path in paths:
            lo, re_ = local.get(path), remote.get(path)
            b = base.get(path)
            if (
                lo is not None
                and re_ is not None
                and lo["type"] == re_["type"] == "file"
                and signature(lo) != (b.local if b else None)
                and signature(re_) != (b.remote if b else None)
                and not _excluded(rules, path, lo)
            ):
                plan.need_hash.append(path)
        if plan.need_hash:
            return plan
    hashes = hashes or {"local": {}, "remote": {}}

    for path in paths:
        if any(path.startswith(p + "/") for p in blocked):
            continue
        lo, re_ = local.get(path), remote.get(path)
        present = lo or re_
        if present is not None and _excluded(rules, path, present):
            continue
        b = base.get(path) or Base(None, None)
        now: dict[Side, Signature | None] = {"local": signature(lo), "remote": signature(re_)}
        changed = {s: now[s] != b.of(s) for s in SIDES}
        if not changed["local"] and not changed["remote"]:
            if lo is None and re_ is None and path in base:
                plan.base[path] = None
            continue
        if changed["local"] != changed["remote"]:
            source: Side = "local" if changed["local"] else "remote"
            if allowed[source]:
                _carry(plan, source, path, listed, b)
            continue
        # Changed on both sides.
        if lo is None and re_ is None:
            plan.base[path] = None
            continue
        if lo is None or re_ is None:
            keeper: Side = "local" if lo is not None else "remote"
            plan.conflicts.append(
                Conflict(
                    path,
                    "deleted-vs-changed",
                    keeper,
                    detail=f"deleted on {other(keeper)}, changed on {keeper}: kept",
                )
            )
            # The deletion is accounted for (and not carried); the change is
            # carried back where the direction allows.
            plan.base[path] = b.with_side(other(keeper), None)
            if allowed[keeper]:
                _carry(plan, keeper, path, listed, plan.base[path] or b)
            continue
        same = _same(path, lo, re_, hashes)
        if same:
            plan.base[path] = Base(now["local"], now["remote"], hashes["local"].get(path))
            continue
        if lo["type"] != re_["type"] and "dir" in (lo["type"], re_["type"]):
            plan.conflicts.append(
                Conflict(
                    path,
                    "type",
                    None,
                    detail=f"a {lo['type']} here, a {re_['type']} there: left as they are",
                )
            )
            blocked.append(path)
            continue
        _conflict(plan, path, lo, re_, b, mode, stamp, taken, now)
    for side in SIDES:
        dest = other(side)
        if not has_files[side]:
            doomed = [e for e in plan.trash[dest] if (dest, e["path"]) in plan.deletes]
            files = sum(e["type"] != "dir" for e in doomed)
            if files:
                plan.emptied = Emptied(side, files)
    return plan


def _has_files(rules: Any, entries: Mapping[str, Entry]) -> bool:
    """Whether ``entries`` hold a file or link that the rules keep."""
    return any(e["type"] != "dir" and not _excluded(rules, p, e) for p, e in entries.items())


def _excluded(rules: Any, path: str, entry: Entry) -> bool:
    return bool(rules.excluded(path, entry["type"] == "dir"))


def _same(
    path: str, lo: Entry, re_: Entry, hashes: Mapping[Side, Mapping[str, str | None]]
) -> bool:
    if lo["type"] != re_["type"]:
        return False
    if lo["type"] == "file":
        h = hashes["local"].get(path)
        return h is not None and h == hashes["remote"].get(path)
    return signature(lo) == signature(re_)


def _carry(
    plan: Plan, source: Side, path: str, listed: Mapping[Side, Mapping[str, Entry]], b: Base
) -> None:
    dest = other(source)
    src = listed[source].get(path)
    there = listed[dest].get(path)
    if src is None:
        if there is not None:
            plan.trash[dest].append(there)
            plan.deletes.add((dest, path))
        else:
            plan.base[path] = None
        return
    if there is not None:
        if src["type"] == there["type"] == "dir":
            plan.base[path] = b.with_side(source, signature(src)).with_side(dest, signature(there))
            return
        plan.trash[dest].append(there)  # replaced: kept in the trash
    plan.copies.append(Copy(source, src, path))


def _conflict(
    plan: Plan,
    path: str,
    lo: Entry,
    re_: Entry,
    b: Base,
    mode: Mode,
    stamp: str,
    taken: set[str],
    now: Mapping[Side, Signature | None],
) -> None:
    if mode != "both":
        incoming: Side = "local" if mode == "push" else "remote"
        name = conflict_name(path, incoming, stamp, taken)
        entry = lo if incoming == "local" else re_
        # Once the copy arrives, the incoming version is delivered (as the
        # copy); the receiving side's change is not, until a transfer the
        # other way.
        settles = b.with_side(incoming, now[incoming])
        plan.copies.append(Copy(incoming, entry, name, settles=settles))
        plan.conflicts.append(Conflict(path, "both-changed", other(incoming), name, incoming))
        return
    # Both ways: the newer keeps the name everywhere, the older becomes the copy.
    newer: Side = "local" if lo["mtime_ns"] > re_["mtime_ns"] else "remote"
    older = other(newer)
    name = conflict_name(path, older, stamp, taken)
    loser = lo if older == "local" else re_
    winner = re_ if older == "local" else lo
    rename = Rename(older, loser, name)
    plan.renames.append(rename)
    plan.copies.append(Copy(newer, winner, path, rename))
    plan.copies.append(Copy(older, {**loser, "path": name}, name, rename))
    plan.conflicts.append(Conflict(path, "both-changed", newer, name, older))

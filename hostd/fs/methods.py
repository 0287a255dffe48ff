"""The ``fs.*`` methods: what a sync asks of the server's side of a folder.

Thin checks around :mod:`treesync.tree` and :mod:`treesync.moves` (which the client also
runs on its own side): params are checked and paths refused before anything
is touched. Files moved aside go to hostd's state folder,
``sync-trash/<pair>/<stamp>/<path>``, kept for :data:`TRASH_KEEP_S`.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from treesync import moves, tree

from ..protocol.errors import InvalidParams, ProcessFailed
from ..sandbox.paths import make_private_dir

# A week: long enough to notice on Monday what a Friday sync replaced.
TRASH_KEEP_S = 7 * 24 * 3600.0
TRASH_DIR = "sync-trash"

_PAIR_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_STAMP_RE = re.compile(r"\d{8}T\d{6}[A-Za-z0-9._-]{0,40}")
# A listing must fit one reply line (32 MiB) with room: ~95 bytes an entry.
MAX_LIST_ENTRIES = 250_000
_TYPES = ("file", "dir", "link")


def root_of(root: str) -> str:
    try:
        return tree.check_root(root)
    except tree.PathRefused as exc:
        raise InvalidParams(str(exc), "root") from exc


def paths_of(paths: list[str], field: str = "paths") -> list[str]:
    try:
        return [tree.check_rel(p) for p in paths]
    except tree.PathRefused as exc:
        raise InvalidParams(str(exc), field) from exc


def items_of(items: list[dict[str, Any]], need_to: bool = False) -> list[dict[str, Any]]:
    """Checked entries (``path``, ``type``, and ``size``/``mtime_ns`` for a
    file, ``target`` for a link; ``to`` for a rename)."""
    out = []
    for i, item in enumerate(items):
        where = f"items[{i}]"
        kind = item.get("type")
        if kind not in _TYPES:
            raise InvalidParams(f"{where}.type must be one of {', '.join(_TYPES)}", "items")
        if kind == "file" and not all(
            isinstance(item.get(k), int) and not isinstance(item.get(k), bool)
            for k in ("size", "mtime_ns")
        ):
            raise InvalidParams(f"{where}: a file needs integer size and mtime_ns", "items")
        if kind == "link" and not isinstance(item.get("target"), str):
            raise InvalidParams(f"{where}: a link needs its target", "items")
        keys = ["path", "to"] if need_to else ["path"]
        for key in keys:
            try:
                tree.check_rel(item.get(key))
            except tree.PathRefused as exc:
                raise InvalidParams(f"{where}.{key}: {exc}", "items") from exc
        out.append(item)
    return out


def fs_list(root: str, paths: list[str] | None) -> dict[str, Any]:
    real = root_of(root)
    if paths is not None:
        entries = tree.stat_paths(real, paths_of(paths))
        return {"root": real, "entries": entries, "ignore_files": {}}
    try:
        entries, ignore_files = tree.list_tree(real, MAX_LIST_ENTRIES)
    except OverflowError as exc:
        raise InvalidParams(str(exc), "root") from exc
    except OSError as exc:
        raise ProcessFailed(str(exc.strerror or exc), {"root": real}) from exc
    return {"root": real, "entries": entries, "ignore_files": ignore_files}


def fs_hash(root: str, paths: list[str]) -> dict[str, Any]:
    real = root_of(root)
    return {"hashes": tree.hash_paths(real, paths_of(paths))}


def fs_trash(
    state_root: Path, root: str, pair: str, stamp: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    real = root_of(root)
    # fullmatch, and not '.' or '..': the pair names a folder inside sync-trash/.
    if not _PAIR_RE.fullmatch(pair) or pair in (".", ".."):
        raise InvalidParams("pair must be 1-64 letters, digits, '.', '_' or '-'", "pair")
    if not _STAMP_RE.fullmatch(stamp):
        raise InvalidParams("stamp must look like 20261129T103000 (UTC)", "stamp")
    checked = items_of(items)
    pair_dir = state_root / TRASH_DIR / pair
    moves.prune_trash(str(pair_dir), TRASH_KEEP_S, time.time())
    trash_dir = pair_dir / stamp
    if checked:
        for folder in (state_root / TRASH_DIR, pair_dir, trash_dir):
            make_private_dir(folder)
    moved, changed = moves.trash(real, str(trash_dir), checked)
    return {"trash_dir": str(trash_dir), "moved": moved, "changed": changed}


def fs_rename(root: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    real = root_of(root)
    renamed, changed = moves.rename(real, items_of(items, need_to=True))
    return {"renamed": renamed, "changed": changed}


def fs_mkdir(root: str) -> dict[str, Any]:
    """Make ``root`` (and its parents) if missing: a push to a new project."""
    if not isinstance(root, str) or not root.startswith("/") or "\0" in root:
        raise InvalidParams(f"root must be an absolute path, not {root!r}", "root")
    real = os.path.realpath(root)
    if os.path.isdir(real):
        return {"root": real, "created": False}
    try:
        os.makedirs(real)
    except OSError as exc:
        raise InvalidParams(f"cannot make {root}: {exc.strerror}", "root") from exc
    return {"root": real, "created": True}

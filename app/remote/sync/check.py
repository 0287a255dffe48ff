"""The server's answers to ``fs.list`` and ``fs.hash``, checked before a round
uses them.

The host is where the agent runs: what hostd there reports is taken as
*claims* about its folder, not as safe paths. A correct hostd (built from
:mod:`treesync`, as this client's own side is) never sends what these
checks refuse; one that does was changed, or is not hostd, and the round
stops before anything moves. What is held to:

- every path passes :func:`treesync.tree.check_rel` (relative, no empty,
  ``.`` or ``..`` part, no NUL), and appears once;
- its type is ``file``, ``dir`` or ``link``; its ``size`` and ``mtime_ns``
  are integers (a size not negative); a link has a string target;
- in a whole listing, each path's parent is in the same listing as a folder
  (a ``a/b`` under a link ``a``, a file ``a``, or no ``a`` at all is refused:
  carried over, it would be written through whatever ``a`` is here);
- an answer for some paths (a stat) names only the paths asked about.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from treesync.tree import Entry, PathRefused, check_rel

from .state import SyncError

TYPES = ("file", "dir", "link")


class BadListing(SyncError):
    """hostd's answer breaks the rules of :mod:`treesync.tree` listings."""

    def __init__(self, where: str, path: object, reason: str) -> None:
        super().__init__(
            f"{where} sent a listing this client refuses: {path!r}: {reason}. "
            "Nothing was changed. (A hostd of this project never sends one: is the host's "
            "hostd the same claude-sandbox version, and unmodified?)",
            retryable=False,
        )
        self.path = path


def listing(answer: Any, where: str) -> tuple[dict[str, Entry], dict[str, str]]:
    """A whole ``fs.list`` answer: its entries by path and its ``.gitignore`` texts."""
    if not isinstance(answer, dict):
        raise BadListing(where, None, "the answer is not an object")
    entries = _entries(answer.get("entries"), where)
    for path in entries:
        parent = path.rpartition("/")[0]
        if not parent:
            continue
        above = entries.get(parent)
        if above is None:
            raise BadListing(where, path, f"its folder {parent!r} is not in the listing")
        if above["type"] != "dir":
            raise BadListing(where, path, f"{parent!r} above it is a {above['type']}, not a folder")
    ignore = answer.get("ignore_files")
    if not isinstance(ignore, dict):
        raise BadListing(where, None, "ignore_files is not an object")
    for path, text in ignore.items():
        _path(path, where)
        if path.rpartition("/")[2] != ".gitignore" or not isinstance(text, str):
            raise BadListing(where, path, "not the text of a .gitignore")
    return entries, ignore


def stat(answer: Any, asked: Collection[str], where: str) -> dict[str, Entry]:
    """An ``fs.list`` answer for ``asked`` paths: those of them that exist."""
    if not isinstance(answer, dict):
        raise BadListing(where, None, "the answer is not an object")
    entries = _entries(answer.get("entries"), where)
    wanted = set(asked)
    for path in entries:
        if path not in wanted:
            raise BadListing(where, path, "not one of the paths asked about")
    return entries


def hashes(answer: Any, asked: Collection[str], where: str) -> dict[str, str | None]:
    """An ``fs.hash`` answer (``{"hashes": {path: sha256 or None}}``) for ``asked`` paths."""
    answer = answer.get("hashes") if isinstance(answer, dict) else None
    if not isinstance(answer, dict):
        raise BadListing(where, None, "the hashes are not an object")
    wanted = set(asked)
    for path, value in answer.items():
        if path not in wanted:
            raise BadListing(where, path, "a hash of a path not asked about")
        if value is not None and not isinstance(value, str):
            raise BadListing(where, path, "its hash is not a string")
    return dict(answer)


def _entries(raw: Any, where: str) -> dict[str, Entry]:
    if not isinstance(raw, list):
        raise BadListing(where, None, "entries is not a list")
    out: dict[str, Entry] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise BadListing(where, entry, "an entry is not an object")
        path = _path(entry.get("path"), where)
        if path in out:
            raise BadListing(where, path, "listed twice")
        kind = entry.get("type")
        if kind not in TYPES:
            raise BadListing(where, path, f"type {kind!r} is not one of {', '.join(TYPES)}")
        for key in ("size", "mtime_ns"):
            value = entry.get(key)
            # bool is an int to Python, not to JSON: true is no size.
            if not isinstance(value, int) or isinstance(value, bool):
                raise BadListing(where, path, f"{key} {value!r} is not an integer")
        if entry["size"] < 0:
            raise BadListing(where, path, "its size is negative")
        if kind == "link":
            target = entry.get("target")
            if not isinstance(target, str) or not target or "\0" in target:
                raise BadListing(where, path, f"link target {target!r} is not a path")
        out[path] = entry
    return out


def _path(path: Any, where: str) -> str:
    try:
        return check_rel(path)
    except PathRefused as exc:
        raise BadListing(where, path, str(exc)) from None

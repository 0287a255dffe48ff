"""One side of a sync, on disk: list a tree, stat and hash files.

hostd serves these as ``fs.list`` and ``fs.hash``; the client runs the same
functions on its own folder, so both sides of a sync follow one set of
rules (:mod:`treesync.moves` moves files aside the same way). Standard
library only: this package is the executable contract of those methods,
shared by hostd and the client.

Paths are relative to a root, ``/``-separated, with no empty, ``.`` or
``..`` part (:func:`check_rel` refuses the rest). Every operation reaches
its path through the root by opening one folder at a time with
``O_NOFOLLOW`` (:func:`parent_dir`), so a symlink inside the tree
(``evil -> /etc``) is never followed, however it got there or whenever it
appears: symlinks are synced as links, never through. Special files
(sockets, FIFOs, devices) are left out.

An entry is ``{"path", "type": "file"|"dir"|"link", "size", "mtime_ns"}``,
plus ``"target"`` for a link. Its *signature* (:func:`signature`) is what
"unchanged" means: type, and size and mtime for a file, target for a link.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from typing import Any

from .rules import GITIGNORE, Rules

Entry = dict[str, Any]
Signature = tuple[Any, ...]

# A .gitignore larger than this is not a list of patterns; it is skipped.
MAX_GITIGNORE = 1 << 20
HASH_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class PathRefused(ValueError):
    """A relative path that could escape its root or name nothing."""


def check_rel(path: object) -> str:
    if not isinstance(path, str) or not path:
        raise PathRefused("a path must be a non-empty string")
    if "\0" in path:
        raise PathRefused(f"path {path!r} holds a NUL byte")
    if path.startswith("/"):
        raise PathRefused(f"path {path!r} is absolute; paths are relative to the root")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise PathRefused(f"path {path!r} has an empty, '.' or '..' part")
    return path


def check_root(root: object) -> str:
    """An absolute existing directory, with symlinks and ``..`` resolved."""
    if not isinstance(root, str) or not root.startswith("/") or "\0" in root:
        raise PathRefused(f"root must be an absolute path, not {root!r}")
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        raise PathRefused(f"root {root!r} is not a directory")
    return real


def signature(entry: Entry | None) -> Signature | None:
    if entry is None:
        return None
    kind = entry["type"]
    if kind == "file":
        return (kind, entry["size"], entry["mtime_ns"])
    if kind == "link":
        return (kind, entry.get("target"))
    return (kind,)


def entry_of(path: str, st: os.stat_result, target: str | None = None) -> Entry | None:
    if stat.S_ISREG(st.st_mode):
        return {"path": path, "type": "file", "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if stat.S_ISDIR(st.st_mode):
        return {"path": path, "type": "dir", "size": 0, "mtime_ns": st.st_mtime_ns}
    if stat.S_ISLNK(st.st_mode):
        return {
            "path": path,
            "type": "link",
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "target": target,
        }
    return None


# -- listing -------------------------------------------------------------------------


def list_tree(root: str, max_entries: int = 2_000_000) -> tuple[list[Entry], dict[str, str]]:
    """Every entry under ``root`` that the sync rules keep, and the text of
    each ``.gitignore`` found (by relative path). Ignored folders are not
    entered. Raises :class:`OverflowError` past ``max_entries``."""
    rules = Rules()
    entries: list[Entry] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        full_dir = os.path.join(root, rel_dir) if rel_dir else root
        try:
            with os.scandir(full_dir) as it:
                found = list(it)
        except (FileNotFoundError, NotADirectoryError):
            if not rel_dir:
                raise
            continue  # gone since its parent was read
        except OSError as exc:
            # Never leave out a folder that exists: a sync would take its
            # files for deleted on this side and delete them on the other.
            raise OSError(exc.errno, f"cannot read {full_dir}: {exc.strerror}") from None
        names = {e.name: e for e in found}
        ign = names.get(GITIGNORE)
        if ign is not None and ign.is_file(follow_symlinks=False):
            rel = f"{rel_dir}/{GITIGNORE}" if rel_dir else GITIGNORE
            text = read_small(ign.path)
            if text is not None:
                rules.add(rel, text)
        for e in sorted(found, key=lambda e: e.name):
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            try:
                st = e.stat(follow_symlinks=False)
                target = os.readlink(e.path) if stat.S_ISLNK(st.st_mode) else None
            except OSError:
                continue  # gone since the scan
            ent = entry_of(rel, st, target)
            if ent is None or rules.ignored(rel, ent["type"] == "dir"):
                continue
            entries.append(ent)
            if len(entries) > max_entries:
                raise OverflowError(f"more than {max_entries} entries under {root}")
            if ent["type"] == "dir":
                stack.append(rel)
    entries.sort(key=lambda e: e["path"])
    return entries, rules.files


def read_small(path: str) -> str | None:
    """A small regular file's text (a .gitignore), or None: a link, a FIFO
    (which would block the open), a file over the cap, or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = f.read(MAX_GITIGNORE + 1)
    if len(data) > MAX_GITIGNORE:
        return None
    return data.decode("utf-8", "replace")


def stat_paths(root: str, paths: Iterable[str]) -> list[Entry]:
    """The entries for ``paths`` that exist (not followed through symlinks)."""
    out = []
    for path in paths:
        check_rel(path)
        with parent_dir(root, path) as (fd, name):
            if fd is None:
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                target = os.readlink(name, dir_fd=fd) if stat.S_ISLNK(st.st_mode) else None
            except OSError:
                continue
            ent = entry_of(path, st, target)
            if ent is not None:
                out.append(ent)
    return out


def hash_paths(root: str, paths: Iterable[str]) -> dict[str, str | None]:
    """SHA-256 of each regular file; None for anything else or missing."""
    out: dict[str, str | None] = {}
    for path in paths:
        check_rel(path)
        out[path] = None
        with parent_dir(root, path) as (fd, name):
            if fd is None:
                continue
            try:
                # O_NONBLOCK: opening a FIFO (an agent can make one) must not block.
                flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
                ffd = os.open(name, flags, dir_fd=fd)
            except OSError:
                continue
            with os.fdopen(ffd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    continue
                h = hashlib.sha256()
                while chunk := f.read(HASH_CHUNK):
                    h.update(chunk)
                out[path] = h.hexdigest()
    return out


@contextlib.contextmanager
def parent_dir(root: str, path: str, create: bool = False) -> Iterator[tuple[int | None, str]]:
    """The open folder that holds ``path`` (reached without following any
    symlink), and the last part's name; ``(None, name)`` if a folder on the
    way is missing or is not a real folder. ``create`` makes missing ones."""
    parts = path.split("/")
    fd: int | None = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            assert fd is not None
            try:
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
    except OSError:  # missing, a symlink (ELOOP), or a file (ENOTDIR) on the way
        if fd is not None:
            os.close(fd)
        fd = None
    try:
        yield fd, parts[-1]
    finally:
        if fd is not None:
            os.close(fd)

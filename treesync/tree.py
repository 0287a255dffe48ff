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
import errno
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
    entered. Raises :class:`OverflowError` past ``max_entries``.

    The walk holds each folder open and reaches the next one through it
    (``openat`` with ``O_NOFOLLOW | O_DIRECTORY``), never by a path string:
    a folder swapped for a symlink between its listing and its walk (an
    agent racing the sync) is listed as the link it now is, and never
    followed. Only the folders from the root to the one being read are open
    at a time."""
    rules = Rules()
    entries: list[Entry] = []
    # Depth first: each open folder with its sub-folders still to walk (each
    # with its index in ``entries``). Pushed before it is read, so that the
    # finally closes it whatever the read raises.
    stack: list[tuple[int, list[tuple[str, int]]]] = [(os.open(root, _DIR_FLAGS), [])]
    try:
        stack[0][1].extend(_read_dir(stack[0][0], "", root, rules, entries, max_entries))
        while stack:
            fd, todo = stack[-1]
            if not todo:
                stack.pop()
                os.close(fd)
                continue
            rel, index = todo.pop()
            sub = _open_subdir(fd, rel, index, entries, root, rules)
            if sub is not None:
                stack.append((sub, []))
                stack[-1][1].extend(_read_dir(sub, rel, root, rules, entries, max_entries))
    finally:
        for fd, _todo in stack:
            os.close(fd)
    entries = [e for e in entries if e]  # those found gone meanwhile are emptied
    entries.sort(key=lambda e: e["path"])
    return entries, rules.files


def _open_subdir(
    fd: int, rel: str, index: int, entries: list[Entry], root: str, rules: Rules
) -> int | None:
    """Open the folder ``rel`` (listed at ``entries[index]``) through its
    parent's ``fd``; None, with its entry made what the name is now, if it is
    no longer a folder (a symlink, a file: not followed, not entered) or gone."""
    name = rel.rpartition("/")[2]
    try:
        sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        # ELOOP: a symlink now (EMLINK on FreeBSD); ENOTDIR: a file now.
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EMLINK):
            # Never leave out a folder that exists: a sync would take its
            # files for deleted on this side and delete them on the other.
            where = os.path.join(root, rel)
            raise OSError(exc.errno, f"cannot read {where}: {exc.strerror}") from None
        now = _entry_at(fd, name, rel)
        keep = now is not None and not rules.ignored(rel, now["type"] == "dir")
        entries[index] = now if now is not None and keep else {}
        return None
    entries[index] = entry_of(rel, os.fstat(sub)) or {}  # the folder actually opened
    return sub


def _entry_at(fd: int, name: str, rel: str) -> Entry | None:
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        target = os.readlink(name, dir_fd=fd) if stat.S_ISLNK(st.st_mode) else None
    except OSError:
        return None  # gone since the scan
    return entry_of(rel, st, target)


def _read_dir(
    fd: int, rel_dir: str, root: str, rules: Rules, entries: list[Entry], max_entries: int
) -> list[tuple[str, int]]:
    """List the open folder ``fd`` (``rel_dir``) into ``entries``; its
    sub-folders to walk, each with its index in ``entries``."""
    try:
        # Given an fd, scandir reads a duplicate of it and closes only that.
        with os.scandir(fd) as it:
            names = sorted(e.name for e in it)
    except OSError as exc:
        where = os.path.join(root, rel_dir) if rel_dir else root
        raise OSError(exc.errno, f"cannot read {where}: {exc.strerror}") from None
    if GITIGNORE in names:
        text = _read_small_at(fd, GITIGNORE)
        if text is not None:
            rules.add(f"{rel_dir}/{GITIGNORE}" if rel_dir else GITIGNORE, text)
    subdirs: list[tuple[str, int]] = []
    for name in names:
        rel = f"{rel_dir}/{name}" if rel_dir else name
        ent = _entry_at(fd, name, rel)
        if ent is None or rules.ignored(rel, ent["type"] == "dir"):
            continue
        entries.append(ent)
        if len(entries) > max_entries:
            raise OverflowError(f"more than {max_entries} entries under {root}")
        if ent["type"] == "dir":
            subdirs.append((rel, len(entries) - 1))
    subdirs.reverse()  # popped from the end: walked in name order
    return subdirs


def read_small(path: str) -> str | None:
    """A small regular file's text (a .gitignore), or None: a link, a FIFO
    (which would block the open), a file over the cap, or unreadable."""
    return _read_small_at(None, path)


def _read_small_at(dir_fd: int | None, name: str) -> str | None:
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(name, flags, dir_fd=dir_fd)
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

"""One side of a sync, on disk: list a tree, hash files, and move files aside
only when they are still what the caller saw.

hostd serves these as ``fs.list``, ``fs.hash``, ``fs.trash`` and
``fs.rename``; the client runs the same functions on its own folder, so both
sides of a sync follow one set of rules. Standard library only, like the
rest of ``hostd.protocol`` (the only part of hostd the client imports): it
is the contract of those methods, executable.

Paths are relative to a root, ``/``-separated, with no empty, ``.`` or
``..`` part (:func:`check_rel` refuses the rest). Every operation reaches
its path through the root by opening one folder at a time with
``O_NOFOLLOW``, so a symlink inside the tree (``evil -> /etc``) is never
followed, however it got there or whenever it appears: symlinks are synced
as links, never through. Special files (sockets, FIFOs, devices) are left out.

An entry is ``{"path", "type": "file"|"dir"|"link", "size", "mtime_ns"}``,
plus ``"target"`` for a link. Its *signature* (:func:`signature`) is what
"unchanged" means: type, and size and mtime for a file, target for a link.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from .syncrules import GITIGNORE, Rules

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


def _entry(path: str, st: os.stat_result, target: str | None = None) -> Entry | None:
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
            ent = _entry(rel, st, target)
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
        with _parent(root, path) as (fd, name):
            if fd is None:
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                target = os.readlink(name, dir_fd=fd) if stat.S_ISLNK(st.st_mode) else None
            except OSError:
                continue
            ent = _entry(path, st, target)
            if ent is not None:
                out.append(ent)
    return out


def hash_paths(root: str, paths: Iterable[str]) -> dict[str, str | None]:
    """SHA-256 of each regular file; None for anything else or missing."""
    out: dict[str, str | None] = {}
    for path in paths:
        check_rel(path)
        out[path] = None
        with _parent(root, path) as (fd, name):
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


# -- moving aside --------------------------------------------------------------------


def trash(root: str, trash_dir: str, items: list[Entry]) -> tuple[list[str], list[str]]:
    """Move each item into ``trash_dir`` (same relative path) if it still has
    the signature given; an empty folder is removed instead. Returns (moved,
    changed): ``changed`` are those left in place because they differ now
    (edited since the caller looked, or a folder that is not empty)."""
    moved: list[str] = []
    changed: list[str] = []
    # Deepest first, so a folder's files leave before the folder is tried.
    for item in sorted(items, key=lambda i: i["path"].count("/"), reverse=True):
        path = check_rel(item["path"])
        want = signature(item)
        with _parent(root, path) as (fd, name):
            if fd is None:
                changed.append(path)
                continue
            now = _stat_sig(fd, name, path)
            if now is None:
                moved.append(path)  # already gone: nothing to keep
                continue
            if now != want:
                changed.append(path)
                continue
            if item["type"] == "dir":
                try:
                    os.rmdir(name, dir_fd=fd)
                    moved.append(path)
                except OSError:
                    changed.append(path)
                continue
            dest = os.path.join(trash_dir, path)
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
            if _move_out(fd, name, _free_name(dest), want, path):
                moved.append(path)
            else:
                changed.append(path)
    return moved, changed


def rename(root: str, items: list[Entry]) -> tuple[list[str], list[str]]:
    """Rename ``item["path"]`` to ``item["to"]`` (in the same tree) if it still
    has the signature given and nothing is at ``to``. Returns (renamed,
    changed)."""
    done: list[str] = []
    changed: list[str] = []
    for item in items:
        path = check_rel(item["path"])
        to = check_rel(item["to"])
        with _parent(root, path) as (fd, name), _parent(root, to, create=True) as (tfd, tname):
            if fd is None or tfd is None or _stat_sig(fd, name, path) != signature(item):
                changed.append(path)
                continue
            if not _link_or_rename(fd, name, tfd, tname):
                changed.append(path)
                continue
            done.append(path)
    return done, changed


def _link_or_rename(fd: int, name: str, tfd: int, tname: str) -> bool:
    """Move without ever replacing what is at the target: a hard link fails
    when the name is taken; where links are not supported, check then rename."""
    try:
        os.link(name, tname, src_dir_fd=fd, dst_dir_fd=tfd, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if _exists(tfd, tname):
            return False
        os.rename(name, tname, src_dir_fd=fd, dst_dir_fd=tfd)
        return True
    os.unlink(name, dir_fd=fd)
    return True


def _exists(fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _free_name(dest: str) -> str:
    """``dest``, or ``dest.1``, ``dest.2``...: a trash copy never replaces another."""
    candidate, n = dest, 0
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{dest}.{n}"
    return candidate


def _move_out(fd: int, name: str, dest: str, want: Signature, path: str) -> bool:
    """Move ``name`` (in folder ``fd``) to ``dest``; False if it changed meanwhile."""
    try:
        os.rename(name, dest, src_dir_fd=fd)
        return True
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    # Another filesystem (the trash is under the state folder): copy, then
    # remove the original only if it is still what was copied. An edit saved
    # during the copy keeps the file where it is, reported as changed.
    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(name, dir_fd=fd), dest)
    else:
        src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        with os.fdopen(src, "rb") as fin, open(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout, HASH_CHUNK)
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.chmod(dest, stat.S_IMODE(st.st_mode))
    if _stat_sig(fd, name, path) != want:
        os.unlink(dest)
        return False
    os.unlink(name, dir_fd=fd)
    return True


def _stat_sig(fd: int, name: str, path: str) -> Signature | None:
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        target = os.readlink(name, dir_fd=fd) if stat.S_ISLNK(st.st_mode) else None
    except FileNotFoundError:
        return None
    ent = _entry(path, st, target)
    return signature(ent) if ent is not None else ("other",)


@contextlib.contextmanager
def _parent(root: str, path: str, create: bool = False) -> Iterator[tuple[int | None, str]]:
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


# -- the trash -----------------------------------------------------------------------

# Trash folders are named by the UTC time of the sync round that filled them,
# so their names sort in time order and say when.
STAMP_FORMAT = "%Y%m%dT%H%M%S"


def prune_trash(pair_dir: str, keep_s: float, now: float) -> list[str]:
    """Remove the stamp folders in ``pair_dir`` older than ``keep_s`` seconds
    (by the time in their name; by mtime for names that hold none)."""
    removed = []
    try:
        names = os.listdir(pair_dir)
    except FileNotFoundError:
        return []
    for name in names:
        full = os.path.join(pair_dir, name)
        try:
            when = datetime.strptime(name[:15], STAMP_FORMAT).replace(tzinfo=UTC).timestamp()
        except ValueError:
            try:
                when = os.stat(full).st_mtime
            except OSError:
                continue
        if now - when > keep_s:
            shutil.rmtree(full, ignore_errors=True)
            removed.append(name)
    return removed

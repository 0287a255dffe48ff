"""Moving files aside, only when they are still what the caller saw: the
trash and the renames of a sync round (``fs.trash``, ``fs.rename``, and the
client on its own folder).

Each path is reached through its root one folder at a time with
``O_NOFOLLOW`` (:func:`treesync.tree.parent_dir`), and each move compares
the entry's signature first, so an edit made since the listing is kept in
place and reported as changed.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from datetime import UTC, datetime

from .tree import HASH_CHUNK, Entry, Signature, check_rel, entry_of, parent_dir, signature

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
        with parent_dir(root, path) as (fd, name):
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
        with (
            parent_dir(root, path) as (fd, name),
            parent_dir(root, to, create=True) as (tfd, tname),
        ):
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
    ent = entry_of(path, st, target)
    return signature(ent) if ent is not None else ("other",)


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

"""``fs:<path>`` subscriptions: inotify on a directory tree, coalesced pushes.

Linux's inotify watches one folder at a time, so a tree watch adds a watch
per folder and one for each folder that appears later (whose contents,
possibly written before its watch was in place, are reported at once).
``.git`` and ``.gitignore``'d folders are not watched and changes inside
them are not reported, by the same rules as ``fs.list``
(:mod:`treesync.rules`); a change to a ``.gitignore`` reloads them.

Each watch has a thread of its own that blocks in ``select`` on the inotify
descriptor: nothing runs while the tree is quiet. Changes are gathered for
:data:`COALESCE_S` after the first one, then pushed as one
``fs.changed {root, paths, overflow}``; ``overflow`` is true when the kernel
dropped events (its queue overflowed) or the paths were too many to list:
then the client must look at the whole tree.

inotify is reached through ctypes (glibc's wrappers), so hostd needs no
extra package for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import select
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from treesync.rules import GITIGNORE, Rules
from treesync.tree import read_small

from ..protocol import methods as m

log = logging.getLogger(__name__)

# From <sys/inotify.h>.
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
)
_EVENT = struct.Struct("iIII")

# Long enough to gather an editor's save (write, rename, chmod) or a `git
# checkout` burst into one push, short enough to leave most of the client's
# 1-2 s latency budget for the transfer itself.
COALESCE_S = 0.1
# One push lists at most this many paths; past it, overflow says "look at all".
MAX_PATHS = 1000

_libc: Any = None


def _lib() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        _libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    return _libc


class WatchError(Exception):
    """The tree cannot be watched (no inotify, or the watch limit reached)."""


Push = Callable[[str, dict[str, Any]], None]
Event = tuple[int, int, str]  # (watch descriptor, mask, name)


class Inotify:
    """An inotify descriptor, and a pipe that ends a wait on it from another thread.

    :meth:`wait` blocks in ``select`` until events come, the timeout passes or
    :meth:`wake` is called; :meth:`close` (by the thread that waits, at its
    end) closes both. Adding and removing watches is safe from any thread.
    """

    def __init__(self) -> None:
        fd = _lib().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise WatchError(f"inotify is not available: {os.strerror(err)}")
        self.fd: int = fd
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._fd_lock = threading.Lock()  # wake() must never write to a reused fd

    def add(self, full: str, mask: int) -> int | None:
        """Watch a folder; its watch descriptor, or None when it is gone, a
        symlink or not ours to read. :class:`WatchError` when out of watches."""
        with self._fd_lock:
            if self.fd < 0:
                return None
            wd = _lib().inotify_add_watch(self.fd, os.fsencode(full), mask)
        if wd < 0:
            err = ctypes.get_errno()
            if err == errno.ENOSPC:
                raise WatchError(
                    f"cannot watch {full}: the inotify watch limit is reached "
                    "(raise fs.inotify.max_user_watches)"
                )
            if err in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EACCES):
                return None
            raise WatchError(f"cannot watch {full}: {os.strerror(err)}")
        return int(wd)

    def remove(self, wd: int) -> None:
        with self._fd_lock:
            if self.fd >= 0:
                _lib().inotify_rm_watch(self.fd, wd)

    def wait(self, timeout: float | None) -> list[Event] | None:
        """The events that came within ``timeout`` (maybe none), or None once woken."""
        ready, _, _ = select.select([self.fd, self._wake_r], [], [], timeout)
        if self._wake_r in ready:
            return None
        if self.fd not in ready:
            return []
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        out: list[Event] = []
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
            offset += _EVENT.size + length
            out.append((wd, mask, os.fsdecode(raw.rstrip(b"\0"))))
        return out

    def wake(self) -> None:
        with self._fd_lock, contextlib.suppress(OSError):
            if self._wake_w >= 0:
                os.write(self._wake_w, b"x")

    def close(self) -> None:
        with self._fd_lock:
            for fd in (self.fd, self._wake_r, self._wake_w):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self.fd = self._wake_r = self._wake_w = -1


class TreeWatch:
    """One ``fs:<root>`` subscription of one client."""

    def __init__(self, topic_root: str, real_root: str, push: Push) -> None:
        self.topic_root = topic_root
        self.root = real_root
        self._push = push
        self._rules = Rules()
        self._wd_dir: dict[int, str] = {}
        self._dir_wd: dict[str, int] = {}
        self._pending: set[str] = set()
        self._overflow = False
        self._deadline: float | None = None
        self._inotify = Inotify()
        self._thread = threading.Thread(target=self._run, name="hostd-fswatch", daemon=True)

    def start(self) -> None:
        """Watch every folder now (blocking: run it off the event loop)."""
        try:
            self._add_tree("", report=False)
        except WatchError:
            self.close()
            raise
        self._thread.start()

    def stop(self) -> None:
        self._inotify.wake()

    @property
    def watched(self) -> int:
        return len(self._dir_wd)

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                timeout = None
                if self._deadline is not None:
                    timeout = max(0.0, self._deadline - time.monotonic())
                events = self._inotify.wait(timeout)
                if events is None:
                    return
                for wd, mask, name in events:
                    self._event(wd, mask, name)
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    self._flush()
        except Exception:
            log.exception("watching %s failed", self.root)
        finally:
            self.close()

    def close(self) -> None:
        self._inotify.close()

    def _event(self, wd: int, mask: int, name: str) -> None:
        if mask & IN_Q_OVERFLOW:
            self._note_overflow()
            return
        if mask & IN_IGNORED:
            rel = self._wd_dir.pop(wd, None)
            if rel is not None and self._dir_wd.get(rel) == wd:
                del self._dir_wd[rel]
            if rel == "":
                self._note_overflow()  # the root itself went away
            return
        base = self._wd_dir.get(wd)
        if base is None or not name:
            return
        rel = f"{base}/{name}" if base else name
        is_dir = bool(mask & IN_ISDIR)
        if name == GITIGNORE and not is_dir:
            self._reload_rules(rel)
        if self._rules.ignored(rel, is_dir):
            return
        self._note(rel)
        if is_dir and mask & IN_MOVED_FROM:
            self._forget_tree(rel)
        if is_dir and mask & (IN_CREATE | IN_MOVED_TO):
            self._add_tree_or_overflow(rel)

    def _note(self, rel: str) -> None:
        if len(self._pending) >= MAX_PATHS:
            self._overflow = True
        else:
            self._pending.add(rel)
        if self._deadline is None:
            self._deadline = time.monotonic() + COALESCE_S

    def _note_overflow(self) -> None:
        self._overflow = True
        if self._deadline is None:
            self._deadline = time.monotonic() + COALESCE_S

    def _flush(self) -> None:
        paths, self._pending = sorted(self._pending), set()
        overflow, self._overflow = self._overflow, False
        self._deadline = None
        self._push(m.FS_CHANGED, {"root": self.topic_root, "paths": paths, "overflow": overflow})

    # -- watches -------------------------------------------------------------------

    def _reload_rules(self, rel: str) -> None:
        text = read_small(os.path.join(self.root, rel))
        self._rules.add(rel, text or "")
        # Folders it no longer ignores need watches now.
        self._add_tree_or_overflow("", only_new=True)

    def _add_tree_or_overflow(self, top: str, only_new: bool = False) -> None:
        try:
            self._add_tree(top, report=True, only_new=only_new)
        except WatchError as exc:
            log.warning("%s; changes under %s may go unreported", exc, top or self.root)
            self._note_overflow()

    def _add_tree(self, top: str, report: bool, only_new: bool = False) -> None:
        stack = [top]
        while stack:
            rel = stack.pop()
            full = os.path.join(self.root, rel) if rel else self.root
            if not (only_new and rel in self._dir_wd):
                self._add_watch(rel, full)
            try:
                with os.scandir(full) as it:
                    found = list(it)
            except OSError:
                continue
            ign = next((e for e in found if e.name == GITIGNORE), None)
            path = f"{rel}/{GITIGNORE}" if rel else GITIGNORE
            if ign is not None and path not in self._rules.files:
                text = read_small(ign.path)
                if text is not None:
                    self._rules.add(path, text)
            for e in found:
                child = f"{rel}/{e.name}" if rel else e.name
                try:
                    is_dir = e.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if self._rules.ignored(child, is_dir):
                    continue
                if report and (not only_new or child not in self._dir_wd):
                    self._note(child)
                if is_dir:
                    stack.append(child)

    def _add_watch(self, rel: str, full: str) -> None:
        wd = self._inotify.add(full, WATCH_MASK)
        if wd is None:
            return  # gone, replaced, a symlink, or not ours to read
        self._wd_dir[wd] = rel
        self._dir_wd[rel] = wd

    def _forget_tree(self, top: str) -> None:
        prefix = top + "/"
        for rel in [r for r in self._dir_wd if r == top or r.startswith(prefix)]:
            wd = self._dir_wd.pop(rel)
            self._wd_dir.pop(wd, None)
            self._inotify.remove(wd)

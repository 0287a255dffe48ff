"""The state file: every sandbox record, shared by all hostd processes of a user.

Several hostd processes may run at once (two laptops, a laptop and a script).
Every read-modify-write holds an exclusive flock on ``state.lock``; every
write is :func:`treesync.files.write_atomic`, so a kill at any moment leaves
the old or the new file, never a torn one. Plain
reads take no lock: a rename is atomic, so a reader sees one whole version.

A file that cannot be read is moved aside as ``state.json.corrupt-<time>``
and reported (``warnings``) instead of being silently replaced with an empty
one: the records in it may be the only trace of running sandboxes.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from treesync.files import flocked, write_atomic

from .paths import StatePaths

log = logging.getLogger(__name__)

STATE_VERSION = 1
# Within this of its mtime a state file is read again rather than trusted
# from the cache: far above any file system's timestamp granularity.
RACY_NS = 1_000_000_000
T = TypeVar("T")

State = dict[str, Any]


def empty_state() -> State:
    return {"version": STATE_VERSION, "sandboxes": {}, "pending": {}}


class StateError(Exception):
    """The state file is not what this hostd can read."""


def _validate(obj: Any) -> State:
    if not isinstance(obj, dict):
        raise StateError("top level is not an object")
    version = obj.get("version")
    if version != STATE_VERSION:
        raise StateError(f"unknown state version {version!r}")
    for key in ("sandboxes", "pending"):
        value = obj.setdefault(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise StateError(f"{key!r} is not an object of records")
    return obj


class StateStore:
    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self._cache_key: tuple[int, int, int] | None = None
        self._cache: State = empty_state()

    # -- public API ------------------------------------------------------------

    def read(self) -> State:
        """The current state, read without a lock. Treat it as read-only."""
        key = self._stat_key()
        if key is not None and key == self._cache_key and not self._racy(key):
            return self._cache
        try:
            state = self._load()
        except StateError:
            with flocked(self.paths.lock_file):
                state = self._load_or_quarantine()
        self._cache, self._cache_key = state, key
        return state

    def update(self, fn: Callable[[State], T]) -> T:
        """Run ``fn`` on a fresh copy of the state under the lock; save if it changed."""
        with flocked(self.paths.lock_file):
            state = self._load_or_quarantine()
            before = copy.deepcopy(state)
            result = fn(state)
            if state != before:
                self._write(state)
            return result

    def warnings(self) -> list[str]:
        """What a person should know about the state folder (reported in hello)."""
        out = []
        for p in sorted(self.paths.root.glob("state.json.corrupt-*")):
            out.append(
                f"an unreadable state file was kept aside as {p}; the sandboxes it listed "
                "are not shown (inspect it, then delete it to silence this warning)"
            )
        room = self.paths.socket_room()
        if room < 0:
            out.append(
                f"the state folder {self.paths.root} is too long a path for unix sockets "
                f"by {-room} bytes; set HOSTD_STATE_DIR to a shorter path"
            )
        return out

    # -- internals -------------------------------------------------------------

    @staticmethod
    def _racy(key: tuple[int, int, int]) -> bool:
        """Written too recently for its stat to tell it from the one before.

        A file system keeps mtimes to a clock tick, and ext4 hands the inode
        of a file just renamed over back to the next temp file; two writes
        of the same size within one tick can look alike (git's "racy" case).
        """
        return time.time_ns() - key[1] < RACY_NS

    def _stat_key(self) -> tuple[int, int, int] | None:
        try:
            st = self.paths.state_file.stat()
        except FileNotFoundError:
            return None
        # Every write is a rename of a new file; see _racy for when that is
        # not enough to tell two versions apart.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> State:
        try:
            raw = self.paths.state_file.read_bytes()
        except FileNotFoundError:
            return empty_state()
        try:
            return _validate(json.loads(raw))
        except (ValueError, RecursionError) as exc:
            raise StateError(f"not valid JSON: {exc}") from None

    def _load_or_quarantine(self) -> State:
        """Load; if unreadable, move the file aside (caller holds the lock)."""
        try:
            return self._load()
        except StateError as exc:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            aside = self.paths.root / f"state.json.corrupt-{stamp}-{secrets.token_hex(2)}"
            try:
                os.rename(self.paths.state_file, aside)
            except FileNotFoundError:
                return empty_state()  # another hostd moved it aside first
            log.error("state file unreadable (%s); kept aside as %s", exc, aside)
            return empty_state()

    def _write(self, state: State) -> None:
        data = json.dumps(state, indent=1, sort_keys=True).encode() + b"\n"
        write_atomic(self.paths.state_file, data)

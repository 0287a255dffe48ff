"""What a pair of folders remembers between syncs, on the client.

``$XDG_STATE_HOME/claude-sandbox/sync/<pair id>/`` (default
``~/.local/state/claude-sandbox/sync/``) holds, per pair of folders (this
machine's folder; the host and the folder there):

- ``state.json``: the base (each path's signature on each side when the last
  sync accounted for it, and its hash where one was computed), the two
  folders, a summary of the last sync, and, while a round transfers, what
  it is sending. Written with
  :func:`treesync.files.write_atomic`: a kill at any moment leaves the old file or
  the new one. A round records a path only after its transfer was checked,
  so a round cut short is simply looked at again by the next one, which
  recognises what it had sent (``sending``).
- ``lock``: flock'd by the one sync of this pair running at a time.
- ``trash/<stamp>/<path>``: this machine's files that a sync replaced or
  deleted, kept for :data:`TRASH_KEEP_S` (the server keeps its own in
  hostd's state folder, ``sync-trash/<pair id>/``, as long).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from treesync import moves
from treesync.files import FileLock, write_atomic

from ..errors import RemoteError
from .plan import Base

log = logging.getLogger(__name__)

STATE_VERSION = 1
# What a round is about to write, by name: the side it comes from, and its
# signature there (see PairState.save).
Sending = dict[str, tuple[str, tuple[Any, ...]]]
# The server's trash keeps the same week (hostd/fs/methods.py TRASH_KEEP_S).
TRASH_KEEP_S = 7 * 24 * 3600.0


class SyncError(RemoteError):
    """A sync could not be done (and changed nothing it could not account for).
    ``result``, when set, is what the round did before it failed (a
    :class:`app.remote.sync.syncer.SyncResult`: conflict copies it made, files sent)."""

    result: Any = None


class SyncRefused(SyncError):
    """A round that would delete every file of one side because the other
    side is now empty (see :mod:`app.remote.sync.plan`): most likely an
    accident, so nothing was done. ``empty`` is the side with no file left
    (``folder`` names it), ``deletes`` how many files the round would have
    deleted on the other side. A one-way round into ``empty`` fills it
    again; ``Syncer(allow_delete_all=True)`` carries the deletions."""

    empty: str = ""
    folder: str = ""
    deletes: int = 0

    @property
    def restore(self) -> str:
        """The one-way round that fills the empty side again."""
        return "push" if self.empty == "remote" else "pull"


class SyncBusy(SyncError):
    """Another sync of the same pair of folders is running."""


def state_home(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    env = os.environ if env is None else env
    xdg = env.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else (home or Path.home()) / ".local/state"
    return base / "claude-sandbox" / "sync"


def pair_id(local_root: str, host: str, remote_root: str) -> str:
    """A stable name for the pair: readable start, hash for uniqueness."""
    digest = hashlib.sha256(f"{local_root}\0{host}\0{remote_root}".encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(local_root.rstrip("/")) or "root")
    return f"{name[:40]}-{digest}"


class PairState:
    def __init__(self, home: Path, local_root: str, host: str, remote_root: str) -> None:
        self.local_root = local_root
        self.host = host
        self.remote_root = remote_root
        self.id = pair_id(local_root, host, remote_root)
        self.dir = home / self.id
        self._lock: FileLock | None = None

    @property
    def file(self) -> Path:
        return self.dir / "state.json"

    @property
    def trash_root(self) -> Path:
        return self.dir / "trash"

    # -- locking -------------------------------------------------------------------

    def lock(self) -> None:
        """Hold this pair for this process; :class:`SyncBusy` if another holds it."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = FileLock(self.dir / "lock")
        if not lock.acquire(blocking=False):
            holder = os.read(lock.fd, 64).decode(errors="replace").strip()
            lock.release()
            raise SyncBusy(
                f"another sync of {self.local_root} and {self.host}:{self.remote_root} is "
                f"running{f' (pid {holder})' if holder else ''}"
            ) from None
        os.ftruncate(lock.fd, 0)
        os.pwrite(lock.fd, f"{os.getpid()}\n".encode(), 0)
        self._lock = lock

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- the base ------------------------------------------------------------------

    def load(self) -> tuple[dict[str, Base], dict[str, Any], Sending]:
        """The base, the last summary, and what a round cut short was sending
        (see :meth:`save`); an unreadable file is kept aside
        (``state.json.corrupt-<time>``) and the pair starts afresh, which is
        safe: with no base, nothing is deleted and differences are conflicts."""
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"version {data.get('version')!r}")
            entries = {
                path: Base(_sig(v[0]), _sig(v[1]), v[2]) for path, v in data["entries"].items()
            }
            return entries, dict(data.get("last") or {}), self._sending_of(data.get("sending"))
        except FileNotFoundError:
            return {}, {}, {}
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            aside = self.file.with_name(f"state.json.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
            log.warning("sync state %s is unreadable (%s); kept as %s", self.file, exc, aside)
            with contextlib.suppress(OSError):
                os.replace(self.file, aside)
            return {}, {}, {}

    def _sending_of(self, raw: Any) -> Sending:
        """The saved ``sending``; one that is not as :meth:`save` writes it is
        dropped as a whole, with a warning, and the base kept (without it, a
        round only compares more, by hash)."""
        sending: Sending = {}
        if raw is None:
            return sending
        try:
            for path, (side, sig) in raw.items():
                kind, size, mtime_ns = sig
                if (
                    not isinstance(path, str)
                    or side not in ("local", "remote")
                    or kind != "file"
                    or not all(type(n) is int for n in (size, mtime_ns))
                ):
                    raise ValueError(path)
                sending[path] = (side, (kind, size, mtime_ns))
        except (AttributeError, TypeError, ValueError) as exc:
            log.warning("sync state %s: its sending list is not readable (%r); left out",
                        self.file, exc)  # fmt: skip
            return {}
        return sending

    def read_last(self) -> dict[str, Any]:
        """The summary of the last finished round (empty if none), read without
        the lock and without touching the file: for showing, not syncing."""
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            return dict(data.get("last") or {})
        except (OSError, ValueError, TypeError, AttributeError):
            return {}

    def save(
        self, entries: Mapping[str, Base], last: Mapping[str, Any], sending: Sending | None = None
    ) -> None:
        """Write the base and the summary; ``sending`` is saved by a round
        just before its transfers: for each name it is about to write, the
        side it comes from and the signature it has there. Should the round
        be cut short before it saves again, the next one recognises the
        files that arrived (they have the sender's exact mtime, set by rsync)
        instead of taking them for new ones: a file the person deleted
        meanwhile is then deleted on both sides, not brought back."""
        data = {
            "version": STATE_VERSION,
            "local": self.local_root,
            "host": self.host,
            "remote": self.remote_root,
            "last": dict(last),
            "entries": {
                path: [_list(b.local), _list(b.remote), b.hash]
                for path, b in sorted(entries.items())
            },
        }
        if sending:
            data["sending"] = {path: [side, list(sig)] for path, (side, sig) in sending.items()}
        write_atomic(self.file, json.dumps(data, separators=(",", ":")).encode())

    # -- the trash -----------------------------------------------------------------

    def trash_dir(self, stamp: str) -> Path:
        return self.trash_root / stamp

    def prune_trash(self) -> list[str]:
        return moves.prune_trash(str(self.trash_root), TRASH_KEEP_S, time.time())


def remembered(home: Path, local_root: str, host: str) -> list[dict[str, Any]]:
    """The pairs of ``local_root`` with ``host`` synced before, newest first."""
    found = []
    for state in home.glob("*/state.json"):
        try:
            data = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("local") == local_root and data.get("host") == host:
            found.append(data)
    found.sort(key=lambda d: str((d.get("last") or {}).get("finished_at", "")), reverse=True)
    return found


def _sig(value: Any) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


def _list(sig: tuple[Any, ...] | None) -> list[Any] | None:
    return None if sig is None else list(sig)

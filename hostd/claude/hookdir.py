"""A sandbox's hooks folder on the host: reading its events, pruning it, answering.

``run/<id>/hooks/`` (docs/protocol.md, "Hook events"; made for each run by
:mod:`hostd.claude.hooks`): ``events/`` is written by the hook inside the
sandbox, ``answers/`` by hostd. This module reads and answers;
:mod:`hostd.claude.hookevents` decides what the events mean.

The events folder is the agent's to write, so it is read as a stranger's:
opened without following symlinks, only regular files, at most
:data:`~hostd.claude.hooks.MAX_EVENT_BYTES` each (a FIFO or a link to
a file of the person's is skipped, never opened for reading), at most
:data:`MAX_LISTED` names a look. A folder that is not there (an agent that
is not Claude Code, a sandbox made before hooks) reads as no events.

hook.sh renames each whole file in and never touches it again, so a name
seen with the same inode is not read twice; a file whose inode changed
under the same name was rewritten by something else and is ignored from
then on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import hookevents as he
from . import hooks

log = logging.getLogger(__name__)

# Claude Code gives the hook TIMEOUT_S + PERMISSION_GRACE_S before it kills
# it; past that (and a little for the clock) no hook can still be waiting.
HOOK_GRACE_S = hooks.PERMISSION_GRACE_S + 5.0
# A folder of hook.sh's holds a few hundred names (200 events, their markers);
# past this many, the rest of a hostile folder waits for the next look, once
# pruning has made room.
MAX_LISTED = 10_000
# A folder changed this recently may change again within its mtime's tick
# (the kernel's coarse clock): it is listed again, not trusted to be the same.
_RECENT_NS = 1_000_000_000
# A fold depends on the clock too (a request's hook gives up, a day passes):
# one of an unchanged folder is reused for at most this long.
_REFOLD_NS = 1_000_000_000
DENY_MESSAGE = "Denied from claude-sandbox"
_REQUEST_ID = re.compile(r"^\d{19}-\d{1,10}$")


class AlreadyAnswered(Exception):
    """Another client's answer to the request was written first."""


def is_request_id(value: str) -> bool:
    return bool(_REQUEST_ID.match(value))


def answer_json(decision: str, message: str | None = None) -> bytes:
    """Claude Code's PermissionRequest decision output, one line."""
    body: dict[str, str] = {"behavior": decision}
    if decision == "deny":
        body["message"] = message or DENY_MESSAGE
    out = {"hookSpecificOutput": {"hookEventName": he.PERMISSION_REQUEST, "decision": body}}
    return json.dumps(out, ensure_ascii=False).encode() + b"\n"


def write_answer(folder: Path, request: str, decision: str, message: str | None = None) -> None:
    """Write ``answers/<request>.json`` unless an answer is there already.

    Written whole to a temp file, then linked to its name: ``link`` fails
    when the name exists, so of two clients answering at once the first
    wins and the second gets :class:`AlreadyAnswered`; the hook never reads
    half an answer.
    """
    if not is_request_id(request):
        raise ValueError(f"not a request id: {request!r}")
    answers = hooks.answers_dir(folder)
    answers.mkdir(mode=0o700, exist_ok=True)
    tmp = answers / f".tmp-{request}-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(answer_json(decision, message))
        try:
            os.link(tmp, answers / f"{request}.json")
        except FileExistsError:
            raise AlreadyAnswered(request) from None
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class _Listed:
    folder: he.Folder
    key: tuple[int, int, int, int]  # events' and answers' (inode, mtime_ns)


class HookDir:
    """One sandbox's hooks folder. Thread-safe: the metrics worker, the
    monitor's reads and an answer may look at once."""

    def __init__(self, path: Path, expire_after_s: float | None = None) -> None:
        self.path = path
        if expire_after_s is None:
            given = hooks.timeout_of(path)  # what this run's hook waits: the same for all
            timeout = float(given if given is not None else hooks.answer_timeout(os.environ))
        else:
            timeout = expire_after_s
        self.expire_after_ns = int((timeout + HOOK_GRACE_S) * 1e9)
        self._lock = threading.Lock()
        self._parsed: dict[str, tuple[int, he.Event | None]] = {}  # name -> (inode, event)
        self._tampered: set[str] = set()
        self._listed: _Listed | None = None
        # The last fold (of which listing, for which run, when): the monitor
        # asks several times a second.
        self._folded: tuple[he.Folder, tuple[int, bool], int, he.HookState] | None = None

    def fold(self, *, since_ns: int, running: bool, now_ns: int | None = None) -> he.HookState:
        """What the events of the run since ``since_ns`` say; prunes what may go."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._lock, self._events() as fd:
            folder = self._folder(fd, now_ns)
            cached = self._folded
            if (cached is not None and cached[0] is folder and cached[1] == (since_ns, running)
                    and 0 <= now_ns - cached[2] < _REFOLD_NS):  # fmt: skip
                return cached[3]
            state = he.fold(folder, since_ns=since_ns, now_ns=now_ns, running=running,
                            expire_after_ns=self.expire_after_ns)  # fmt: skip
            if state.prune and fd is not None:
                self._prune(fd, state.prune, folder, now_ns)
            # Cached even when something could not be pruned (a folder the agent
            # made there): a folder that does not change is not folded again.
            self._folded = (folder, (since_ns, running), now_ns, state)
        return state

    def request_state(
        self, request: str, *, since_ns: int, running: bool, now_ns: int | None = None
    ) -> str:
        """PENDING, or ANSWERED / EXPIRED / OVER / UNKNOWN (see hookevents)."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._lock, self._events() as fd:
            self._listed = None  # an answer must see the folder as it is now
            folder = self._folder(fd, now_ns)
        return he.request_state(folder, request, since_ns=since_ns, now_ns=now_ns,
                                running=running, expire_after_ns=self.expire_after_ns)  # fmt: skip

    # -- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _events(self) -> Iterator[int | None]:
        """The events folder, opened as itself (not a symlink), or None when missing."""
        try:
            fd = os.open(hooks.events_dir(self.path), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                         | os.O_CLOEXEC)  # fmt: skip
        except OSError:
            yield None
            return
        try:
            yield fd
        finally:
            os.close(fd)

    def _folder(self, fd: int | None, now_ns: int) -> he.Folder:
        if fd is None:
            self._listed = None
            return he.Folder()  # no hooks here (yet): the pane is the witness
        st = os.fstat(fd)
        answers = _stat_or_none(hooks.answers_dir(self.path))
        key = (st.st_ino, st.st_mtime_ns, answers[0], answers[1])
        recent = now_ns - max(st.st_mtime_ns, answers[1]) < _RECENT_NS
        if self._listed is not None and self._listed.key == key and not recent:
            return self._listed.folder
        folder = self._read(fd)
        self._listed = _Listed(folder, key)
        return folder

    def _read(self, fd: int) -> he.Folder:
        names: list[str] = []
        events: list[he.Event] = []
        seen: dict[str, tuple[int, he.Event | None]] = {}
        entries: list[tuple[int, os.DirEntry[str]]] = []
        with os.scandir(fd) as it:
            for entry in it:
                if len(names) >= MAX_LISTED:
                    break
                names.append(entry.name)
                got = he.event_name(entry.name)
                if got is not None and not entry.name.startswith("."):
                    entries.append((got[0], entry))
        # Only the newest events are read: hook.sh writes a few a turn and the
        # rest are pruned, so a folder the agent fills with thousands of files
        # costs a listing, not thousands of parses (nor their memory).
        entries.sort(key=lambda se: se[0], reverse=True)
        for _stamp, entry in entries[: he.KEEP_NEWEST]:
            name = entry.name
            if name in self._tampered:
                continue
            ino = entry.inode()
            cached = self._parsed.get(name)
            if cached is not None and cached[0] != ino:
                log.warning("%s: %s was rewritten; ignoring it", self.path, name)
                self._tampered.add(name)
                continue
            if cached is None:
                cached = (ino, he.parse_event(name, _read_capped(fd, name)))
            seen[name] = cached
            if cached[1] is not None:
                events.append(cached[1])
        self._parsed = seen
        self._tampered &= set(names)
        return he.folder_of(events, names, self._answered())

    def _answered(self) -> list[str]:
        try:
            with os.scandir(hooks.answers_dir(self.path)) as it:
                return [e.name[:-5] for e in it if e.name.endswith(".json")]
        except OSError:
            return []

    def _prune(self, fd: int, names: tuple[str, ...], folder: he.Folder, now_ns: int) -> None:
        for name in names:
            with contextlib.suppress(OSError):  # gone already, or a folder the agent made
                os.unlink(name, dir_fd=fd)
        for name in folder.names:
            # A hook killed while writing leaves its temp file behind.
            if name.startswith(".") and _older_than(fd, name, now_ns - he.KEEP_FOR_NS):
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=fd)
        pruned = set(names)
        kept = {e.id for e in folder.events if e.file_name not in pruned}
        for rid in folder.answered - kept:
            with contextlib.suppress(OSError):
                os.unlink(hooks.answers_dir(self.path) / f"{rid}.json")
        self._listed = None
        log.debug("%s: pruned %d names", self.path, len(names))


def _read_capped(dir_fd: int, name: str) -> bytes:
    """A regular file's first MAX_EVENT_BYTES + 1 bytes (enough to see it is
    too big), or b"" for anything else: never a symlink followed, never a
    FIFO waited on."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dir_fd)  # fmt: skip
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOENT, errno.EACCES, errno.ENXIO):
            log.warning("cannot read hook event %s: %s", name, exc)
        return b""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > hooks.MAX_EVENT_BYTES:
            return b""
        chunks: list[bytes] = []
        left = hooks.MAX_EVENT_BYTES + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _stat_or_none(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0)
    return (st.st_ino, st.st_mtime_ns)


def _older_than(dir_fd: int, name: str, before_ns: int) -> bool:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mtime_ns < before_ns
    except OSError:
        return False

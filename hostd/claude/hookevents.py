"""Claude Code's hook events, folded into what the agent is doing and what it asks.

Pure: the caller lists the sandbox's ``hooks/events/`` folder and reads its
files (:mod:`hostd.claude.hookdir`); this module turns names and bytes into
the latest activity, the open permission request, and the files that may
go. No I/O, no clock of its own.

What the folder holds (written by ``hooks/hook.sh`` inside the sandbox, see
docs/protocol.md, "Hook events"):

- ``<stamp>-<pid>.<EVENT>.json``: one hook's input, as Claude Code gave it.
  ``<stamp>`` is ``date +%s%N`` (nanoseconds, 19 digits), ``<pid>`` the
  hook's. For a ``PermissionRequest``, ``<stamp>-<pid>`` is the request id.
- ``<stamp>-<pid>.taken`` / ``.expired``: the hook took an answer / gave up
  waiting for one (Claude Code then shows its own dialog).
- ``.tmp-…``: a file still being written (dot-files are never read).

Everything in the folder comes from inside the sandbox, so from the agent:
it is data, never code. A file over :data:`MAX_EVENT_BYTES`, not a JSON
object, whose ``hook_event_name`` is not the name's event, or with a field
of the wrong type is ignored as if it were not there. Only these fields
are read: ``hook_event_name``, ``tool_name``, ``tool_input``, ``message``,
``notification_type``, ``session_id``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol import methods as m
from .hooks import EVENTS, MAX_EVENT_BYTES

SESSION_START = "SessionStart"
USER_PROMPT_SUBMIT = "UserPromptSubmit"
PRE_TOOL_USE = "PreToolUse"
POST_TOOL_USE = "PostToolUse"
NOTIFICATION = "Notification"
STOP = "Stop"
PERMISSION_REQUEST = "PermissionRequest"
SESSION_END = "SessionEnd"
assert set(EVENTS) == {SESSION_START, USER_PROMPT_SUBMIT, PRE_TOOL_USE, POST_TOOL_USE,
                       NOTIFICATION, STOP, PERMISSION_REQUEST, SESSION_END}  # fmt: skip

WORKING, WAITING, IDLE = "working", "waiting", "idle"  # as hostd.claude.activity

TAKEN, EXPIRED = "taken", "expired"
# What sandbox.answer says of a request that is not pending (its -32003's data.state).
ANSWERED, OVER, UNKNOWN = "answered", "over", "unknown"
PENDING = "pending"

# MAX_EVENT_BYTES: hook.sh writes no bigger file, so a bigger one is not its
# and is ignored.
# The folder keeps the newest 200 events (enough for the longest turn's tool
# calls between two looks), and nothing older than a day that is not pending.
KEEP_NEWEST = 200
KEEP_FOR_NS = 86_400 * 10**9
# A reason fits a tile's line and a notification; the input a dialog shows.
MAX_REASON = 200
MAX_INPUT_STRING = 2000
# A stamp this far ahead of the clock is no hook's (hook.sh stamps with the
# host's own clock); ignored and pruned, so it cannot stay "latest" for ever.
FUTURE_SLACK_NS = 60 * 10**9
_MAX_DEPTH = 20  # tool_input nesting kept (Claude's tools nest two or three deep)

_STAMP = r"(\d{19})-(\d{1,10})"
_EVENT_NAME = re.compile(rf"^{_STAMP}\.({'|'.join(EVENTS)})\.json$")
_MARKER_NAME = re.compile(rf"^{_STAMP}\.({TAKEN}|{EXPIRED})$")
# The tools whose input a person reads by one field (Claude Code's own dialogs
# show the same: the command, the file, the address).
_REASON_FIELD = {"Bash": "command", "Edit": "file_path", "Write": "file_path",
                 "Read": "file_path", "WebFetch": "url"}  # fmt: skip
# A later event of the same session that says the dialog is no longer shown.
_ENDS_A_DIALOG = (USER_PROMPT_SUBMIT, STOP, SESSION_END)


@dataclass(frozen=True)
class Event:
    """One hook's input: only the fields hostd reads, each checked for its type."""

    stamp: int  # nanoseconds since the epoch, from the file's name
    pid: int
    name: str  # one of EVENTS
    session_id: str | None = None
    tool_name: str | None = None
    tool_input: Mapping[str, Any] | None = None  # a PermissionRequest's only (what it shows)
    message: str | None = None
    notification_type: str | None = None
    input_digest: str | None = None  # of the tool input: which call a tool event is

    @property
    def id(self) -> str:
        """``<stamp>-<pid>``: a PermissionRequest's request id."""
        return f"{self.stamp:019d}-{self.pid}"

    @property
    def file_name(self) -> str:
        return f"{self.id}.{self.name}.json"


@dataclass(frozen=True)
class HookActivity:
    state: str
    reason: str | None
    since_ns: int
    request: dict[str, Any] | None = None
    # The request this activity is about when its hook gave up waiting:
    # Claude Code shows its own dialog then, which keys can answer.
    expired: bool = False


@dataclass(frozen=True)
class HookState:
    """What the events say. ``activity`` is None when no event of this run was seen
    (then the pane is the only witness)."""

    activity: HookActivity | None
    requests: dict[str, str] = field(default_factory=dict)  # request id -> PENDING, ANSWERED...
    last_stamp: int | None = None
    prune: tuple[str, ...] = ()  # names in the events folder that may be deleted

    @property
    def request(self) -> dict[str, Any] | None:
        return self.activity.request if self.activity else None


@dataclass(frozen=True)
class Folder:
    """The folder as listed: every name, the events that parsed, the markers, the
    answers written."""

    names: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    markers: Mapping[str, str] = field(default_factory=dict)  # request id -> TAKEN | EXPIRED
    answered: frozenset[str] = frozenset()  # ids with answers/<id>.json


# -- names and files ---------------------------------------------------------------------


def event_name(name: str) -> tuple[int, int, str] | None:
    """(stamp, pid, EVENT) of an event file's name, or None."""
    m = _EVENT_NAME.match(name)
    return (int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def marker_name(name: str) -> tuple[str, str] | None:
    """(request id, TAKEN | EXPIRED) of a marker's name, or None."""
    m = _MARKER_NAME.match(name)
    return (f"{m.group(1)}-{m.group(2)}", m.group(3)) if m else None


def stamp_of(name: str) -> int | None:
    """The stamp of an event's or a marker's name."""
    m = _EVENT_NAME.match(name) or _MARKER_NAME.match(name)
    return int(m.group(1)) if m else None


def parse_event(name: str, data: bytes) -> Event | None:
    """The event a file holds, or None when it is not one hook.sh wrote."""
    parsed = event_name(name)
    if parsed is None or len(data) > MAX_EVENT_BYTES:
        return None
    stamp, pid, event = parsed
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(obj, dict) or obj.get("hook_event_name") != event:
        return None
    fields: dict[str, Any] = {}
    for key in ("session_id", "tool_name", "message", "notification_type"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            return None
        fields[key] = value
    tool_input = obj.get("tool_input")
    if tool_input is not None and not isinstance(tool_input, dict):
        return None
    if event in (PRE_TOOL_USE, POST_TOOL_USE, PERMISSION_REQUEST) and not fields["tool_name"]:
        return None  # a tool event names its tool
    if event == PERMISSION_REQUEST and tool_input is None:
        return None  # and a permission request what it would do
    digest = None
    if tool_input is not None:
        # Which call: its command (Bash), file (Edit, Write, Read) or URL, else all of it.
        which_field = _REASON_FIELD.get(fields["tool_name"] or "")
        named = tool_input.get(which_field) if which_field else None
        which = (
            named
            if isinstance(named, str)
            else json.dumps(tool_input, sort_keys=True, ensure_ascii=False, default=str)
        )
        digest = hashlib.blake2b(which.encode(), digest_size=12).hexdigest()
    if event != PERMISSION_REQUEST:
        tool_input = None  # kept only where it is shown: a folder's events stay small
    return Event(stamp, pid, event, tool_input=tool_input, input_digest=digest, **fields)


def read_folder(
    files: Iterable[tuple[str, bytes]], names: Iterable[str] = (), answered: Iterable[str] = ()
) -> Folder:
    """A :class:`Folder` from the event files' names and bytes, every other name
    listed (markers, strangers) and the ids answered."""
    files = list(files)
    events = [e for e in (parse_event(n, data) for n, data in files) if e is not None]
    return folder_of(events, [*(n for n, _ in files), *names], answered)


def folder_of(events: Iterable[Event], names: Iterable[str], answered: Iterable[str]) -> Folder:
    """A :class:`Folder` from parsed events, every name listed and the answers' ids."""
    names = tuple(dict.fromkeys(names))
    markers: dict[str, str] = {}
    for name in names:
        got = marker_name(name)
        if got is not None and markers.get(got[0]) != TAKEN:
            markers[got[0]] = got[1]  # taken wins: the hook had its answer
    ordered = tuple(sorted(events, key=lambda e: (e.stamp, e.pid)))
    return Folder(names, ordered, markers, frozenset(answered))


# -- folding -------------------------------------------------------------------------------


def fold(
    folder: Folder,
    *,
    since_ns: int,
    now_ns: int,
    running: bool = True,
    expire_after_ns: int | None = None,
) -> HookState:
    """The activity the events of this run (stamped ``since_ns`` or later) say.

    A permission request still open (see :func:`request_states`) wins: the
    oldest one, as Claude Code asks one at a time. Otherwise the last event
    says it, and ``since`` is the first of the events in a row that say the
    same. ``expire_after_ns``: a request older than this cannot have a hook
    waiting any more (its own timeout has passed). ``prune`` lists what
    :func:`prunable` allows, open requests kept.
    """
    states = request_states(folder, since_ns=since_ns, now_ns=now_ns, running=running,
                            expire_after_ns=expire_after_ns)  # fmt: skip
    open_ids = [rid for rid, state in states.items() if _is_open(state)]
    prune = tuple(prunable(folder.names, now_ns=now_ns, keep_ids=open_ids))
    events = _of_run(folder, since_ns, now_ns)
    if not events:
        return HookState(None, states, None, prune)
    if open_ids:
        e = next(e for e in events if e.id == open_ids[0] and e.name == PERMISSION_REQUEST)
        act = HookActivity(WAITING, request_reason(e), e.stamp, request_of(e))
        return HookState(act, states, events[-1].stamp, prune)
    current: HookActivity | None = None
    for e in events:
        state, reason = _says(e, states.get(e.id))
        if current is None or (current.state, current.reason) != (state, reason):
            expired = e.name == PERMISSION_REQUEST and states.get(e.id) == EXPIRED
            current = HookActivity(state, reason, e.stamp, None, expired)
    return HookState(current, states, events[-1].stamp, prune)


def request_states(
    folder: Folder,
    *,
    since_ns: int,
    now_ns: int,
    running: bool = True,
    expire_after_ns: int | None = None,
) -> dict[str, str]:
    """Every request of this run: PENDING, ANSWERED (written, not yet taken, or
    taken), EXPIRED, or OVER.

    A request is pending while no marker and no answer say otherwise, the
    sandbox runs, it is younger than ``expire_after_ns``, and no later event
    of its session says the dialog is over: a prompt submitted, a turn
    stopped, the session ended, or the same tool used (PostToolUse; another
    tool's may be one run alongside while this one waits).
    """
    events = _of_run(folder, since_ns, now_ns)
    out: dict[str, str] = {}
    for i, e in enumerate(events):
        if e.name != PERMISSION_REQUEST:
            continue
        marker = folder.markers.get(e.id)
        if marker == TAKEN:
            out[e.id] = TAKEN
        elif marker == EXPIRED:
            out[e.id] = EXPIRED
        elif not running or _ended(e, events[i + 1 :]):
            out[e.id] = OVER
        elif expire_after_ns is not None and now_ns - e.stamp > expire_after_ns:
            out[e.id] = EXPIRED
        elif e.id in folder.answered:
            out[e.id] = ANSWERED
        else:
            out[e.id] = PENDING
    return out


def request_state(folder: Folder, request: str, **kwargs: Any) -> str:
    """PENDING, or why a request cannot be answered: ANSWERED, EXPIRED, OVER, UNKNOWN."""
    state = request_states(folder, **kwargs).get(request, UNKNOWN)
    return ANSWERED if state == TAKEN else state


def prunable(names: Iterable[str], *, now_ns: int, keep_ids: Iterable[str] = ()) -> list[str]:
    """The names in the events folder that may be deleted.

    Events past the newest :data:`KEEP_NEWEST` and those older than a day go,
    except requests in ``keep_ids`` (pending ones); a marker goes with its
    request; a name hook.sh never writes goes at once. Dot-files (a hook's
    temp file, being written) are the caller's to judge by their age.
    """
    names = list(names)
    keep = set(keep_ids)
    stamped: list[tuple[int, str, str]] = []  # (stamp, name, request id)
    out: list[str] = []
    for name in names:
        if name.startswith("."):
            continue
        got = event_name(name)
        if got is not None:
            stamped.append((got[0], name, f"{got[0]:019d}-{got[1]}"))
        elif marker_name(name) is None:
            out.append(name)
    stamped.sort(reverse=True)
    kept_ids: set[str] = set()
    rank = 0
    for stamp, name, rid in stamped:
        if stamp > now_ns + FUTURE_SLACK_NS:
            out.append(name)
            continue
        old = rank >= KEEP_NEWEST or now_ns - stamp > KEEP_FOR_NS
        rank += 1
        if old and rid not in keep:
            out.append(name)
        else:
            kept_ids.add(rid)
    for name in names:
        marker = marker_name(name)
        if marker is not None and marker[0] not in kept_ids:
            out.append(name)  # its request is gone (or never was)
    return out


# -- what an event says ------------------------------------------------------------------------


def request_of(e: Event) -> dict[str, Any]:
    """The activity's ``request`` for a pending PermissionRequest."""
    return {
        "id": e.id,
        "kind": "permission",
        "tool": e.tool_name,
        "input": cut_strings(dict(e.tool_input or {}), MAX_INPUT_STRING),
        "via": m.VIA_HOOKS,
    }


def request_reason(e: Event) -> str:
    """``"<tool>: <input>"``: the command, the file, the address, or the input as JSON."""
    tool = e.tool_name or "tool"
    tool_input = e.tool_input or {}
    key = _REASON_FIELD.get(tool)
    value = tool_input.get(key) if key else None
    if not isinstance(value, str):
        value = json.dumps(tool_input, separators=(",", ":"), ensure_ascii=False, default=str)
    return shorten(f"{tool}: {value}")


def shorten(text: str, limit: int = MAX_REASON) -> str:
    """One line of at most ``limit`` characters: control characters and runs of
    blanks become one space (the text is the agent's, shown in a terminal)."""
    flat = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def cut_strings(value: Any, limit: int, depth: int = 0) -> Any:
    """``value`` with every string cut to ``limit`` characters (and nesting to _MAX_DEPTH)."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1] + "\u2026"
    if depth >= _MAX_DEPTH and isinstance(value, (dict, list)):
        return None
    if isinstance(value, dict):
        return {str(k)[:limit]: cut_strings(v, limit, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [cut_strings(v, limit, depth + 1) for v in value]
    return value


def _says(e: Event, request: str | None) -> tuple[str, str | None]:
    if e.name == SESSION_START:
        return IDLE, "session started"
    if e.name == SESSION_END:
        return IDLE, "session ended"
    if e.name == USER_PROMPT_SUBMIT:
        return WORKING, None
    if e.name in (PRE_TOOL_USE, POST_TOOL_USE):
        return WORKING, e.tool_name
    if e.name == NOTIFICATION:
        return WAITING, shorten(e.message) if e.message else "notification"
    if e.name == STOP:
        return WAITING, "turn ended"
    # A PermissionRequest that is not open: answered and taken, the tool runs
    # (or Claude carries on after a deny); given up, Claude shows its dialog.
    if request in (EXPIRED, OVER):
        return WAITING, request_reason(e)
    return WORKING, e.tool_name


def _of_run(folder: Folder, since_ns: int, now_ns: int) -> list[Event]:
    return [e for e in folder.events if since_ns <= e.stamp <= now_ns + FUTURE_SLACK_NS]


def _is_open(state: str) -> bool:
    # An answer written but not yet taken still shows: the activity changes
    # when the hook has it (its .taken marker), within its 0.1 s poll.
    return state in (PENDING, ANSWERED)


def _ended(request: Event, later: list[Event]) -> bool:
    for e in later:
        if e.session_id != request.session_id:
            continue
        if e.name in _ENDS_A_DIALOG:
            return True
        if (e.name == POST_TOOL_USE and e.tool_name == request.tool_name
                and e.input_digest == request.input_digest):  # fmt: skip
            return True  # that call ran: not another call of the same tool alongside
    return False

"""Hook events folded into an activity and a request: names and bytes in, no I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hostd.claude import hookevents as he
from tests.hook_events import SESSION, hook_input

T0 = 1_800_000_000 * 10**9  # ns
S = 10**9


def name(stamp: int, event: str, pid: int = 4242) -> str:
    return f"{stamp:019d}-{pid}.{event}.json"


def ev(stamp: int, event: str, pid: int = 4242, **fields: Any) -> tuple[str, bytes]:
    return name(stamp, event, pid), json.dumps(hook_input(event, **fields)).encode()


def fold(
    files: list[tuple[str, bytes]],
    markers: tuple[str, ...] = (),
    answered: tuple[str, ...] = (),
    now: int = T0 + 60 * S,
    since: int = T0,
    **kw: Any,
) -> he.HookState:
    folder = he.read_folder(files, markers, answered)
    return he.fold(folder, since_ns=since, now_ns=now, **kw)


def rid(stamp: int, pid: int = 4242) -> str:
    return f"{stamp:019d}-{pid}"


# -- one event each ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "fields", "state", "reason"),
    [
        ("SessionStart", {}, "idle", "session started"),
        ("UserPromptSubmit", {}, "working", None),
        ("PreToolUse", {"tool_name": "Edit"}, "working", "Edit"),
        ("PostToolUse", {}, "working", "Bash"),
        (
            "Notification",
            {"message": "Claude is waiting for your input", "notification_type": "idle_prompt"},
            "waiting",
            "Claude is waiting for your input",
        ),
        ("Stop", {}, "waiting", "turn ended"),
        ("SessionEnd", {}, "idle", "session ended"),
    ],
)
def test_each_event_says_what_the_agent_does(
    event: str, fields: dict[str, Any], state: str, reason: str | None
) -> None:
    got = fold([ev(T0 + S, event, **fields)])
    assert got.activity is not None
    assert (got.activity.state, got.activity.reason) == (state, reason)
    assert got.activity.since_ns == T0 + S and got.request is None


def test_a_pending_permission_request_is_waiting_with_the_tool_and_its_input() -> None:
    got = fold([ev(T0 + S, "UserPromptSubmit"), ev(T0 + 2 * S, "PreToolUse"),
                ev(T0 + 3 * S, "PermissionRequest")])  # fmt: skip
    act = got.activity
    assert act is not None and act.state == "waiting" and act.reason == "Bash: rm -rf build/"
    assert act.since_ns == T0 + 3 * S
    assert act.request == {
        "id": rid(T0 + 3 * S), "kind": "permission", "tool": "Bash",
        "input": {"command": "rm -rf build/", "description": "Remove the stale build output"},
        "via": "hooks",
    }  # fmt: skip
    assert got.requests == {rid(T0 + 3 * S): he.PENDING}


def test_the_pending_request_wins_over_later_notifications_and_other_tools() -> None:
    got = fold(
        [
            ev(T0 + S, "PermissionRequest"),
            ev(T0 + 2 * S, "Notification"),  # Claude also notifies of the dialog
            ev(T0 + 3 * S, "PostToolUse", tool_name="Read"),
        ]
    )  # a read run alongside
    assert got.request is not None and got.request["id"] == rid(T0 + S)


def test_the_oldest_of_two_pending_requests_is_shown_first() -> None:
    got = fold(
        [
            ev(T0 + S, "PermissionRequest", pid=1),
            ev(
                T0 + 2 * S,
                "PermissionRequest",
                pid=2,
                tool_name="Write",
                tool_input={"file_path": "/x/a.py", "content": "x"},
            ),
        ]
    )
    assert got.request is not None and got.request["id"] == rid(T0 + S, 1)
    second = fold([ev(T0 + S, "PermissionRequest", pid=1), ev(T0 + 2 * S, "PermissionRequest",
                   pid=2, tool_name="Write", tool_input={"file_path": "/x/a.py"})],
                  markers=(f"{rid(T0 + S, 1)}.taken",))  # fmt: skip
    assert second.request is not None and second.request["id"] == rid(T0 + 2 * S, 2)
    assert second.activity is not None and second.activity.reason == "Write: /x/a.py"


@pytest.mark.parametrize(
    ("tool", "tool_input", "reason"),
    [
        ("Bash", {"command": "make test\n  && make lint"}, "Bash: make test && make lint"),
        (
            "Edit",
            {"file_path": "/x/src/app.py", "old_string": "a", "new_string": "b"},
            "Edit: /x/src/app.py",
        ),
        ("Write", {"file_path": "/x/notes.md", "content": "..."}, "Write: /x/notes.md"),
        ("Read", {"file_path": "/etc/hosts"}, "Read: /etc/hosts"),
        (
            "WebFetch",
            {"url": "https://example.org/a", "prompt": "summarise"},
            "WebFetch: https://example.org/a",
        ),
        (
            "mcp__db__query",
            {"sql": "select 1", "limit": 5},
            'mcp__db__query: {"sql":"select 1","limit":5}',
        ),
        ("Bash", {"description": "no command"}, 'Bash: {"description":"no command"}'),
        ("Bash", {"command": "printf '\x1b]0;pwned\x07'"}, "Bash: printf ' ]0;pwned '"),
    ],
)
def test_the_reason_names_the_tool_and_what_it_would_touch(
    tool: str, tool_input: dict[str, Any], reason: str
) -> None:
    got = fold([ev(T0 + S, "PermissionRequest", tool_name=tool, tool_input=tool_input)])
    assert got.activity is not None and got.activity.reason == reason


def test_long_inputs_are_shortened_in_the_reason_and_cut_in_the_request() -> None:
    command = "echo " + "x" * 5000
    got = fold([ev(T0 + S, "PermissionRequest", tool_input={"command": command,
                "nested": {"list": ["y" * 3000]}})])  # fmt: skip
    assert got.activity is not None and got.request is not None
    assert len(got.activity.reason or "") == 200 and got.activity.reason.endswith("\u2026")
    assert len(got.request["input"]["command"]) == 2000
    assert len(got.request["input"]["nested"]["list"][0]) == 2000


# -- when a request is over ---------------------------------------------------------------------


def test_a_taken_answer_ends_the_wait_and_the_tool_runs() -> None:
    r = rid(T0 + S)
    files = [ev(T0 + S, "PermissionRequest")]
    answered = fold(files, answered=(r,))
    assert answered.request is not None  # written, not yet taken: still shown
    assert answered.requests[r] == he.ANSWERED
    taken = fold(files, markers=(f"{r}.taken",), answered=(r,))
    assert taken.activity is not None and taken.request is None
    assert (taken.activity.state, taken.activity.reason) == ("working", "Bash")
    assert he.request_state(he.read_folder(files, (f"{r}.taken",)), r, since_ns=T0,
                            now_ns=T0 + 2 * S) == he.ANSWERED  # fmt: skip


def test_an_expired_request_still_waits_but_without_a_request_to_answer_by_hook() -> None:
    r = rid(T0 + S)
    got = fold([ev(T0 + S, "PermissionRequest")], markers=(f"{r}.expired",))
    assert got.activity is not None and got.activity.state == "waiting"
    assert got.activity.reason == "Bash: rm -rf build/" and got.activity.expired
    assert got.request is None and got.requests[r] == he.EXPIRED


@pytest.mark.parametrize("later", ["UserPromptSubmit", "Stop", "SessionEnd", "PostToolUse"])
def test_a_later_event_of_the_same_session_says_the_dialog_is_over(later: str) -> None:
    r = rid(T0 + S)
    got = fold([ev(T0 + S, "PermissionRequest"), ev(T0 + 2 * S, later)])
    assert got.requests[r] == he.OVER and got.request is None
    other = fold([ev(T0 + S, "PermissionRequest"), ev(T0 + 2 * S, later, session="other")])
    assert other.requests[r] == he.PENDING  # another session's (a second claude) is not


def test_a_request_is_over_when_the_sandbox_stops_or_its_hook_has_timed_out() -> None:
    r = rid(T0 + S)
    files = [ev(T0 + S, "PermissionRequest")]
    assert fold(files, running=False).requests[r] == he.OVER
    late = fold(files, now=T0 + 700 * S, expire_after_ns=635 * S)
    assert late.requests[r] == he.EXPIRED and late.request is None
    assert fold(files, now=T0 + 600 * S, expire_after_ns=635 * S).requests[r] == he.PENDING


def test_unknown_requests_and_those_of_an_earlier_run() -> None:
    files = [ev(T0 - S, "PermissionRequest")]  # before this run's start
    folder = he.read_folder(files)
    assert he.request_state(folder, rid(T0 - S), since_ns=T0, now_ns=T0 + S) == he.UNKNOWN
    assert he.request_state(folder, rid(T0 + 5), since_ns=T0, now_ns=T0 + S) == he.UNKNOWN
    assert fold(files).activity is None  # nothing of this run: the pane is the witness


def test_since_is_the_first_of_the_events_in_a_row_that_say_the_same() -> None:
    got = fold([ev(T0 + S, "Stop"), ev(T0 + 2 * S, "UserPromptSubmit"),
                ev(T0 + 3 * S, "PreToolUse"), ev(T0 + 4 * S, "PreToolUse"),
                ev(T0 + 5 * S, "PostToolUse")])  # fmt: skip
    assert got.activity is not None and got.activity.reason == "Bash"
    assert got.activity.since_ns == T0 + 3 * S and got.last_stamp == T0 + 5 * S


# -- hostile and malformed files -------------------------------------------------------------------


GOOD = json.dumps(hook_input("Stop")).encode()


@pytest.mark.parametrize(
    ("file_name", "data"),
    [
        (name(T0 + S, "Stop"), b"x" * 65537),  # over hook.sh's cap
        (name(T0 + S, "Stop"), b"{" + b" " * 65535 + b"}" + b" "),
        (name(T0 + S, "Stop"), b"not json"),
        (name(T0 + S, "Stop"), b"\xff\xfe{}"),  # not UTF-8
        (name(T0 + S, "Stop"), b"[1, 2, 3]"),  # not an object
        (name(T0 + S, "Stop"), b'"Stop"'),
        (name(T0 + S, "Stop"), b"[" * 100_000),  # nested past the parser's depth
        (name(T0 + S, "Stop"), json.dumps(hook_input("SessionEnd")).encode()),  # name mismatch
        (name(T0 + S, "Stop"), json.dumps({"session_id": SESSION}).encode()),  # no event name
        (name(T0 + S, "Stop"), json.dumps(hook_input("Stop", session_id=7)).encode()),
        (
            name(T0 + S, "Notification"),
            json.dumps(hook_input("Notification", message=["a"])).encode(),
        ),
        (
            name(T0 + S, "PermissionRequest"),
            json.dumps(hook_input("PermissionRequest", tool_input="rm -rf /")).encode(),
        ),
        (
            name(T0 + S, "PermissionRequest"),
            json.dumps(hook_input("PermissionRequest", tool_name=None)).encode(),
        ),
        (name(T0 + S, "PreToolUse"), json.dumps(hook_input("PreToolUse", tool_name=3)).encode()),
        (f"{T0 + S:019d}-1.Stop.json.bak", GOOD),  # not a name hook.sh writes
        (f"{T0 + S}-1.Stop.json"[1:], GOOD),  # 18 digits
        (f"{T0 + S:019d}-1.Evil.json", GOOD),
        (f"../{T0 + S:019d}-1.Stop.json", GOOD),
    ],
)
def test_a_malformed_or_hostile_file_is_ignored(file_name: str, data: bytes) -> None:
    before = [ev(T0, "UserPromptSubmit")]
    got = fold([*before, (file_name, data)])
    assert got.activity is not None and got.activity.state == "working"
    assert got.requests == {}


def test_a_stamp_from_the_future_cannot_stay_latest_for_ever() -> None:
    future = T0 + 10**6 * S
    got = fold([ev(T0 + S, "Stop"), ev(future, "UserPromptSubmit")], now=T0 + 2 * S)
    assert got.activity is not None and got.activity.reason == "turn ended"
    assert name(future, "UserPromptSubmit") in got.prune


# -- pruning -------------------------------------------------------------------------------


def test_the_newest_200_are_kept_and_nothing_older_than_a_day_unless_pending() -> None:
    now = T0 + 3 * 86_400 * S
    old_request = ev(T0, "PermissionRequest", pid=1)  # still pending after 3 days
    answered_old = ev(T0 + S, "PermissionRequest", pid=2)
    recent = [ev(now - 300 * S + i * S, "PreToolUse", pid=10 + i) for i in range(250)]
    markers = (f"{rid(T0 + S, 2)}.taken", f"{rid(T0 + 2 * S, 3)}.expired")  # the last: orphan
    strangers = ("notes.txt", ".tmp-123-4")
    got = fold([old_request, answered_old, *recent], markers=(*markers, *strangers), now=now,
               expire_after_ns=None)  # fmt: skip
    pruned = set(got.prune)
    assert old_request[0] not in pruned  # pending: kept however old
    assert answered_old[0] in pruned and markers[0] in pruned and markers[1] in pruned
    assert {n for n, _ in recent[:50]} <= pruned
    assert not {n for n, _ in recent[50:]} & pruned
    assert "notes.txt" in pruned and ".tmp-123-4" not in pruned  # dot-files: by age, elsewhere


def test_another_call_of_the_same_tool_finishing_leaves_the_request_open() -> None:
    """Claude runs a Bash `ls` alongside the Bash call that waits for the person:
    the `ls` finishing is not the end of the dialog; the waiting call's is."""
    files = [ev(T0 + S, "PermissionRequest")]
    ls = {"tool_name": "Bash", "tool_input": {"command": "ls", "description": "List"}}
    files.append(ev(T0 + 2 * S, "PostToolUse", **ls))
    state = fold(files)
    assert state.activity is not None and state.activity.request is not None
    assert state.requests[rid(T0 + S)] == he.PENDING
    files.append(ev(T0 + 3 * S, "PostToolUse"))  # the rm itself ran (answered in the terminal)
    assert fold(files).requests[rid(T0 + S)] == he.OVER


def test_a_folder_of_thousands_of_requests_is_read_by_its_newest(tmp_path: Any) -> None:
    """An agent may fill its events folder: only the newest events are parsed,
    and a name that cannot be pruned changes nothing."""
    from hostd.claude.hookdir import HookDir

    hooks = tmp_path / "hooks"
    events = hooks / "events"
    events.mkdir(parents=True)
    (hooks / "answers").mkdir()
    for i in range(3000):
        n, data = ev(T0 + i * 1000, "PermissionRequest", session=f"s{i}")
        (events / n).write_bytes(data)
    (events / "junk").mkdir()  # not a name hook.sh writes, and not removable by unlink
    hd = HookDir(hooks, expire_after_s=3600)
    now = T0 + 10 * S
    state = hd.fold(since_ns=T0, running=True, now_ns=now)
    assert len(hd._parsed) <= he.KEEP_NEWEST  # the test reaches in: what was parsed
    assert state.activity is not None and state.activity.request is not None
    assert len(list(events.iterdir())) <= he.KEEP_NEWEST + 1  # the older ones pruned
    second = hd.fold(since_ns=T0, running=True, now_ns=now + 1000)
    assert second.prune == ("junk",)  # it cannot go (a folder); the fold stays the same
    assert hd.fold(since_ns=T0, running=True, now_ns=now + 2000) == second

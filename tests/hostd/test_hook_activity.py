"""Hook events to activity, pushes and answers, through real hostd processes.

Real hostd, real tmux (backend ``none``). The hook events are written into
the sandbox's ``run/<id>/hooks/events/`` byte for byte as hooks/hook.sh
writes them (tests/hook_events.py), so hostd's side is tested on its own;
the folders are made here when hostd has not made them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hostd.protocol import Notification
from tests.helpers import Hostd, wait_for
from tests.hook_events import HookWriter

SHORT_S = 3.0  # a push "at once" comes well within this, on a loaded machine too
ASKED = ("waiting", "hooks", "Bash: rm -rf build/")  # state, source, reason
YES_NO = "sh -c \"read -p '[y/N] ' x; echo got:$x; exec sleep 3600\""


def hooks_of(state_dir: Path, sb: dict[str, Any]) -> HookWriter:
    return HookWriter(state_dir / "run" / sb["id"] / "hooks").make_dirs()


def create(hd: Hostd, project: Path, name: str = "c1", agent: str = "claude") -> dict[str, Any]:
    sb: dict[str, Any] = hd.call("sandbox.create", name=name, backend="none",
                                 project_dir=str(project), agent=agent)  # fmt: skip
    return sb


def activity_push(
    sid: str, pred: Callable[[dict[str, Any]], bool]
) -> Callable[[Notification], bool]:
    def match(n: Notification) -> bool:
        if n.method != "sandbox.changed" or n.params["sandbox"]["id"] != sid:
            return False
        return pred(n.params["sandbox"]["activity"] or {})

    return match


def activity(hd: Hostd, ref: str) -> dict[str, Any]:
    act: dict[str, Any] = hd.call("sandbox.metrics", id=ref)["activity"]
    return act


def pane_text(hd: Hostd, ref: str) -> str:
    text: str = hd.call("sandbox.pane", id=ref)["text"]
    return text


# -- pushes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("topics", [["sandboxes"], ["metrics"]])
def test_a_permission_request_is_pushed_at_once_with_its_tool_and_input(
    hostd: Hostd, state_dir: Path, project: Path, topics: list[str]
) -> None:
    sb = create(hostd, project)
    hooks = hooks_of(state_dir, sb)
    # metrics at its slowest: what comes, comes by the hook watch, not the tick.
    hostd.call("subscribe", topics=topics, **({"metrics": {"interval_s": 3600}}
                                               if "metrics" in topics else {}))  # fmt: skip
    hooks.write("SessionStart")
    hostd.wait_notification(activity_push(sb["id"], lambda a: a.get("reason") == "session started"))
    latencies = []
    for i in range(5):
        hooks.write("UserPromptSubmit")
        hostd.wait_notification(activity_push(sb["id"], lambda a: a.get("state") == "working"))
        t0 = time.monotonic()
        rid = hooks.write("PermissionRequest", tool_input={"command": f"rm -rf build{i}/"})
        note = hostd.wait_notification(
            activity_push(sb["id"], lambda a, rid=rid: (a.get("request") or {}).get("id") == rid),
            timeout=SHORT_S,
        )
        latencies.append(time.monotonic() - t0)
        act = note.params["sandbox"]["activity"]
        assert act["state"] == "waiting" and act["source"] == "hooks"
        assert act["reason"] == f"Bash: rm -rf build{i}/"
        assert act["request"] == {
            "id": rid, "kind": "permission", "tool": "Bash", "via": "hooks",
            "input": {"command": f"rm -rf build{i}/"},
        }  # fmt: skip
        hooks.expire(rid)
    print(f"event file to sandbox.changed: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")  # fmt: skip
    assert max(latencies) < 1.0


def test_a_taken_answer_is_pushed_as_the_end_of_the_wait(
    hostd: Hostd, state_dir: Path, project: Path
) -> None:
    sb = create(hostd, project)
    hooks = hooks_of(state_dir, sb)
    hostd.call("subscribe", topics=["sandboxes"])
    rid = hooks.write("PermissionRequest")
    hostd.wait_notification(activity_push(sb["id"], lambda a: a.get("request") is not None))
    got = hostd.call("sandbox.answer", id="c1", request=rid, decision="allow")
    assert got == {"id": sb["id"], "request": rid, "decision": "allow", "via": "hooks"}
    # Written, not yet taken: still shown (the hook takes it within 0.1 s).
    assert hostd.call("sandbox.get", id="c1")["activity"]["request"]["id"] == rid
    assert '"behavior": "allow"' in hooks.take(rid)
    note = hostd.wait_notification(activity_push(sb["id"], lambda a: a.get("state") == "working"))
    assert note.params["sandbox"]["activity"]["request"] is None


# -- answering -------------------------------------------------------------------------------


def test_answers_to_requests_that_are_not_pending_are_refused_and_change_nothing(
    hostd: Hostd, state_dir: Path, project: Path
) -> None:
    sb = create(hostd, project)
    hooks = hooks_of(state_dir, sb)

    def refused(request: str, state: str, decision: str = "deny") -> None:
        err = hostd.error("sandbox.answer", id="c1", request=request, decision=decision)
        assert err.code == -32003 and err.data["state"] == state, err

    answered = hooks.write("PermissionRequest")
    hostd.call("sandbox.answer", id="c1", request=answered, decision="deny",
               message="use build/tmp instead")  # fmt: skip
    refused(answered, "answered", "allow")
    assert hooks.answer(answered)["hookSpecificOutput"]["decision"] == {  # type: ignore[index]
        "behavior": "deny", "message": "use build/tmp instead"}  # fmt: skip
    hooks.take(answered)
    refused(answered, "answered")
    expired = hooks.write("PermissionRequest")
    hooks.expire(expired)
    refused(expired, "expired")
    over = hooks.write("PermissionRequest")
    hooks.write("Stop")
    refused(over, "over")
    refused("1800000000000000000-1", "unknown")
    refused("not-an-id", "unknown")
    refused("pane-0123456789ab", "over")  # the pane shows no such prompt
    assert sorted(p.name for p in hooks.answers.iterdir()) == [f"{answered}.json"]
    # And once stopped, nothing is pending.
    late = hooks.write("PermissionRequest")
    hostd.call("sandbox.stop", id="c1")
    refused(late, "over")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "allow", "message": "why not"}, "message"),
        ({"decision": "deny", "message": "x" * 2001}, "message"),
        ({"decision": "deny", "request": ""}, "request"),
        ({"decision": 1}, "decision"),
        ({"decision": "allow", "id": ""}, "id"),
    ],
)
def test_bad_answers_are_invalid_params(hostd: Hostd, params: dict[str, Any], field: str) -> None:
    err = hostd.error("sandbox.answer", **{"id": "nosuch", "request": "1-1", **params})
    assert err.code == -32602 and err.data == {"field": field}, err


def test_two_hostds_answering_at_once_the_first_wins_and_the_second_is_told(
    hostd_factory: Callable[..., Hostd], state_dir: Path, project: Path
) -> None:
    a, b = hostd_factory(), hostd_factory()
    sb = create(a, project)
    hooks = hooks_of(state_dir, sb)
    for i in range(5):
        rid = hooks.write("PermissionRequest")
        ids = [h.request("sandbox.answer", {"id": "c1", "request": rid, "decision": d})
               for h, d in ((a, "allow"), (b, "deny"))]  # fmt: skip
        replies = [h.reply(i) for h, i in zip((a, b), ids, strict=True)]
        ok = [r for r in replies if r.error is None]
        told = [r for r in replies if r.error is not None]
        assert len(ok) == 1 and len(told) == 1, replies
        assert told[0].error.code == -32003 and told[0].error.data["state"] == "answered"  # type: ignore[union-attr]
        written = hooks.answer(rid)["hookSpecificOutput"]["decision"]["behavior"]  # type: ignore[index]
        assert written == ok[0].result["decision"]
        hooks.take(rid)


def test_without_hooks_a_y_n_question_is_answered_with_its_keys(
    hostd: Hostd, project: Path
) -> None:
    create(hostd, project, "yn", YES_NO)
    act = wait_for(lambda: (a := activity(hostd, "yn"))["state"] == "waiting" and a,
                   interval=0.5, what="the question")  # fmt: skip
    assert act["source"] == "pane" and act["reason"] == "[y/N]"
    request = act["request"]
    assert request["kind"] == "question" and request["via"] == "keys"
    assert request["id"].startswith("pane-") and len(request["id"]) == 17
    got = hostd.call("sandbox.answer", id="yn", request=request["id"], decision="deny")
    assert got["via"] == "keys"
    wait_for(lambda: "got:n" in pane_text(hostd, "yn"), what="the answer to reach the agent")
    err = hostd.error("sandbox.answer", id="yn", request=request["id"], decision="allow")
    assert err.code == -32003 and err.data["state"] == "over"  # the screen moved on
    assert "got:y" not in pane_text(hostd, "yn")


def stub_result(project: Path) -> str:
    path = project / "stub-result"
    return path.read_text().strip() if path.exists() else ""


@pytest.mark.parametrize(
    ("decision", "message", "result"),
    [("allow", None, "allowed"), ("deny", "not the build folder", "denied: not the build folder")],
)
def test_the_stub_claude_asks_through_its_hook_and_gets_the_answer(
    hostd: Hostd, project: Path, decision: str, message: str | None, result: str
) -> None:
    hostd.call("subscribe", topics=["sandboxes"])
    t0 = time.monotonic()
    sb = create(hostd, project, "asks", "claude --stub-permission 'rm -rf build/'")
    note = hostd.wait_notification(activity_push(sb["id"], lambda a: a.get("request") is not None))
    print(f"stub start to the request pushed: {(time.monotonic() - t0) * 1000:.0f} ms")
    act = note.params["sandbox"]["activity"]
    assert (act["state"], act["source"], act["reason"]) == (
        "waiting",
        "hooks",
        "Bash: rm -rf build/",
    )
    request = act["request"]
    assert (request["tool"], request["via"]) == ("Bash", "hooks")
    assert request["input"]["command"] == "rm -rf build/"
    got = hostd.call("sandbox.answer", id="asks", request=request["id"], decision=decision,
                     **({"message": message} if message else {}))  # fmt: skip
    assert got["via"] == "hooks"
    wait_for(lambda: stub_result(project) == result, what="the stub to act on the answer")
    # It carries on and ends its turn: Stop is the last event.
    hostd.wait_notification(activity_push(sb["id"], lambda a: a.get("reason") == "turn ended"))
    err = hostd.error("sandbox.answer", id="asks", request=request["id"], decision="allow")
    assert err.code == -32003 and err.data["state"] in ("answered", "over")


def test_when_the_hook_gives_up_the_dialog_on_screen_is_answered_with_its_keys(
    hostd_factory: Callable[..., Hostd], project: Path
) -> None:
    hd = hostd_factory(env={"CLAUDE_SANDBOX_ANSWER_TIMEOUT_S": "1"})
    create(hd, project, "asks", "claude --stub-permission 'rm -rf build/'")
    act = wait_for(
        lambda: (a := activity(hd, "asks"))["request"] and a["request"]["via"] == "keys" and a,
        interval=0.3, what="the dialog after the hook gave up",
    )  # fmt: skip
    assert (act["state"], act["source"], act["reason"]) == (
        "waiting",
        "hooks",
        "Bash: rm -rf build/",
    )
    assert act["request"]["kind"] == "permission" and act["request"]["id"].startswith("pane-")
    hd.call("sandbox.answer", id="asks", request=act["request"]["id"], decision="allow")
    wait_for(lambda: stub_result(project) == "allowed (from the dialog)", what="the stub's answer")


def test_without_hooks_a_claude_dialog_is_refused_with_escape(hostd: Hostd, project: Path) -> None:
    create(hostd, project, "asks", "claude --stub-dialog")  # a Claude Code whose hooks do not run
    act = wait_for(lambda: (a := activity(hostd, "asks"))["state"] == "waiting" and a,
                   interval=0.5, what="the dialog")  # fmt: skip
    assert act["reason"] == "Do you want to proceed?" and act["source"] == "pane"
    assert act["request"]["kind"] == "permission" and act["request"]["via"] == "keys"
    hostd.call("sandbox.answer", id="asks", request=act["request"]["id"], decision="deny")
    # This stub reads a line: the terminal echoes the Escape it got.
    wait_for(lambda: "^[" in pane_text(hostd, "asks"), what="Escape to reach the dialog")


def test_a_hook_that_gave_up_leaves_the_dialog_on_screen_to_answer_with_keys(
    hostd: Hostd, state_dir: Path, project: Path
) -> None:
    sb = create(hostd, project, "asks", "claude --stub-dialog")
    hooks = hooks_of(state_dir, sb)
    rid = hooks.write("PermissionRequest")
    assert activity(hostd, "asks")["request"]["via"] == "hooks"
    hooks.expire(rid)  # Claude Code shows its own dialog (the stub has all along)
    act = activity(hostd, "asks")
    assert act["source"] == "hooks" and act["reason"] == "Bash: rm -rf build/"
    assert act["request"]["via"] == "keys" and act["request"]["id"].startswith("pane-")


# -- one truth ---------------------------------------------------------------------------------


def test_a_new_hostd_says_what_the_watching_one_says_of_a_pane(
    hostd: Hostd, hostd_factory: Callable[..., Hostd], project: Path
) -> None:
    sb = create(hostd, project, "yn", YES_NO)
    hostd.call("subscribe", topics=["metrics"], metrics={"interval_s": 1})
    note = hostd.wait_notification(
        lambda n: (
            n.method == "metrics"
            and (n.params["sandboxes"].get(sb["id"], {}).get("activity") or {}).get("state")
            == "waiting"
        )
    )
    watching = note.params["sandboxes"][sb["id"]]["activity"]
    fresh = hostd_factory()
    assert fresh.call("sandbox.metrics", id="yn")["activity"] == watching
    other = hostd_factory()  # one that does not look itself
    assert other.call("sandbox.get", id="yn")["activity"] == watching
    assert other.call("sandbox.list")[0]["activity"] == watching


def test_a_new_hostd_says_what_the_hooks_say(
    hostd: Hostd, hostd_factory: Callable[..., Hostd], state_dir: Path, project: Path
) -> None:
    sb = create(hostd, project)
    hooks = hooks_of(state_dir, sb)
    hooks.write("UserPromptSubmit")
    edit = {"file_path": str(project / "a.py"), "old_string": "a", "new_string": "b"}
    rid = hooks.write("PermissionRequest", tool_name="Edit", tool_input=edit)
    seen = activity(hostd, "c1")
    assert seen["request"]["id"] == rid and seen["reason"] == f"Edit: {project / 'a.py'}"
    fresh = hostd_factory()
    assert fresh.call("sandbox.metrics", id="c1")["activity"] == seen
    assert fresh.call("sandbox.get", id="c1")["activity"] == seen


def test_hooks_are_the_truth_only_for_the_current_run(
    hostd: Hostd, state_dir: Path, project: Path
) -> None:
    sb = create(hostd, project)
    hooks = hooks_of(state_dir, sb)
    assert activity(hostd, "c1")["source"] in ("pane", "session")  # no hook event yet
    hooks.write("Stop")
    assert activity(hostd, "c1")["source"] == "hooks"
    hostd.call("sandbox.stop", id="c1")
    assert activity(hostd, "c1") == {"state": "exited", "reason": "stopped", "since": None,
                                     "source": "process", "request": None}  # fmt: skip
    hostd.call("sandbox.start", id="c1")
    hooks.make_dirs()  # (hostd may have made them anew)
    assert activity(hostd, "c1")["source"] in ("pane", "session")  # the Stop was the last run's


def test_malformed_and_hostile_event_files_change_nothing_and_crash_nothing(
    hostd: Hostd, state_dir: Path, project: Path, short_tmp: Path
) -> None:
    sb = create(hostd, project)
    hooks = hooks_of(state_dir, sb)
    hostd.call("subscribe", topics=["sandboxes", "metrics"], metrics={"interval_s": 1})
    hooks.write("UserPromptSubmit")
    hostd.wait_notification(activity_push(sb["id"], lambda a: a.get("source") == "hooks"))
    before = activity(hostd, "c1")
    stamp = time.time_ns()
    secret = short_tmp / "secret.json"
    secret.write_text('{"hook_event_name": "Stop"}')
    os.symlink(secret, hooks.events / f"{stamp:019d}-1.Stop.json")
    os.mkfifo(hooks.events / f"{stamp + 1:019d}-2.Stop.json")
    (hooks.events / f"{stamp + 2:019d}-3.Stop.json").mkdir()
    hooks.write("Stop", stamp=stamp + 3, raw=b'{"hook_event_name": "Stop", "x": "' + b"y" * 70000)
    hooks.write("Stop", stamp=stamp + 4, raw=b"\x00\xff not json")
    hooks.write("Stop", stamp=stamp + 5, raw=b'{"hook_event_name": "SessionEnd"}')
    hooks.write("Notification", stamp=stamp + 6, raw=b'{"hook_event_name": "Notification", '
                b'"message": {"$ne": 1}}')  # fmt: skip
    hooks.write("PermissionRequest", stamp=stamp + 7, raw=b"[" * 200_000)
    big = b'{"hook_event_name": "Stop", "x": "' + b"y" * 70000 + b'"}'  # valid, too large
    hooks.write("Stop", stamp=stamp + 8, raw=big)
    # A name hook.sh never writes is pruned at once: when it is gone, hostd has
    # folded the folder with all the garbage above in it.
    junk = hooks.events / "junk.txt"
    junk.write_text("x")
    wait_for(lambda: not junk.exists(), what="hostd to fold the folder")
    assert secret.read_text() == '{"hook_event_name": "Stop"}'  # a link's target untouched
    assert activity(hostd, "c1") == before
    assert hostd.call("sandbox.get", id="c1")["activity"] == before
    assert "Traceback" not in hostd.stderr_text and hostd.proc.poll() is None


def test_a_sandbox_without_a_hooks_folder_is_read_from_its_pane(
    hostd: Hostd, state_dir: Path, project: Path
) -> None:
    sb = create(hostd, project)
    hooks = state_dir / "run" / sb["id"] / "hooks"
    shutil.rmtree(hooks, ignore_errors=True)  # an older hostd's sandbox, or not Claude Code
    hostd.call("subscribe", topics=["sandboxes"])
    act = activity(hostd, "c1")
    assert act["source"] in ("pane", "session") and act["request"] is None
    assert "Traceback" not in hostd.stderr_text


# -- the watch's lifetime ----------------------------------------------------------------------


def inotify_watches(pid: int) -> list[int]:
    """The inodes each of the process's inotify descriptors watches, all together."""
    inodes = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                if line.startswith("inotify wd:"):
                    inodes.append(int(line.split("ino:")[1].split()[0], 16))
    return inodes


def inotify_fds(pid: int) -> int:
    """How many inotify descriptors the process holds (the watch's thread closes
    its own as its last act)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify"
    return count


def test_the_watch_lives_while_someone_listens_and_the_sandbox_runs(
    hostd: Hostd, state_dir: Path, project: Path
) -> None:
    sb = create(hostd, project)
    events = hooks_of(state_dir, sb).events
    ino = events.stat().st_ino
    pid = hostd.proc.pid
    assert ino not in inotify_watches(pid)
    hostd.call("subscribe", topics=["sandboxes", "metrics"], metrics={"interval_s": 60})
    wait_for(lambda: ino in inotify_watches(pid), what="the events folder to be watched")
    assert inotify_fds(pid) == 1
    hostd.call("unsubscribe", topics=["sandboxes"])
    assert ino in inotify_watches(pid)  # metrics still listens
    hostd.call("unsubscribe", topics=["metrics"])
    wait_for(lambda: not inotify_watches(pid), what="the watch to end")
    wait_for(lambda: inotify_fds(pid) == 0, what="its thread to end")
    hostd.call("subscribe", topics=["sandboxes"])
    wait_for(lambda: ino in inotify_watches(pid), what="the folder to be watched again")
    hostd.call("sandbox.stop", id="c1")
    wait_for(lambda: ino not in inotify_watches(pid), what="a stopped sandbox's folder let go")
    assert inotify_watches(pid) == [] and inotify_fds(pid) == 1  # listening still
    hostd.call("unsubscribe", topics=["sandboxes"])
    wait_for(lambda: inotify_fds(pid) == 0, what="the watch to end")

"""A sandbox's hooks folder on disk: reading it as a stranger's, pruning, answers."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from hostd.claude import hookdir
from hostd.claude import hookevents as he
from hostd.claude.hookdir import AlreadyAnswered, HookDir, write_answer
from hostd.observe.hookwatch import HookWatch
from tests.hook_events import HookWriter

S = 10**9


@pytest.fixture
def hooks(tmp_path: Path) -> HookWriter:
    return HookWriter(tmp_path / "hooks").make_dirs()


def since() -> int:
    return time.time_ns() - 60 * S


def test_a_missing_folder_is_no_events(tmp_path: Path) -> None:
    state = HookDir(tmp_path / "nowhere").fold(since_ns=since(), running=True)
    assert state.activity is None and state.requests == {}


def test_events_are_read_and_a_request_found(hooks: HookWriter) -> None:
    hd = HookDir(hooks.hooks)
    hooks.write("UserPromptSubmit")
    assert hd.fold(since_ns=since(), running=True).activity.state == "working"  # type: ignore[union-attr]
    r = hooks.write("PermissionRequest")
    state = hd.fold(since_ns=since(), running=True)
    assert state.request is not None and state.request["id"] == r
    assert hd.request_state(r, since_ns=since(), running=True) == he.PENDING


def test_links_fifos_folders_and_huge_files_are_never_read(hooks: HookWriter, tmp_path: Path
                                                           ) -> None:  # fmt: skip
    secret = tmp_path / "id_rsa"
    secret.write_text(json.dumps({"hook_event_name": "Stop", "secret": "PRIVATE KEY"}))
    stamp = time.time_ns()
    os.symlink(secret, hooks.events / f"{stamp:019d}-1.Stop.json")
    os.mkfifo(hooks.events / f"{stamp + 1:019d}-2.Stop.json")  # opening it must not block
    (hooks.events / f"{stamp + 2:019d}-3.Stop.json").mkdir()
    with open(hooks.events / f"{stamp + 3:019d}-4.Stop.json", "wb") as f:
        f.truncate(1 << 30)  # a sparse gigabyte: not read
    hooks.write("UserPromptSubmit", stamp=stamp - 1)
    state = HookDir(hooks.hooks).fold(since_ns=since(), running=True)
    assert state.activity is not None and state.activity.state == "working"


def test_a_file_rewritten_under_its_name_is_ignored_from_then_on(hooks: HookWriter) -> None:
    hd = HookDir(hooks.hooks)
    r = hooks.write("PermissionRequest")
    assert hd.fold(since_ns=since(), running=True).request is not None
    # Something in the sandbox swaps the request for a harmless-looking one.
    forged = hooks.events / ".forged"
    forged.write_text(json.dumps({"hook_event_name": "PermissionRequest", "tool_name": "Bash",
                                  "tool_input": {"command": "ls"}}))  # fmt: skip
    os.rename(forged, hooks.name(r, "PermissionRequest"))
    state = hd.fold(since_ns=since(), running=True)
    assert state.request is None
    assert hd.request_state(r, since_ns=since(), running=True) == he.UNKNOWN


def test_pruning_deletes_what_may_go(hooks: HookWriter) -> None:
    now = time.time_ns()
    old = now - 2 * 86_400 * S
    kept = hooks.write("PermissionRequest", stamp=old, pid=1)  # still pending
    gone = hooks.write("PermissionRequest", stamp=old + S, pid=2)
    hooks.answers.joinpath(f"{gone}.json").write_text("{}")
    hooks.take(gone)
    hooks.events.joinpath("junk").write_text("x")
    tmp = hooks.events / ".tmp-1-2"
    tmp.write_text("x")
    os.utime(tmp, ns=(old, old))
    fresh = hooks.events / ".tmp-3-4"
    fresh.write_text("x")
    HookDir(hooks.hooks, expire_after_s=10**9).fold(since_ns=0, running=True, now_ns=now)
    left = sorted(p.name for p in hooks.events.iterdir())
    assert left == [".tmp-3-4", f"{kept}.PermissionRequest.json"]
    assert list(hooks.answers.iterdir()) == []


def test_an_answer_is_claude_codes_decision_output_and_the_first_one_wins(
    hooks: HookWriter,
) -> None:
    r = hooks.write("PermissionRequest")
    write_answer(hooks.hooks, r, "deny", "use the tmp folder")
    assert hooks.answer(r) == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
        "decision": {"behavior": "deny", "message": "use the tmp folder"}}}  # fmt: skip
    with pytest.raises(AlreadyAnswered):
        write_answer(hooks.hooks, r, "allow")
    assert hooks.answer(r)["hookSpecificOutput"]["decision"]["behavior"] == "deny"  # type: ignore[index]
    assert [p.name for p in hooks.answers.iterdir()] == [f"{r}.json"]  # no temp file left
    r2 = hooks.write("PermissionRequest")
    write_answer(hooks.hooks, r2, "allow")
    assert (hooks.answers / f"{r2}.json").read_bytes() == (
        b'{"hookSpecificOutput": {"hookEventName": "PermissionRequest", '
        b'"decision": {"behavior": "allow"}}}\n'
    )
    write_answer(hooks.hooks, r3 := hooks.write("PermissionRequest"), "deny")
    assert hooks.answer(r3)["hookSpecificOutput"]["decision"]["message"] == (  # type: ignore[index]
        hookdir.DENY_MESSAGE
    )


def test_of_many_answers_at_once_exactly_one_is_written(hooks: HookWriter) -> None:
    r = hooks.write("PermissionRequest")
    results: list[str] = []
    barrier = threading.Barrier(8)

    def answer(i: int) -> None:
        barrier.wait()
        try:
            write_answer(hooks.hooks, r, "deny", f"answer {i}")
            results.append(f"won {i}")
        except AlreadyAnswered:
            results.append("told")

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [x for x in results if x.startswith("won")]
    assert len(won) == 1 and results.count("told") == 7
    message = hooks.answer(r)["hookSpecificOutput"]["decision"]["message"]  # type: ignore[index]
    assert won[0] == f"won {message.split()[1]}"


@pytest.mark.parametrize("bad", ["../../etc/passwd", "123", "pane-abc", ""])
def test_an_answer_is_written_only_under_a_request_id(hooks: HookWriter, bad: str) -> None:
    with pytest.raises(ValueError):
        write_answer(hooks.hooks, bad, "allow")


# -- the watch on the folders ----------------------------------------------------------------


def test_the_hook_watch_calls_back_once_per_burst_and_not_for_temp_files(
    hooks: HookWriter, tmp_path: Path
) -> None:
    calls: list[float] = []
    called = threading.Event()

    def changed() -> None:
        calls.append(time.monotonic())
        called.set()

    watch = HookWatch(changed)
    watch.start()
    try:
        other = HookWriter(tmp_path / "other").make_dirs()
        watch.watch({hooks.events, other.events, tmp_path / "not-there"})
        assert watch.watched == {hooks.events, other.events}
        (hooks.events / ".tmp-1-2").write_text("x")  # a hook still writing
        assert not called.wait(0.3)
        t0 = time.monotonic()
        rid = hooks.write("PermissionRequest")
        hooks.expire(rid)
        other.write("Stop")
        assert called.wait(2.0)
        assert calls[0] - t0 < 0.5
        called.clear()
        assert not called.wait(0.2)  # no second call for the same burst
        assert len(calls) == 1  # the three names came as one burst
        watch.watch({other.events})  # the first sandbox stopped
        assert watch.watched == {other.events}
        called.clear()
        hooks.write("Stop")
        assert not called.wait(0.3)
    finally:
        watch.stop()
        watch.join(5)
    assert not watch.running
    assert watch.watched == set()

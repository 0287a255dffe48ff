"""Concurrency, kills, missing tools and broken state: nothing lost, nothing leaked."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import Hostd, processes_mentioning, wait_for

SLEEPER = "sleep 600"


def sandbox_params(project: Path, name: str, **kw: object) -> dict:
    return {"name": name, "backend": "none", "project_dir": str(project), "agent": SLEEPER, **kw}


def path_without(tool: str, where: Path) -> str:
    """A PATH holding everything on the real PATH except ``tool``."""
    where.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            link = where / name
            if name != tool and not link.exists():
                link.symlink_to(os.path.join(d, name))
    return str(where)


def wrapper(where: Path, name: str, script: str) -> str:
    """A directory holding an executable ``name`` with ``script``, to put first on PATH."""
    where.mkdir(exist_ok=True)
    path = where / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return f"{where}{os.pathsep}{os.environ['PATH']}"


def test_two_hostds_creating_at_once_lose_nothing(hostd_factory, project: Path) -> None:
    a, b = hostd_factory(), hostd_factory()
    ids: dict[str, list[int]] = {"a": [], "b": []}
    for i in range(10):
        ids["a"].append(
            a.request("sandbox.create", sandbox_params(project, f"a{i}", geometry="320x240"))
        )
        ids["b"].append(
            b.request("sandbox.create", sandbox_params(project, f"b{i}", geometry="320x240"))
        )
    for h, key in ((a, "a"), (b, "b")):
        for rid in ids[key]:
            reply = h.reply(rid, timeout=120)
            assert reply.error is None, reply.error
    listed = a.call("sandbox.list")
    assert len(listed) == 20
    assert sorted(s["name"] for s in listed) == sorted(
        [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(10)]
    )
    assert len({s["display"] for s in listed}) == 20
    assert all(s["status"] == "running" for s in listed)


def test_same_name_from_two_hostds_at_once_gives_one_sandbox(hostd_factory, project: Path) -> None:
    hs = [hostd_factory() for _ in range(3)]
    rids = [h.request("sandbox.create", sandbox_params(project, "only-one")) for h in hs]
    replies = [h.reply(r, timeout=60) for h, r in zip(hs, rids, strict=True)]
    assert sum(r.error is None for r in replies) == 1
    assert all(r.error.code == -32602 for r in replies if r.error is not None)
    assert len(hs[0].call("sandbox.list")) == 1


def test_slow_create_does_not_delay_list(hostd_factory, project: Path, short_tmp: Path) -> None:
    slow_path = wrapper(short_tmp / "slow", "Xvfb", 'sleep 3; exec /usr/bin/Xvfb "$@"\n')
    h = hostd_factory(env={"PATH": slow_path})
    create = h.request("sandbox.create", sandbox_params(project, "slow"))
    time.sleep(0.3)  # let the create get under way
    t0 = time.monotonic()
    assert h.call("sandbox.list") == []
    list_time = time.monotonic() - t0
    assert h.reply(create).error is None
    assert list_time < 2.5, f"list waited {list_time:.1f} s behind the create"


def test_sandboxes_survive_hostd_sigkill(hostd_factory, project: Path) -> None:
    h = hostd_factory()
    for i in range(3):
        h.call("sandbox.create", **sandbox_params(project, f"k{i}"))
    h.kill()
    h2 = hostd_factory()
    listed = h2.call("sandbox.list")
    assert [s["status"] for s in listed] == ["running"] * 3


def test_killed_tmux_turns_dead_and_is_pushed(hostd: Hostd, project: Path, state_dir: Path) -> None:
    sb = hostd.call("sandbox.create", **sandbox_params(project, "victim"))
    hostd.call("subscribe", topics=["sandboxes"])
    subprocess.run(["tmux", "-S", sb["tmux_socket"], "kill-server"], check=True)
    note = hostd.wait_notification(
        lambda n: n.method == "sandbox.changed" and n.params["sandbox"]["status"] == "dead",
        timeout=10,
    )
    assert note.params["sandbox"]["id"] == sb["id"]
    # Its display went with it: a dead sandbox keeps nothing running.
    wait_for(lambda: not processes_mentioning(str(state_dir / "run" / sb["id"])), what="Xvfb gone")
    # And it can be started again.
    assert hostd.call("sandbox.start", id="victim")["status"] == "running"


def test_changes_by_another_hostd_are_pushed(hostd_factory, project: Path) -> None:
    watcher, actor = hostd_factory(), hostd_factory()
    watcher.call("subscribe", topics=["sandboxes"])
    sb = actor.call("sandbox.create", **sandbox_params(project, "elsewhere"))
    watcher.wait_notification(
        lambda n: n.method == "sandbox.changed" and n.params["sandbox"]["id"] == sb["id"]
    )
    actor.call("sandbox.delete", id=sb["id"])
    watcher.wait_notification(
        lambda n: n.method == "sandbox.removed" and n.params["id"] == sb["id"]
    )
    watcher.call("unsubscribe", topics=["sandboxes"])


def test_logs_subscription_pushes_output_as_it_is_written(hostd: Hostd, project: Path) -> None:
    sb = hostd.call(
        "sandbox.create",
        **sandbox_params(project, "talker", agent="sh -c 'read x; echo said:$x; sleep 600'"),
    )
    hostd.call("subscribe", topics=[f"logs:{sb['id'][:8]}"])
    hostd.call("sandbox.send_keys", id=sb["id"], keys=["héllo", "Enter"])
    got = ""

    def saw() -> bool:
        nonlocal got
        note = hostd.wait_notification(lambda n: n.method == "log")
        assert note.params["id"] == sb["id"]
        got += note.params["data"]
        return "said:héllo" in got

    wait_for(saw)
    hostd.call("unsubscribe", topics=[f"logs:{sb['id'][:8]}"])
    err = hostd.error("subscribe", topics=["logs:nosuchsandbox"])
    assert err.code == -32001


def test_log_stream_and_its_history_meet_with_no_gap_and_nothing_twice(
    hostd: Hostd, project: Path
) -> None:
    """A viewer subscribes, then fetches what came before the stream's start:
    every line once, in order, however fast the agent writes."""
    agent = "sh -c 'i=0; while :; do i=$((i+1)); echo n$i; done'"
    sb = hostd.call("sandbox.create", **sandbox_params(project, "counter", agent=agent))
    wait_for(lambda: hostd.call("sandbox.logs", id=sb["id"], tail=1)["text"].startswith("n"))
    start = hostd.call("subscribe", topics=[f"logs:{sb['id']}"])["logs"][sb["id"]]
    before = hostd.call("sandbox.logs", id=sb["id"], before=start)
    assert before["end"] == start and before["start"] == 0 and not before["truncated"]
    pushes: list[dict] = []

    def enough() -> bool:
        pushes.append(hostd.wait_notification(lambda n: n.method == "log").params)
        return sum(len(p["data"]) for p in pushes) > 300_000 and len(pushes) > 3

    wait_for(enough, timeout=60)
    hostd.call("unsubscribe", topics=[f"logs:{sb['id']}"])
    assert pushes[0]["offset"] == start
    for a, b in itertools.pairwise(pushes):
        assert b["offset"] == a["end"]  # contiguous: nothing skipped, nothing twice
    text = before["text"] + "".join(p["data"] for p in pushes)
    lines = text[: text.rindex("\n")].split()
    assert lines == [f"n{i}" for i in range(1, len(lines) + 1)]
    # What a viewer missed while disconnected: the bytes between two offsets.
    gap = hostd.call(
        "sandbox.logs", id=sb["id"], after=pushes[0]["end"], before=pushes[2]["offset"]
    )
    assert gap["text"] == pushes[1]["data"]
    assert (gap["start"], gap["end"]) == (pushes[1]["offset"], pushes[1]["end"])
    tail = hostd.call("sandbox.logs", id=sb["id"], tail=2, before=start)
    assert tail["text"] == "".join(before["text"].splitlines(keepends=True)[-2:])
    assert tail["end"] == start and tail["start"] == start - len(tail["text"]) and tail["truncated"]
    assert hostd.error("sandbox.logs", id=sb["id"], before=-1).code == -32602
    assert hostd.error("sandbox.logs", id=sb["id"], after=5, before=4).code == -32602


@pytest.mark.parametrize("tool", ["tmux", "Xvfb"])
def test_missing_tool_is_named(hostd_factory, project: Path, short_tmp: Path, tool: str) -> None:
    h = hostd_factory(env={"PATH": path_without(tool, short_tmp / "bin")})
    backends = {b["name"]: b for b in h.call("hello")["backends"]}
    assert backends["none"]["available"] is False
    assert tool in backends["none"]["detail"]
    err = h.error("sandbox.create", **sandbox_params(project, "x"))
    assert err.code == -32004 and tool in err.message
    assert h.call("sandbox.list") == []


def test_xvfb_that_fails_gives_its_stderr_and_leaves_nothing(
    hostd_factory, project: Path, short_tmp: Path, state_dir: Path
) -> None:
    path = wrapper(
        short_tmp / "bad", "Xvfb", 'echo "Fatal server error: no screens found" >&2; exit 1\n'
    )
    h = hostd_factory(env={"PATH": path})
    err = h.error("sandbox.create", **sandbox_params(project, "x"))
    assert err.code == -32005 and "no screens found" in err.message
    assert h.call("sandbox.list") == []
    state = json.loads((state_dir / "state.json").read_text())
    assert state["pending"] == {} and state["sandboxes"] == {}
    assert list((state_dir / "run").iterdir()) == []
    assert list((state_dir / "logs").iterdir()) == []
    assert list((state_dir / "claude").iterdir()) == []


def test_tmux_that_fails_after_xvfb_started_leaves_nothing(
    hostd_factory, project: Path, short_tmp: Path, state_dir: Path
) -> None:
    real = subprocess.run(
        ["sh", "-c", "command -v tmux"], capture_output=True, text=True
    ).stdout.strip()
    script = (
        'case "$*" in *new-session*) echo "tmux: simulated failure" >&2; exit 1;; esac\n'
        f'exec {real} "$@"\n'
    )
    h = hostd_factory(env={"PATH": wrapper(short_tmp / "badtmux", "tmux", script)})
    err = h.error("sandbox.create", **sandbox_params(project, "x"))
    assert err.code == -32005 and "simulated failure" in err.message
    assert h.call("sandbox.list") == []
    assert list((state_dir / "run").iterdir()) == []
    assert list((state_dir / "claude").iterdir()) == []
    assert not processes_mentioning(str(state_dir)) or all(
        p.pid == h.proc.pid for p in processes_mentioning(str(state_dir))
    )


@pytest.mark.parametrize(
    ("tool", "step"),
    [
        ("Xvfb", ""),  # killed while Xvfb starts: not yet recorded anywhere
        ("tmux", "new-session"),  # Xvfb recorded, tmux not started
        ("tmux", "pipe-pane"),  # tmux server running, not yet recorded
    ],
)
def test_hostd_killed_mid_create_is_cleaned_up_by_the_next(
    hostd_factory, project: Path, short_tmp: Path, state_dir: Path, tool: str, step: str
) -> None:
    real = subprocess.run(
        ["sh", "-c", f"command -v {tool}"], capture_output=True, text=True
    ).stdout.strip()
    mark = short_tmp / "reached"
    # The wrapper stalls at that step and leaves its pid in the mark file.
    script = (
        f'case "$*" in *{step}*) echo $$ > {mark}.tmp; mv {mark}.tmp {mark}; sleep 5;; esac\n'
        f'exec {real} "$@"\n'
    )
    h = hostd_factory(env={"PATH": wrapper(short_tmp / "slow", tool, script)})
    h.request("sandbox.create", sandbox_params(project, "interrupted"))
    wait_for(mark.exists, what=f"{tool} {step} reached")
    h.kill()
    # The stalled wrapper is the test's own stand-in, not something hostd started.
    subprocess.run(["pkill", "-KILL", "-P", mark.read_text().strip()], check=False)
    assert processes_mentioning(str(state_dir / "run"))  # what it started is still there
    h2 = hostd_factory()
    assert h2.call("sandbox.list") == []
    state = json.loads((state_dir / "state.json").read_text())
    assert state["pending"] == {}
    assert not processes_mentioning(str(state_dir / "run"))
    assert list((state_dir / "run").iterdir()) == []
    assert list((state_dir / "claude").iterdir()) == []
    # The name is free again.
    assert (
        h2.call("sandbox.create", **sandbox_params(project, "interrupted"))["status"] == "running"
    )


def test_unreadable_state_is_kept_aside_and_reported(
    hostd_factory, state_dir: Path, project: Path
) -> None:
    state_dir.mkdir(mode=0o700)
    (state_dir / "state.json").write_text('{"version": 1, "sandboxes": {"oops"')
    h = hostd_factory()
    hello = h.call("hello")
    kept = list(state_dir.glob("state.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"version": 1, "sandboxes": {"oops"'
    assert any("unreadable state file" in w and str(kept[0]) in w for w in hello["warnings"])
    assert h.call("sandbox.create", **sandbox_params(project, "fresh"))["status"] == "running"
    assert len(list(state_dir.glob("state.json.corrupt-*"))) == 1


def test_a_request_that_crashes_gets_an_internal_error_and_hostd_carries_on(
    hostd: Hostd, state_dir: Path, project: Path
) -> None:
    sb = hostd.call("sandbox.create", **sandbox_params(project, "odd"))
    hostd.call("sandbox.stop", id=sb["id"])
    # A record no hostd would write (another version's, or a hand edit).
    state = json.loads((state_dir / "state.json").read_text())
    state["sandboxes"][sb["id"]]["agent"] = 5
    (state_dir / "state.json").write_text(json.dumps(state))
    err = hostd.error("sandbox.start", id=sb["id"])
    assert err.code == -32603 and err.message
    assert hostd.call("sandbox.get", id="odd")["status"] == "stopped"
    assert [s["name"] for s in hostd.call("sandbox.list")] == ["odd"]


_WRITER = """
import sys, itertools
from pathlib import Path
from hostd.sandbox.paths import StatePaths
from hostd.sandbox.state import StateStore
paths = StatePaths(Path(sys.argv[1])); paths.ensure()
store = StateStore(paths)
print("ready", flush=True)
for i in itertools.count():
    def change(state, i=i):
        state["sandboxes"]["x"] = {"id": "x", "n": i, "pad": "y" * (i % 5000)}
    store.update(change)
"""


def test_kill_at_any_moment_leaves_the_state_file_whole(state_dir: Path) -> None:
    for round_ in range(15):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(state_dir)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(0.05 + (round_ % 5) * 0.03)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = json.loads((state_dir / "state.json").read_text())
        assert data["sandboxes"]["x"]["pad"] == "y" * (data["sandboxes"]["x"]["n"] % 5000)
    assert not list(state_dir.glob("state.json.corrupt-*"))


def test_concurrent_updates_from_threads_and_processes_all_land(state_dir: Path) -> None:
    from hostd.sandbox.paths import StatePaths
    from hostd.sandbox.state import StateStore

    paths = StatePaths(state_dir)
    paths.ensure()
    code = (
        "import sys; from pathlib import Path; from hostd.sandbox.paths import StatePaths;"
        "from hostd.sandbox.state import StateStore; s = StateStore(StatePaths(Path(sys.argv[1])));"
        "[s.update(lambda st, i=i: st['sandboxes'].__setitem__(f'p{sys.argv[2]}-{i}', {}))"
        " for i in range(50)]"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(state_dir), str(n)]) for n in range(3)
    ]

    def thread_work(n: int) -> None:
        store = StateStore(paths)
        for i in range(50):
            store.update(lambda st, i=i: st["sandboxes"].__setitem__(f"t{n}-{i}", {}))

    threads = [threading.Thread(target=thread_work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        assert p.wait() == 0
    assert len(StateStore(paths).read()["sandboxes"]) == 300

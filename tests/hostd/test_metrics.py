"""sandbox.metrics and the metrics stream through a real hostd: tokens, activity, processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hostd.claude.files import sanitize_path
from hostd.sandbox.paths import StatePaths
from hostd.sandbox.state import State, StateStore
from tests.claude_transcripts import Transcript
from tests.helpers import Hostd, wait_for


@pytest.fixture
def home(short_tmp: Path) -> Path:
    h = short_tmp / "home"
    h.mkdir()
    return h


@pytest.fixture
def hd(hostd_factory, home: Path) -> Hostd:
    """hostd with its own HOME, so Claude's files are the test's."""
    return hostd_factory(env={"HOME": str(home)})


def session_path(config: Path | str, project: Path, name: str = "s1") -> Path:
    """Where Claude Code, with CLAUDE_CONFIG_DIR=config, writes a session of ``project``."""
    return Path(config) / "projects" / sanitize_path(str(project)) / f"{name}.jsonl"


def test_claude_tokens_are_exact_and_grow_by_exactly_what_is_appended(
    hd: Hostd, home: Path, project: Path
) -> None:
    sb = hd.call("sandbox.create", name="c1", backend="none", project_dir=str(project))
    assert sb["agent"] == "claude"
    t = Transcript(session_path(sb["claude_config"], project), str(project), time.time())
    t.prompt("fix the failing test")
    t.response(["thinking", "text", ("tool_use", "Bash")], input_tokens=100, output_tokens=40,
               cache_creation=1000, cache_read=5000, stop_reason="tool_use")  # fmt: skip
    t.tool_result(t.tool_ids[0], "2 passed")
    t.response(["text"], input_tokens=10, output_tokens=7, cache_read=6000)
    t.bookkeeping()

    m1 = hd.call("sandbox.metrics", id="c1")["claude"]
    assert (m1["input_tokens"], m1["output_tokens"]) == (110, 47)
    assert (m1["cache_creation_tokens"], m1["cache_read_tokens"]) == (1000, 11000)
    assert m1["messages"] == 1 and m1["tool_uses"] == {"Bash": 1}
    assert m1["context_tokens"] == 10 + 0 + 6000
    assert m1["session_id"] == "s1" and m1["model"].startswith("claude-")
    assert m1["malformed_lines"] == 0 and m1["shared_with"] == []

    t.prompt("and the other one")
    t.response(
        ["text", ("tool_use", "Edit")], input_tokens=3, output_tokens=5, stop_reason="tool_use"
    )
    with t.path.open("a") as f:
        f.write('{"type": "assistant", "broken')  # a line still being written
    m2 = hd.call("sandbox.metrics", id="c1")["claude"]
    assert m2["input_tokens"] - m1["input_tokens"] == 3
    assert m2["output_tokens"] - m1["output_tokens"] == 5
    assert m2["messages"] == 2 and m2["tool_uses"] == {"Bash": 1, "Edit": 1}
    assert m2["malformed_lines"] == 0  # the partial line waits for its end


def test_two_sandboxes_on_one_project_count_only_their_own_sessions(
    hd: Hostd, home: Path, project: Path
) -> None:
    a = hd.call("sandbox.create", name="a", backend="none", project_dir=str(project))
    b = hd.call("sandbox.create", name="b", backend="none", project_dir=str(project))
    assert a["claude_config"] != b["claude_config"]
    t = Transcript(session_path(a["claude_config"], project), str(project), time.time())
    t.prompt("only in a")
    t.response(["text"], input_tokens=5, output_tokens=3)
    # What the person's own Claude writes is no sandbox's.
    mine = Transcript(session_path(home / ".claude", project), str(project), time.time())
    mine.response(["text"], input_tokens=1000, output_tokens=1000)
    ma = hd.call("sandbox.metrics", id="a")["claude"]
    mb = hd.call("sandbox.metrics", id="b")["claude"]
    assert (ma["input_tokens"], ma["output_tokens"], ma["shared_with"]) == (5, 3, [])
    assert (mb["input_tokens"], mb["output_tokens"], mb["shared_with"]) == (0, 0, [])


def test_sandboxes_made_before_claude_config_still_read_and_share_the_persons(
    hd: Hostd, home: Path, project: Path, state_dir: Path
) -> None:
    a = hd.call("sandbox.create", name="a", backend="none", project_dir=str(project))
    b = hd.call("sandbox.create", name="b", backend="none", project_dir=str(project))

    def as_before(state: State) -> None:
        for r in state["sandboxes"].values():
            r["claude_config"] = None

    StateStore(StatePaths(state_dir)).update(as_before)
    t = Transcript(session_path(home / ".claude", project), str(project), time.time())
    t.response(["text"], input_tokens=7, output_tokens=2)
    ma = hd.call("sandbox.metrics", id="a")["claude"]
    assert (ma["input_tokens"], ma["shared_with"]) == (7, [b["id"]])
    assert hd.call("sandbox.metrics", id="b")["claude"]["shared_with"] == [a["id"]]


def test_process_figures_cover_the_sandbox_tree(hd: Hostd, project: Path) -> None:
    hd.call("sandbox.create", name="busy", backend="none", project_dir=str(project),
            agent="sh -c 'while :; do :; done'")  # fmt: skip
    hd.call("sandbox.metrics", id="busy")  # a first look sets the CPU baseline
    time.sleep(1.0)
    m = hd.call("sandbox.metrics", id="busy")
    procs = m["processes"]
    assert procs["count"] >= 3  # the agent, its tmux server, Xvfb (and the log pipe)
    assert procs["rss_bytes"] > 5_000_000
    assert procs["cpu_percent"] > 30  # a busy loop
    assert m["claude"] is None  # not Claude: no session figures
    hd.call("sandbox.stop", id="busy")
    stopped = hd.call("sandbox.metrics", id="busy")
    assert stopped["processes"]["count"] == 0 and stopped["activity"]["state"] == "exited"


@pytest.mark.parametrize("topics", [["sandboxes", "metrics"], ["metrics"]])
def test_a_permission_dialog_makes_the_sandbox_waiting_and_is_pushed(
    hd: Hostd, project: Path, topics: list[str]
) -> None:
    # "metrics" alone is enough to hear at once that an agent waits: a grid of
    # tiles subscribes to metrics only, and must not learn it a tick late.
    hd.call("subscribe", topics=topics, metrics={"interval_s": 1})
    sb = hd.call("sandbox.create", name="asks", backend="none", project_dir=str(project),
                 agent="claude --stub-dialog")  # fmt: skip
    note = hd.wait_notification(
        lambda n: (
            n.method == "sandbox.changed"
            and n.params["sandbox"]["id"] == sb["id"]
            and (n.params["sandbox"]["activity"] or {}).get("state") == "waiting"
        )
    )
    assert note.params["sandbox"]["activity"]["reason"] == "Do you want to proceed?"
    pushed = hd.wait_notification(
        lambda n: n.method == "metrics" and sb["id"] in n.params["sandboxes"]
    )
    assert pushed.params["sandboxes"][sb["id"]]["activity"]["state"] == "waiting"
    assert pushed.params["system"]["memory_total"] > 0
    # Answering it: the agent carries on (and here, prints and sleeps).
    hd.call("sandbox.send_keys", id="asks", keys=["1", "Enter"])
    hd.wait_notification(
        lambda n: (
            n.method == "sandbox.changed"
            and (n.params["sandbox"]["activity"] or {}).get("state") != "waiting"
        )
    )
    assert hd.call("sandbox.get", id="asks")["activity"]["state"] in ("working", "idle")
    # Stopped: its activity is gone, and that is heard too.
    hd.call("sandbox.stop", id="asks")
    hd.wait_notification(
        lambda n: n.method == "sandbox.changed" and n.params["sandbox"]["activity"] is None
    )


def test_steady_output_is_working_and_an_exit_is_exited(hd: Hostd, project: Path) -> None:
    loop = "i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo step $i; sleep 0.25; done"
    hd.call("sandbox.create", name="chatty", backend="none", project_dir=str(project),
            agent=f"sh -c '{loop}'")  # fmt: skip
    wait_for(lambda: hd.call("sandbox.metrics", id="chatty")["activity"]["state"] == "working",
             interval=0.5, what="working")  # fmt: skip
    wait_for(lambda: hd.call("sandbox.metrics", id="chatty")["activity"]["state"] == "exited",
             interval=0.5, what="exited")  # fmt: skip


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"topics": ["metrics"], "metrics": {"interval_s": 0.2}}, "between"),
        ({"topics": ["metrics"], "metrics": {"every": 2}}, "unknown metrics setting"),
        ({"topics": ["sandboxes"], "metrics": {"interval_s": 2}}, "without the 'metrics' topic"),
    ],
)
def test_bad_metrics_settings(hd: Hostd, params: dict, needle: str) -> None:
    err = hd.error("subscribe", **params)
    assert err.code == -32602 and needle in err.message

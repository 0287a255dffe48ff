"""Claude Code session accounting on session files written in Claude Code's format."""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import pytest

from hostd.claude.files import claude_config_dir, project_dirs, sanitize_path
from hostd.claude.jsonl_tail import JsonlTail
from hostd.claude.sessions import SessionReader
from tests.claude_transcripts import Transcript, dumps, iso

PROJECT = "/home/a/my_proj.v2"
SLUG = "-home-a-my-proj-v2"
SID = "5c2a3e9b-1f0d-4c1e-9a51-2f6f0f6b3a11"


@pytest.fixture
def since() -> float:
    # The sandbox started an hour ago; transcripts are stamped after it.
    return time.time() - 3600


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".claude"


def main_transcript(
    config: Path, since: float, sid: str = SID, project: str = PROJECT
) -> Transcript:
    folder = config / "projects" / sanitize_path(project)
    return Transcript(folder / f"{sid}.jsonl", project, since + 1)


def totals(m: dict[str, object]) -> tuple[object, ...]:
    keys = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    return tuple(m[k] for k in keys)


def read(config: Path, since: float, project: str = PROJECT) -> dict[str, object]:
    r = SessionReader(project, config, since)
    r.poll()
    return r.metrics()


# -- where the files are ---------------------------------------------------


def test_slug_replaces_every_character_outside_ascii_letters_and_digits() -> None:
    assert sanitize_path("/home/a/my_proj.v2") == SLUG
    assert sanitize_path("/srv/my project (copy)+1") == "-srv-my-project--copy--1"
    assert sanitize_path("/home/zoë/文档") == "-home-zo----"
    # JavaScript replaces UTF-16 code units: a character outside the BMP is two.
    assert sanitize_path("/tmp/🚀x") == "-tmp---x"


def test_config_dir_follows_claude_config_dir_of_the_sandbox(tmp_path: Path) -> None:
    assert claude_config_dir(tmp_path) == tmp_path / ".claude"
    assert claude_config_dir(tmp_path, {"CLAUDE_CONFIG_DIR": "/etc/cc"}) == Path("/etc/cc")
    assert claude_config_dir(tmp_path, {"CLAUDE_CONFIG_DIR": ""}) == tmp_path / ".claude"


def test_long_project_path_is_found_by_its_first_200_characters(config: Path, since: float) -> None:
    project = "/home/a/" + "/".join(f"deeply_nested.dir{i:02d}" for i in range(12))
    assert len(sanitize_path(project)) > 200
    projects = config / "projects"
    folder = projects / (sanitize_path(project)[:200] + "-1kq2x7f")
    other = projects / (sanitize_path(project)[:199] + "X-1kq2x7f")  # another project
    Transcript(other / f"{SID}.jsonl", "/elsewhere", since + 1).response(
        ["text"], input_tokens=999, output_tokens=999
    )
    t = Transcript(folder / f"{SID}.jsonl", project, since + 1)
    t.prompt("hello")
    t.response(["text"], input_tokens=7, output_tokens=30)

    assert project_dirs(projects, project) == [folder]
    m = read(config, since, project)
    assert totals(m) == (7, 30, 0, 0)
    assert m["session_id"] == SID


def test_missing_claude_folder_gives_empty_metrics(tmp_path: Path, since: float) -> None:
    m = read(tmp_path / "nowhere" / ".claude", since)
    assert m == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "messages": 0,
        "tool_uses": {},
        "model": None,
        "context_tokens": None,
        "session_id": None,
        "subagents": {
            "count": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_tokens": 0,
            "cache_read_tokens": 0,
            "last_event_at": None,
        },
        "last_event_at": None,
        "malformed_lines": 0,
        "shared_with": [],
    }


# -- exact totals --------------------------------------------------------------


def test_each_response_counts_once_with_its_final_output(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.bookkeeping()
    t.prompt("Why does test_parse fail?")
    t.response(
        ["thinking", "text", ("tool_use", "Bash")],
        input_tokens=10,
        output_tokens=120,
        cache_creation=1000,
        cache_read=2000,
        stop_reason="tool_use",
    )
    t.tool_result(t.tool_ids[0], "FAILED test_parse.py::test_dates")
    t.response(
        [("tool_use", "Read"), ("tool_use", "Read")],
        input_tokens=3,
        output_tokens=80,
        cache_creation=500,
        cache_read=3000,
        stop_reason="tool_use",
    )
    for tid in t.tool_ids:
        t.tool_result(tid, "def parse(s): ...")
    t.bookkeeping()
    t.response(
        ["text", "text"],
        input_tokens=1,
        output_tokens=400,
        cache_creation=200,
        cache_read=3500,
        model="claude-opus-4-5-20251101",
    )
    t.prompt("Thanks, now commit it")
    last = t.response(
        ["text"],
        input_tokens=5,
        output_tokens=9,
        cache_creation=0,
        cache_read=3700,
        model="claude-opus-4-5-20251101",
    )

    agent_dir = t.path.parent / SID / "subagents"
    sub = Transcript(
        agent_dir / "agent-a1b2c3d.jsonl", PROJECT, since + 2, session_id=SID, agent_id="a1b2c3d"
    )
    sub.prompt("Find every caller of parse()")  # the parent's brief, not the person's
    sub.response(
        [("tool_use", "Grep")],
        input_tokens=40,
        output_tokens=60,
        cache_creation=300,
        cache_read=0,
        model="claude-haiku-4-5-20251001",
        stop_reason="tool_use",
    )
    sub.tool_result(sub.tool_ids[0], "src/a.py:3: parse(")
    sub.response(
        ["text", "text"],
        input_tokens=2,
        output_tokens=25,
        cache_creation=0,
        cache_read=300,
        model="claude-haiku-4-5-20251001",
    )
    (agent_dir / "agent-a1b2c3d.meta.json").write_text('{"agentType":"Explore"}')
    (agent_dir / "journal.jsonl").write_text(dumps({"type": "started"}) + "\n")

    m = read(config, since)
    assert m == {
        "input_tokens": 10 + 3 + 1 + 5 + 40 + 2,
        "output_tokens": 120 + 80 + 400 + 9 + 60 + 25,
        "cache_creation_tokens": 1000 + 500 + 200 + 0 + 300 + 0,
        "cache_read_tokens": 2000 + 3000 + 3500 + 3700 + 0 + 300,
        "messages": 2,
        "tool_uses": {"Bash": 1, "Grep": 1, "Read": 2},
        "model": "claude-opus-4-5-20251101",
        "context_tokens": 5 + 0 + 3700,
        "session_id": SID,
        "subagents": {
            "count": 1,
            "input_tokens": 42,
            "output_tokens": 85,
            "cache_creation_tokens": 300,
            "cache_read_tokens": 300,
            "last_event_at": iso(sub.clock),
        },
        "last_event_at": last[-1].split('"timestamp":"')[1][:24],
        "malformed_lines": 0,
        "shared_with": [],
    }


def test_response_lines_read_in_any_order_keep_the_final_output(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    lines = t.response(["text", "text", "text"], input_tokens=4, output_tokens=300)
    t.path.write_text("".join(line + "\n" for line in reversed(lines)))
    assert totals(read(config, since)) == (4, 300, 0, 0)


def test_response_copied_into_a_resumed_session_counts_once(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    lines = t.response(["text"], input_tokens=11, output_tokens=22, cache_read=33)
    resumed = main_transcript(config, since, sid="9d4e0c55-0000-4000-8000-000000000001")
    resumed.path.write_text(lines[0] + "\n")
    resumed.clock = t.clock
    resumed.response(["text"], input_tokens=1, output_tokens=2)
    assert totals(read(config, since)) == (12, 24, 0, 33)


def test_response_without_request_id_is_counted_once_by_message_id(
    config: Path, since: float
) -> None:
    t = main_transcript(config, since)
    t.response(["text", "text"], input_tokens=6, output_tokens=60, request_id=None)
    assert totals(read(config, since)) == (6, 60, 0, 0)


def test_synthetic_error_messages_are_not_usage_or_model(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=6, output_tokens=60, model="claude-opus-4-5-20251101")
    t.response(["text"], input_tokens=0, output_tokens=0, model="<synthetic>")
    m = read(config, since)
    assert totals(m) == (6, 60, 0, 0)
    assert m["model"] == "claude-opus-4-5-20251101"


def test_messages_count_only_what_the_person_typed(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.prompt("first question")
    t.prompt("<command-name>/model</command-name>")  # a slash command the person typed
    t.prompt("Caveat: the messages below were generated by the user", isMeta=True)
    t.prompt("<local-command-stdout>Set model to opus</local-command-stdout>")
    t.response([("tool_use", "Bash")], input_tokens=1, output_tokens=1, stop_reason="tool_use")
    t.tool_result(t.tool_ids[0], "ok")
    t.interrupt()
    t.prompt("This session is being continued from a previous conversation", isCompactSummary=True)
    assert read(config, since)["messages"] == 2


def test_legacy_agent_files_beside_the_sessions_are_subagents(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=1, output_tokens=2)
    legacy = Transcript(
        t.path.parent / "agent-5e6f7a8b.jsonl",
        PROJECT,
        since + 1,
        session_id=SID,
        agent_id="5e6f7a8b",
    )
    legacy.response(["text"], input_tokens=10, output_tokens=20)
    m = read(config, since)
    assert totals(m) == (11, 22, 0, 0)
    assert m["subagents"]["count"] == 1 and m["subagents"]["input_tokens"] == 10  # type: ignore[index]
    assert m["session_id"] == SID


# -- what counts as the sandbox's ------------------------------------------------


def test_sessions_from_before_the_sandbox_started_do_not_count(config: Path, since: float) -> None:
    old = main_transcript(config, since - 7200, sid="00000000-0000-4000-8000-00000000000a")
    old.response(["text"], input_tokens=500, output_tokens=500)
    os.utime(old.path, (since - 60, since - 60))
    resumed = main_transcript(config, since - 7200)  # copied history, then new work
    resumed.response(["text"], input_tokens=100, output_tokens=100)
    resumed.clock = since + 5
    resumed.response(["text"], input_tokens=3, output_tokens=4)
    m = read(config, since)
    assert totals(m) == (3, 4, 0, 0)
    assert m["session_id"] == SID


def test_two_sandboxes_on_one_project_see_the_same_project_key(config: Path, since: float) -> None:
    a = SessionReader(PROJECT, config, since)
    b = SessionReader(PROJECT, str(config) + "/", since + 10)
    c = SessionReader("/home/a/other", config, since)
    assert a.project_key == b.project_key != c.project_key
    assert a.metrics(shared_with=["sb-2"])["shared_with"] == ["sb-2"]


# -- incremental reading -----------------------------------------------------------


def test_appended_lines_change_totals_by_exactly_their_usage(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.prompt("go")
    t.response(
        ["text", ("tool_use", "Edit")],
        input_tokens=10,
        output_tokens=100,
        cache_creation=50,
        cache_read=70,
        stop_reason="tool_use",
    )
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    before = reader.metrics()

    t.tool_result(t.tool_ids[0], "edited")
    t.response(
        ["thinking", "text"], input_tokens=2, output_tokens=33, cache_creation=4, cache_read=170
    )
    t.prompt("and again")
    reader.poll()
    after = reader.metrics()
    assert tuple(a - b for a, b in zip(totals(after), totals(before), strict=True)) == (
        2,
        33,
        4,
        170,
    )
    assert after["messages"] == before["messages"] + 1  # type: ignore[operator]
    assert after["context_tokens"] == 2 + 4 + 170


def test_a_poll_with_nothing_new_reads_nothing(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=1, output_tokens=1)
    tail = JsonlTail(str(t.path))
    assert tail.read(lambda _: None).bytes_read == t.path.stat().st_size
    assert tail.read(lambda _: None).bytes_read == 0


def test_a_partial_last_line_counts_once_completed(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=1, output_tokens=1)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    line = dumps_response_line(t)
    with t.path.open("a") as f:
        f.write(line[:150])  # Claude Code is half-way through writing it
    reader.poll()
    assert totals(reader.metrics()) == (1, 1, 0, 0)
    assert reader.metrics()["malformed_lines"] == 0
    with t.path.open("a") as f:
        f.write(line[150:] + "\n")
    reader.poll()
    assert totals(reader.metrics()) == (1 + 8, 1 + 9, 0, 0)
    assert reader.metrics()["malformed_lines"] == 0


def dumps_response_line(t: Transcript) -> str:
    """One more response line, built but not written."""
    scratch = Transcript(t.path.with_suffix(".scratch"), t.cwd, t.clock)
    line = scratch.response(["text"], input_tokens=8, output_tokens=9)[0]
    scratch.path.unlink()
    return line


def test_a_replaced_file_is_counted_afresh(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=100, output_tokens=100)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    assert totals(reader.metrics()) == (100, 100, 0, 0)

    fresh = t.path.with_name("new.tmp")
    other = Transcript(fresh, PROJECT, since + 50)
    other.response(["text"], input_tokens=7, output_tokens=8)
    other.response(["text"], input_tokens=9, output_tokens=10)
    os.replace(fresh, t.path)  # another inode, longer than before
    reader.poll()
    assert totals(reader.metrics()) == (16, 18, 0, 0)


def test_a_truncated_file_is_counted_afresh(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    first = t.response(["text"], input_tokens=5, output_tokens=6)
    t.response(["text", "text"], input_tokens=100, output_tokens=100)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    assert totals(reader.metrics()) == (105, 106, 0, 0)
    with t.path.open("r+") as f:
        f.truncate(len(first[0]) + 1)
    reader.poll()
    assert totals(reader.metrics()) == (5, 6, 0, 0)


def test_a_file_rewritten_in_place_and_grown_is_counted_afresh(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=100, output_tokens=100)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    scratch = Transcript(t.path.with_name("x.tmp"), PROJECT, since + 50)
    scratch.response(["text", "text", "text"], input_tokens=1, output_tokens=2)
    data = scratch.path.read_bytes()
    scratch.path.unlink()
    with t.path.open("r+b") as f:  # same inode, not shorter: only its first bytes differ
        f.write(data)
    reader.poll()
    assert totals(reader.metrics()) == (1, 2, 0, 0)


def test_a_deleted_session_file_is_forgotten(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=5, output_tokens=6)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    t.path.unlink()
    reader.poll()
    assert totals(reader.metrics()) == (0, 0, 0, 0)
    assert reader.metrics()["session_id"] is None


def test_a_file_deleted_while_it_is_read_is_read_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("".join(dumps({"n": i}) + "\n" for i in range(5000)))
    seen: list[bytes] = []

    def on_line(line: bytes) -> None:
        if not seen:
            path.unlink()
        seen.append(line)

    tail = JsonlTail(str(path))
    assert not tail.read(on_line).gone
    assert len(seen) == 5000
    result = tail.read(on_line)
    assert result.gone and result.restarted


# -- bad input ---------------------------------------------------------------------


def test_malformed_binary_and_empty_files_are_skipped_and_counted(
    config: Path, since: float
) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=1, output_tokens=2)
    with t.path.open("ab") as f:
        f.write(b'{"type":"assistant","message":{"id":"msg_trunc\n')  # cut short, then a newline
        f.write(b"not json at all\n")
        f.write(b'["type","user"]\n')
        f.write(b"\n   \n")  # blank lines are not errors
    t.response(["text"], input_tokens=3, output_tokens=4)
    folder = t.path.parent
    (folder / "00000000-0000-4000-8000-0000000000e0.jsonl").write_bytes(b"")
    (folder / "00000000-0000-4000-8000-0000000000b1.jsonl").write_bytes(
        b"\x00\xff\xfe\xfd" * 256 + b"\n" + b"\x89PNG\x1a\x00" + b"\n"  # two lines of binary
    )
    with (folder / "00000000-0000-4000-8000-0000000000c2.jsonl").open("w") as f:
        # Truncated JSON at the very end, with no newline: it waits as a partial line.
        f.write(dumps_response_line(t)[:-40])
    m = read(config, since)
    assert totals(m) == (4, 6, 0, 0)
    assert m["malformed_lines"] == 3 + 2
    assert m["session_id"] == SID


def test_a_folder_or_fifo_named_like_a_transcript_is_passed_over(
    config: Path, since: float
) -> None:
    # An agent can write anything into ~/.claude: a FIFO must not hang the
    # poll waiting for a writer, and a folder must not fail it.
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=5, output_tokens=6)
    folder = t.path.parent
    (folder / "00000000-0000-4000-8000-0000000000d1.jsonl").mkdir()
    os.mkfifo(folder / "00000000-0000-4000-8000-0000000000f1.jsonl")
    agents = folder / SID / "subagents"
    agents.mkdir(parents=True)
    os.mkfifo(agents / "agent-fifo.jsonl")
    assert totals(read(config, since)) == (5, 6, 0, 0)


def test_a_tail_whose_file_turns_into_a_fifo_reports_it_gone(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    tail, lines = JsonlTail(str(path)), []
    tail.read(lines.append)
    path.unlink()
    os.mkfifo(path)
    assert tail.read(lines.append).gone and lines == [b'{"a": 1}']


def test_a_50_mb_line_is_skipped_without_holding_it(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=1, output_tokens=2)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    head = b'{"type":"user","message":{"role":"user","content":"' + b"A" * (30 * 2**20)
    rest = b"A" * (20 * 2**20) + b'"}}\n'
    with t.path.open("ab") as f:
        f.write(head)  # the first 30 MB: still being written
    t.clock += 1
    after = dumps_response_line(t)
    tracemalloc.start()
    try:
        reader.poll()
        with t.path.open("ab") as f:
            f.write(rest)
            f.write(after.encode() + b"\n")
        reader.poll()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    m = reader.metrics()
    assert totals(m) == (1 + 8, 2 + 9, 0, 0)
    assert m["malformed_lines"] == 1
    assert peak < 20 * 2**20, f"held {peak / 2**20:.0f} MiB while reading a 50 MB line"


# -- activity signals -----------------------------------------------------------------


def test_signals_show_an_unanswered_tool_call_until_its_result(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.prompt("delete the build folder")
    t.response(["text", ("tool_use", "Bash")], input_tokens=1, output_tokens=2, stop_reason=None)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    s = reader.signals()
    assert s.pending_tools == ("Bash",)
    assert s.last_kind == "assistant_tool" and not s.turn_ended
    assert s.pending_since == pytest.approx(t.clock, abs=0.002)

    t.tool_result(t.tool_ids[0], "removed")
    reader.poll()
    assert reader.signals().pending_tools == ()
    t.response(["text"], input_tokens=1, output_tokens=2, stop_reason="end_turn")
    reader.poll()
    s = reader.signals()
    assert s.turn_ended and s.last_stop_reason == "end_turn"
    assert s.last_event_at == pytest.approx(t.clock, abs=0.002)


def test_a_null_stop_reason_leaves_the_turn_open(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response(["text"], input_tokens=1, output_tokens=2, stop_reason=None)
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    s = reader.signals()
    assert s.last_kind == "assistant_text" and not s.turn_ended


def test_a_subagent_waiting_on_a_tool_is_what_signals_report(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response([("tool_use", "Task")], input_tokens=1, output_tokens=2, stop_reason="tool_use")
    sub = Transcript(
        t.path.parent / SID / "subagents" / "agent-77.jsonl",
        PROJECT,
        t.clock,
        session_id=SID,
        agent_id="77",
    )
    sub.response(
        [("tool_use", "WebFetch")], input_tokens=1, output_tokens=2, stop_reason="tool_use"
    )
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    assert reader.signals().pending_tools == ("WebFetch",)


def test_an_interrupt_ends_the_turn(config: Path, since: float) -> None:
    t = main_transcript(config, since)
    t.response([("tool_use", "Bash")], input_tokens=1, output_tokens=2, stop_reason="tool_use")
    t.tool_result(t.tool_ids[0], "The user doesn't want to proceed with this tool use.", True)
    t.interrupt()
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    s = reader.signals()
    assert s.turn_ended and s.pending_tools == ()


def test_signals_of_no_session_are_empty(config: Path, since: float) -> None:
    reader = SessionReader(PROJECT, config, since)
    reader.poll()
    s = reader.signals()
    assert s.last_event_at is None and s.last_kind is None and not s.turn_ended
    assert iso(since)  # the helper formats what Claude Code writes

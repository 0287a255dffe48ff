"""Activity states from pane texts and session signals, and from real tmux panes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hostd.claude.activity import (
    EXITED,
    IDLE,
    WAITING,
    WORKING,
    Activity,
    ActivityTracker,
    pane_hash,
    permission_prompt,
    prompt_keys,
    shell_question,
)
from hostd.claude.sessions import SessionSignals
from hostd.sandbox.tmux import pane_state
from tests.helpers import REPO, wait_for

T0 = 1_800_000_000.0

BASH_PROMPT = """\
⏺ I'll check what is in the build folder first.

╭──────────────────────────────────────────────────────────────────────────────╮
│ Bash command                                                                 │
│                                                                              │
│   rm -rf build/                                                              │
│   Remove the stale build output                                              │
│                                                                              │
│ Do you want to proceed?                                                      │
│ ❯ 1. Yes                                                                     │
│   2. Yes, and don't ask again for rm commands in /home/a/my_proj.v2          │
│   3. No, and tell Claude what to do differently (esc)                        │
╰──────────────────────────────────────────────────────────────────────────────╯



"""

EDIT_PROMPT = """\
⏺ Update(tests/foo.test.ts)

╭──────────────────────────────────────────────────────────────╮
│ Edit file                                                    │
│ tests/foo.test.ts                                            │
│   - expect(label).toBe("Save draft")                         │
│   + expect(label).toBe("Save")                               │
│ Do you want to make this edit to foo.test.ts?                │
│   1. Yes                                                     │
│ ❯ 2. Yes, allow all edits during this session (shift+tab)    │
│   3. No, and tell Claude what to do differently (esc)        │
╰──────────────────────────────────────────────────────────────╯
"""

# Newer Claude Code: no box, a footer under the options.
CREATE_PROMPT = """\
 Create file
 docs/notes.md
 ╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
  1 # Notes
 ╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
 Do you want to create notes.md?
 ❯ 1. Yes
   2. Yes, allow all edits during this session (shift+tab)
   3. No

 Esc to cancel · Tab to amend
"""

QUESTION_DIALOG = """\
⏺ I found two settings pages.

 ☐ Settings page

Which settings page should get the dark mode
toggle?

❯ 1. src/ui/settings.tsx
     The page linked from the header
  2. src/ui/main.tsx
     The legacy page
  3. Type something.

Enter to confirm · Esc to cancel
"""

TRUST_DIALOG = """\
 Do you trust the files in this folder?

 /home/a/my_proj.v2

 Claude Code may read, write, or execute files contained in this directory.

 ❯ 1. Yes, proceed
   2. No, exit

 Enter to confirm · Esc to exit
"""

REPLY_WITH_LIST = """\
⏺ Two ways to fix it:
  1. Refactor the parser so dates go through one function
  2. Patch the call site in report.py
  Do you want to proceed with option 1?

╭──────────────────────────────────────────────────────────────╮
│ >                                                            │
╰──────────────────────────────────────────────────────────────╯
  ? for shortcuts
"""


def working_pane(second: int) -> str:
    spinner = "✻✽✶✢·"[second % 5]
    status = f"{spinner} Thinking… ({second}s · ↓ 1.2k tokens · esc to interrupt)"
    return f"⏺ Reading src/parser.py\n\n{status}\n"


def session(**kw: object) -> SessionSignals:
    return SessionSignals(last_event_at=T0, **kw)  # type: ignore[arg-type]


def said(a: Activity) -> tuple[str, str | None, float]:
    return a.state, a.reason, a.since


# -- prompt texts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pane", "question"),
    [
        (BASH_PROMPT, "Do you want to proceed?"),
        (EDIT_PROMPT, "Do you want to make this edit to foo.test.ts?"),
        (CREATE_PROMPT, "Do you want to create notes.md?"),
        (QUESTION_DIALOG, "Which settings page should get the dark mode toggle?"),
        (TRUST_DIALOG, "Do you trust the files in this folder?"),
    ],
)
def test_claude_dialogs_are_read_with_their_question(pane: str, question: str) -> None:
    assert permission_prompt(pane) == question
    got = ActivityTracker().update(pane, now=T0)
    assert said(got) == (WAITING, question, T0)
    assert got.source == "pane" and got.request is not None
    assert got.request["kind"] == "permission" and got.request["via"] == "keys"


def test_a_numbered_list_in_a_reply_is_not_a_dialog() -> None:
    assert permission_prompt(REPLY_WITH_LIST) is None
    assert permission_prompt("1. Yes\n2. No\n") is None  # no Claude marker at all


@pytest.mark.parametrize(
    ("last_line", "asked"),
    [
        ("Overwrite config.toml? [y/N] ", True),
        ("Apply these changes? (yes/no)", True),
        ("Allow edits to main.py? (Y)es/(N)o/(D)on't ask again [Yes]: ", True),
        ("[sudo] password for a: ", True),
        ("Press Enter to continue", True),
        ("a@host:~/my_proj.v2$ ", False),
        ("Compiling parser v0.3.1", False),
    ],
)
def test_shell_questions_are_the_last_line_asking(last_line: str, asked: bool) -> None:
    pane = f"some output\n{last_line}\n\n\n"
    assert shell_question(pane) == (last_line.strip() if asked else None)


# -- states over time (explicit clock) ----------------------------------------


def test_a_pane_that_keeps_changing_is_working_and_keeps_its_since() -> None:
    tracker = ActivityTracker()
    states = [tracker.update(working_pane(s), session=session(), now=T0 + s) for s in range(6)]
    assert [a.state for a in states[1:]] == [WORKING] * 5
    assert {a.since for a in states[1:]} == {T0 + 1}


def test_a_still_pane_of_another_agent_goes_idle_after_the_threshold() -> None:
    tracker = ActivityTracker()
    tracker.update("building...", now=T0)
    assert tracker.update("building... done", now=T0 + 1).state == WORKING
    # Output pauses: still working for a while, then idle.
    assert tracker.update("building... done", now=T0 + 20).state == WORKING
    idle = tracker.update("building... done", now=T0 + 1 + 30)
    assert said(idle) == (IDLE, None, T0 + 31)
    assert tracker.update("building... done", now=T0 + 100).since == T0 + 31


def test_another_agent_asking_y_n_is_waiting_once_the_pane_settles() -> None:
    tracker = ActivityTracker()
    tracker.update("Planning...", now=T0)
    pane = "Planning...\nApply 3 edits to report.py? [y/N] "
    assert tracker.update(pane, now=T0 + 1).state == WORKING
    asked = tracker.update(pane, now=T0 + 5)
    assert said(asked) == (WAITING, "Apply 3 edits to report.py? [y/N]", T0 + 5)
    assert asked.request is not None and asked.request["kind"] == "question"


def test_a_dead_pane_is_exited_with_its_status() -> None:
    tracker = ActivityTracker()
    tracker.update(working_pane(1), session=session(), now=T0)
    dead = tracker.update("bye\n", pane_dead=True, exit_status=3, now=T0 + 1)
    assert said(dead) == (EXITED, "exit status 3", T0 + 1) and dead.source == "process"


def test_claude_turn_ended_is_waiting_even_while_the_person_types() -> None:
    ended = session(last_kind="assistant_text", last_stop_reason="end_turn")
    tracker = ActivityTracker()
    assert tracker.update("╭─╮\n│ > │\n╰─╯", session=ended, now=T0).reason == "turn ended"
    typed = tracker.update("╭─╮\n│ > fix the tes │\n╰─╯", session=ended, now=T0 + 1)
    assert said(typed) == (WAITING, "turn ended", T0) and typed.source == "session"


def test_claude_with_a_null_stop_reason_waits_only_once_the_pane_settles() -> None:
    text_only = session(last_kind="assistant_text", last_stop_reason=None)
    tracker = ActivityTracker()
    tracker.update(working_pane(0), session=text_only, now=T0)
    assert tracker.update(working_pane(1), session=text_only, now=T0 + 1).state == WORKING
    settled = tracker.update(working_pane(1), session=text_only, now=T0 + 4.5)
    assert said(settled) == (WAITING, "turn ended", T0 + 4.5)


def test_claude_blocked_on_a_tool_waits_with_its_name_once_the_pane_settles() -> None:
    blocked = session(last_kind="assistant_tool", pending_tools=("Bash",))
    tracker = ActivityTracker()
    pane = "⏺ Bash(make test)\n  ⎿  Running…\n"
    tracker.update(pane, session=blocked, now=T0)
    assert tracker.update(pane + "x", session=blocked, now=T0 + 1).state == WORKING
    blocked_wait = tracker.update(pane + "x", session=blocked, now=T0 + 5)
    assert said(blocked_wait) == (WAITING, "Bash needs approval", T0 + 5)
    assert blocked_wait.request is None  # no prompt on screen that keys could answer
    asking = session(last_kind="assistant_tool", pending_tools=("AskUserQuestion",))
    assert tracker.update(pane + "x", session=asking, now=T0 + 6).reason == "Claude asks a question"


def test_a_visible_prompt_wins_over_a_changing_pane_and_a_new_prompt_is_a_new_wait() -> None:
    tracker = ActivityTracker()
    tracker.update(working_pane(0), session=session(pending_tools=("Bash",)), now=T0)
    first = tracker.update(BASH_PROMPT, session=session(pending_tools=("Bash",)), now=T0 + 1)
    assert said(first) == (WAITING, "Do you want to proceed?", T0 + 1)
    second = tracker.update(EDIT_PROMPT, session=session(pending_tools=("Edit",)), now=T0 + 2)
    assert second.since == T0 + 2


def test_without_a_pane_claude_is_working_while_its_session_is_fresh() -> None:
    tracker = ActivityTracker()
    assert tracker.update(None, session=session(last_kind="prompt"), now=T0 + 2).state == WORKING
    assert tracker.update(None, session=session(last_kind="prompt"), now=T0 + 60).state == IDLE


def test_the_same_question_again_on_another_screen_is_a_new_wait() -> None:
    tracker = ActivityTracker()
    first = tracker.update(BASH_PROMPT, now=T0)
    second = tracker.update(BASH_PROMPT.replace("rm -rf build/", "rm -rf dist/ "), now=T0 + 1)
    assert first.reason == second.reason == "Do you want to proceed?"
    assert first.request and second.request and first.request["id"] != second.request["id"]
    assert second.since == T0 + 1
    assert (
        tracker.update(BASH_PROMPT.replace("rm -rf build/", "rm -rf dist/ "), now=T0 + 2) == second
    )


@pytest.mark.parametrize(
    ("pane", "allow", "keys"),
    [
        (BASH_PROMPT, True, ["1"]),  # the pointer is on "1. Yes"
        (EDIT_PROMPT, True, ["Up", "1"]),  # the person moved it to 2
        (BASH_PROMPT, False, ["Escape"]),
        ("x\nOverwrite config.toml? [y/N] ", True, ["y", "Enter"]),
        ("x\nOverwrite config.toml? [y/N] ", False, ["n", "Enter"]),
        (
            "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
            True,
            ["yes", "Enter"],
        ),
        ("[sudo] password for a: ", True, None),  # not a yes or a no
        ("Compiling parser v0.3.1", True, None),
    ],
)
def test_the_keys_that_answer_a_prompt_on_screen(
    pane: str, allow: bool, keys: list[str] | None
) -> None:
    assert prompt_keys(pane, allow) == keys


def test_only_prompts_keys_answer_carry_a_request() -> None:
    tracker = ActivityTracker()
    tracker.update("x\nPassword: ", now=T0)
    asked = tracker.update("x\nPassword: ", now=T0 + 5)
    assert said(asked) == (WAITING, "Password:", T0 + 5) and asked.request is None


def test_the_pane_hash_is_the_same_in_every_process() -> None:
    # Python's own hash() of a str differs per process (PYTHONHASHSEED): two
    # hostd processes must agree on a prompt's request id.
    code = "import sys; from hostd.claude.activity import pane_hash; print(pane_hash(sys.argv[1]))"
    other = subprocess.run([sys.executable, "-c", code, BASH_PROMPT], capture_output=True,
                           text=True, check=True, cwd=REPO).stdout.strip()  # fmt: skip
    assert other == pane_hash(BASH_PROMPT) and len(other) == 32


def test_a_tracker_carries_on_from_another_trackers_memory() -> None:
    first = ActivityTracker()
    first.update("Planning...", now=T0)
    pane = "Planning...\nApply 3 edits to report.py? [y/N] "
    first.update(pane, now=T0 + 1)
    seen = first.update(pane, now=T0 + 5)
    assert seen.state == WAITING
    # A new tracker (a new hostd) looking once would say idle; carrying on it
    # says what the first says, with the same since.
    assert ActivityTracker().update(pane, now=T0 + 6).state == IDLE
    second = ActivityTracker()
    second.restore(first.memory)
    assert second.update(pane, now=T0 + 6) == seen
    # Its own memory is not replaced by a later restore.
    second.update(pane + "y", now=T0 + 7)
    second.restore(first.memory)
    assert second.update(pane + "y", now=T0 + 8).state == WORKING


def test_activity_as_the_protocol_shows_it() -> None:
    assert Activity(WAITING, "turn ended", 1_764_412_200.123, "session").to_dict() == {
        "state": "waiting",
        "reason": "turn ended",
        "since": "2025-11-29T10:30:00.123Z",
        "source": "session",
        "request": None,
    }


# -- real tmux panes -------------------------------------------------------------------


@pytest.fixture
def tmux_pane(
    short_tmp: Path,
) -> Iterator[Callable[[str], Callable[[], tuple[str, bool, int | None]]]]:
    """Start a script in a pane of a private tmux server; return a reader of that pane.

    The reader returns (visible text, pane dead, exit status), as hostd reads it.
    """
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sock = short_tmp / "s"
    conf = short_tmp / "tmux.conf"
    conf.write_text("set -g remain-on-exit on\n")

    def tmux(*args: str) -> str:
        res = subprocess.run(
            ["tmux", "-S", str(sock), *args], capture_output=True, text=True, timeout=30
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    def start(script: str) -> Callable[[], tuple[str, bool, int | None]]:
        path = short_tmp / "agent.sh"
        path.write_text(script)
        tmux("-f", str(conf), "new-session", "-d", "-s", "a", "-x", "100", "-y", "30", f"sh {path}")

        def read() -> tuple[str, bool, int | None]:
            # hostd's own reading of the pane's state (it works around tmux
            # 3.3a sometimes missing a fast-exiting pane's exit status).
            state = pane_state(sock, "a")
            assert state is not None
            text = tmux("capture-pane", "-p", "-t", "a")
            return text, state.dead, state.status

        return read

    try:
        yield start
    finally:
        subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True, timeout=30)


PROMPT_SCRIPT = r"""
printf '%s\n' "⏺ Bash(rm -rf build/)" ""
printf '%s\n' "╭──────────────────────────────────────────────╮"
printf '%s\n' "│ Bash command                                 │"
printf '%s\n' "│   rm -rf build/                              │"
printf '%s\n' "│ Do you want to proceed?                      │"
printf '%s\n' "│ ❯ 1. Yes                                     │"
printf '%s\n' "│   2. Yes, and don't ask again for rm         │"
printf '%s\n' "│   3. No, and tell Claude what to do differently (esc) │"
printf '%s\n' "╰──────────────────────────────────────────────╯"
read answer
"""


def observe(tracker: ActivityTracker, read: Callable[[], tuple[str, bool, int | None]]) -> Activity:
    text, dead, status = read()
    return tracker.update(text, pane_dead=dead, exit_status=status)


def test_real_pane_with_a_permission_prompt_is_waiting_with_its_question(
    tmux_pane: Callable[[str], Callable[[], tuple[str, bool, int | None]]],
) -> None:
    read = tmux_pane(PROMPT_SCRIPT)
    tracker = ActivityTracker()
    got = wait_for(
        lambda: observe(tracker, read).state == WAITING and tracker.current,
        what="the prompt to show",
    )
    assert got.reason == "Do you want to proceed?"


def test_real_pane_printing_steadily_is_working(
    tmux_pane: Callable[[str], Callable[[], tuple[str, bool, int | None]]],
) -> None:
    read = tmux_pane('i=0; while :; do i=$((i+1)); echo "step $i"; sleep 0.2; done\n')
    tracker = ActivityTracker()
    wait_for(lambda: observe(tracker, read).state == WORKING, interval=0.3, what="working")
    for _ in range(5):  # and it stays so, observation after observation
        time.sleep(0.3)
        assert observe(tracker, read).state == WORKING


def test_real_pane_asking_y_n_then_still_is_waiting_then_idle(
    tmux_pane: Callable[[str], Callable[[], tuple[str, bool, int | None]]],
) -> None:
    read = tmux_pane("sleep 0.5; printf 'Overwrite config.toml? [y/N] '; read answer\n")
    tracker = ActivityTracker(still_after=1.0, idle_after=60.0)
    got = wait_for(
        lambda: observe(tracker, read).state == WAITING and tracker.current,
        interval=0.2,
        what="the question",
    )
    assert got.reason == "Overwrite config.toml? [y/N]"


def test_real_pane_standing_still_goes_idle(
    tmux_pane: Callable[[str], Callable[[], tuple[str, bool, int | None]]],
) -> None:
    read = tmux_pane("echo 'all done'; sleep 600\n")
    tracker = ActivityTracker(still_after=0.5, idle_after=1.5)
    wait_for(
        lambda: observe(tracker, read).state == IDLE and "all done" in read()[0],
        interval=0.2,
        what="idle",
    )


def test_real_pane_whose_agent_exits_is_exited(
    tmux_pane: Callable[[str], Callable[[], tuple[str, bool, int | None]]],
) -> None:
    read = tmux_pane("echo 'Goodbye!'; exit 3\n")
    tracker = ActivityTracker()
    got = wait_for(
        lambda: observe(tracker, read).state == EXITED and tracker.current, what="the pane to die"
    )
    assert got.reason == "exit status 3"

"""A create or start whose agent ends at once answers ``exited``, with the
exit code and the pane's last lines, through a real hostd, tmux and bwrap."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hostd.protocol import spec
from hostd.sandbox import exits
from tests.helpers import STUBS, Hostd, wait_for


@pytest.fixture(autouse=True)
def default_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are of the wait itself: hostd's own (spec.SETTLE_S), not
    the suite's shorter one (tests/conftest.py)."""
    monkeypatch.delenv("HOSTD_SETTLE_S", raising=False)


def create(h: Hostd, project: Path, agent: str, name: str = "quick", **kw: object) -> dict:
    return h.call("sandbox.create", name=name, backend=kw.pop("backend", "none"),
                  project_dir=str(project), agent=agent, **kw)  # fmt: skip


def test_a_missing_agent_answers_exited_127_with_the_pane_text_naming_it(
    hostd_factory: Callable[..., Hostd], project: Path
) -> None:
    h = hostd_factory()
    sb = create(h, project, "no-such-agent-xyz --flag")
    assert (sb["status"], sb["exit_code"]) == ("exited", 127)
    assert any("no-such-agent-xyz" in line and "not found" in line for line in sb["last_lines"])
    assert not any(line.startswith("Pane is dead") for line in sb["last_lines"])
    # The record is kept, as exited, so its log can be read.
    assert h.call("sandbox.get", id="quick") == sb
    assert "no-such-agent-xyz" in h.call("sandbox.logs", id="quick")["text"]
    # And so it is for a hostd started afresh (its reconcile runs first).
    h.close()
    again = hostd_factory().call("sandbox.get", id="quick")
    assert (again["status"], again["exit_code"], again["last_lines"]) == (
        "exited", 127, sb["last_lines"]
    )  # fmt: skip


def test_an_agent_that_keeps_running_still_answers_running(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, "sleep 600")
    assert (sb["status"], sb["exit_code"], sb["last_lines"]) == ("running", None, None)


def test_the_wait_ends_when_the_agent_does(hostd: Hostd, project: Path) -> None:
    """The answer comes once the pane ends, not after the whole settle wait."""
    create(hostd, project, "sh -c 'exit 0'", name="warm")  # libtmux imported, tools found
    t0 = time.monotonic()
    sb = create(hostd, project, "sh -c 'echo bye; exit 3'")
    took = time.monotonic() - t0
    assert (sb["status"], sb["exit_code"], sb["last_lines"]) == ("exited", 3, ["bye"])
    t0 = time.monotonic()
    create(hostd, project, "sleep 600", name="runs")
    assert took < time.monotonic() - t0  # the running one waited the whole second


def test_hostd_settle_s_sets_the_wait_and_a_bad_value_keeps_the_second(
    hostd_factory: Callable[..., Hostd], project: Path
) -> None:
    agent = "sh -c 'sleep 0.4; echo slow to fail; exit 6'"
    none = hostd_factory(env={"HOSTD_SETTLE_S": "0"})
    assert create(none, project, agent, name="unwaited")["status"] == "running"
    none.close()
    h = hostd_factory(env={"HOSTD_SETTLE_S": "soon"})
    sb = create(h, project, agent, name="typo")
    assert (sb["status"], sb["exit_code"], sb["last_lines"]) == ("exited", 6, ["slow to fail"])


@pytest.mark.parametrize(("raw", "seconds"), [
    ("0.25", 0.25), ("0", 0.0), ("10", 10.0),
    ("soon", spec.SETTLE_S), ("-1", spec.SETTLE_S), ("nan", spec.SETTLE_S),
    ("inf", spec.SETTLE_S), ("60", spec.SETTLE_S), ("", spec.SETTLE_S),
])  # fmt: skip
def test_the_settle_wait_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, seconds: float
) -> None:
    monkeypatch.setenv("HOSTD_SETTLE_S", raw)
    assert exits.settle_seconds() == seconds


def test_an_agent_that_ends_later_gets_its_last_lines_from_reconcile(
    hostd: Hostd, project: Path
) -> None:
    late = spec.SETTLE_S + 0.5
    sb = create(hostd, project, f"sh -c 'sleep {late}; echo done late; exit 4'")
    assert sb["status"] == "running"
    got = wait_for(
        lambda: (s := hostd.call("sandbox.get", id=sb["id"]))["status"] == "exited" and s
    )
    assert (got["exit_code"], got["last_lines"]) == (4, ["done late"])


def test_start_clears_the_last_lines_or_answers_exited_again(hostd: Hostd, project: Path) -> None:
    agent = "sh -c 'test -e ready || { echo not ready yet; exit 5; }; sleep 600'"
    sb = create(hostd, project, agent)
    assert (sb["status"], sb["exit_code"], sb["last_lines"]) == ("exited", 5, ["not ready yet"])
    again = hostd.call("sandbox.start", id=sb["id"])
    assert (again["status"], again["exit_code"], again["last_lines"]) == (
        "exited", 5, ["not ready yet"]
    )  # fmt: skip
    (project / "ready").write_text("")
    running = hostd.call("sandbox.start", id=sb["id"])
    assert (running["status"], running["exit_code"], running["last_lines"]) == (
        "running", None, None
    )  # fmt: skip


def test_a_hostd_killed_during_starts_settle_leaves_a_running_record(
    hostd_factory: Callable[..., Hostd], project: Path
) -> None:
    """The agent of a start runs, while its record said exited (the last run's)
    until the settle ended: a hostd killed in between must not leave it so."""
    agent = "sh -c 'test -e ready || { echo not ready; exit 5; }; touch started; exec sleep 600'"
    h = hostd_factory()
    sb = create(h, project, agent)
    assert (sb["status"], sb["exit_code"]) == ("exited", 5)
    (project / "ready").write_text("")
    h.request("sandbox.start", {"id": sb["id"]})
    wait_for(lambda: (project / "started").exists())  # inside the settle's second
    h.proc.kill()
    h.proc.wait()
    fresh = hostd_factory()
    again = fresh.call("sandbox.get", id=sb["id"])
    assert (again["status"], again["exit_code"], again["last_lines"]) == ("running", None, None)
    assert fresh.call("sandbox.pane", id=sb["id"])["text"] is not None
    fresh.call("sandbox.delete", id=sb["id"])


def test_hello_says_where_the_agents_are_and_that_create_settles(
    hostd_factory: Callable[..., Hostd], short_tmp: Path, stub_env: dict[str, str]
) -> None:
    bindir = short_tmp / "bin"
    bindir.mkdir()
    for name in ("sh", "tmux", "Xvfb", "python3"):
        if found := shutil.which(name):
            (bindir / name).symlink_to(found)
    hello = hostd_factory().call("hello")
    assert "create.settle" in hello["capabilities"]
    on_path = {name: shutil.which(name, path=stub_env["PATH"]) for name in spec.AGENT_PROBES}
    assert hello["commands"] == on_path
    assert hello["commands"]["claude"] == str(STUBS / "claude")  # first on hostd's PATH
    # A host with no claude and no bash says so.
    bare = hostd_factory(env={"PATH": str(bindir)}).call("hello")
    assert bare["commands"] == {"claude": None, "bash": None, "sh": str(bindir / "sh")}


# -- the built-in bubblewrap launcher ---------------------------------------------------------

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bwrap")


@pytest.fixture
def builtin_hostd(hostd_factory: Callable[..., Hostd], short_tmp: Path) -> Hostd:
    """hostd whose PATH has bwrap but no claude-sandbox: the built-in launcher serves."""
    home = short_tmp / "home"
    home.mkdir()
    return hostd_factory(env={"PATH": os.environ["PATH"], "HOME": str(home)})


@needs_bwrap
def test_bubblewrap_missing_agent_answers_exited_127(builtin_hostd: Hostd, project: Path) -> None:
    sb = create(builtin_hostd, project, "no-such-agent-xyz", backend="bubblewrap")
    assert (sb["status"], sb["exit_code"]) == ("exited", 127)
    assert any("no-such-agent-xyz was not found" in line for line in sb["last_lines"])


@needs_bwrap
def test_a_launcher_refusing_the_project_folder_answers_exited_2(
    builtin_hostd: Hostd, project: Path, short_tmp: Path
) -> None:
    # A .git that is a link: the launcher cannot keep its config read-only.
    (short_tmp / "elsewhere").mkdir()
    (project / ".git").symlink_to(short_tmp / "elsewhere")
    sb = create(builtin_hostd, project, "sleep 600", backend="bubblewrap")
    assert (sb["status"], sb["exit_code"]) == ("exited", 2)
    assert any(".git" in line and "symbolic link" in line for line in sb["last_lines"])


# -- the lines kept, from what a pane showed ----------------------------------------------------


def test_last_lines_leave_out_blanks_controls_and_tmuxs_own_line() -> None:
    dead = "Pane is dead (status 127, Tue Dec  2 09:40:01 2025)"
    rows = ["", "first\x1b[31m\x07 \t", "  ", "second\u2028", dead]
    assert exits.last_lines(rows) == ["first[31m", "second"]
    assert exits.last_lines(["only", "Pane is dead"]) == ["only"]
    # Bidi overrides and zero-width characters would reorder or hide text.
    assert exits.last_lines(["rm \u202eexe.txt\u202c", "a\u200bb\ufeff"]) == ["rm exe.txt", "ab"]


def test_last_lines_keep_the_last_ten_each_cut_to_300_characters() -> None:
    rows = [f"line {i}" for i in range(15)] + ["x" * 400]
    got = exits.last_lines(rows)
    assert got[:-1] == [f"line {i}" for i in range(6, 15)]
    assert len(got) == exits.MAX_LINES and got[-1] == "x" * 299 + "…"

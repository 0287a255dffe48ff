"""claude-remote waiting / allow / deny / wait over the test sshd, against a Claude
Code stand-in that asks permission through the hooks hostd gave it
(tests/stubs/claude --stub-permission)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import wait_for
from tests.remote.conftest import Remote

H = ("--host", "testhost")


def asking(remote: Remote, name: str, command: str = "rm -rf build/") -> Path:
    """A sandbox whose agent asks to run ``command``; its own project folder."""
    project = remote.project / name
    project.mkdir()
    agent = f"claude --stub-permission '{command}'"
    res = remote.cli(*H, "create", name, "none", str(project), "--agent", agent)
    assert res.returncode == 0, res.stderr
    return project


def waiting(remote: Remote) -> list[dict]:
    res = remote.cli(*H, "waiting", "--json")
    assert res.returncode == 0, res.stderr
    rows: list[dict] = json.loads(res.stdout)
    return rows


def test_waiting_lists_what_each_asks_and_allow_and_deny_answer_it(remote: Remote) -> None:
    allowed = asking(remote, "yes-one")
    denied = asking(remote, "no-one", "git push --force")
    rows = wait_for(lambda: len(waiting(remote)) == 2 and waiting(remote), what="both waiting")
    by_name = {r["name"]: r["activity"] for r in rows}
    assert by_name["yes-one"]["reason"] == "Bash: rm -rf build/"
    assert by_name["yes-one"]["request"]["tool"] == "Bash"
    assert by_name["yes-one"]["source"] == "hooks"
    text = remote.cli(*H, "waiting").stdout
    assert "Bash: git push --force" in text and by_name["no-one"]["request"]["id"] in text
    ls = remote.cli(*H, "ls").stdout
    assert "waiting: Bash: rm -rf build/" in ls

    res = remote.cli(*H, "allow", "yes-one")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "allowed yes-one: Bash: rm -rf build/"
    wait_for(lambda: (allowed / "stub-result").exists(), what="the agent to hear it")
    assert (allowed / "stub-result").read_text().strip() == "allowed"

    request = by_name["no-one"]["request"]["id"]
    res = remote.cli(*H, "deny", "no-one", "--request", request, "--message", "not on main")
    assert res.returncode == 0, res.stderr
    wait_for(lambda: (denied / "stub-result").exists(), what="the deny to arrive")
    assert (denied / "stub-result").read_text().strip() == "denied: not on main"

    # The same request again: no longer pending, refused, nothing changes.
    again = remote.cli(*H, "deny", "no-one", "--request", request, "--json")
    assert again.returncode == 1
    said = json.loads(again.stdout)["error"]["message"]  # --json: the error as JSON
    assert "pending" in said or "answered" in said
    nothing = remote.cli(*H, "allow", "no-one")
    assert nothing.returncode == 1 and "asks for nothing" in nothing.stderr
    # Both still wait, now for the person's next prompt (Claude ended its turn).
    after = wait_for(lambda: all(r["activity"]["request"] is None for r in waiting(remote))
                     and waiting(remote), what="the requests gone")  # fmt: skip
    assert {r["activity"]["reason"] for r in after} == {"turn ended"}


def test_wait_returns_when_the_state_is_reached_or_says_it_was_not(remote: Remote) -> None:
    res = remote.cli(*H, "create", "slow", "none", str(remote.project), "--agent", "sleep 600")
    assert res.returncode == 0, res.stderr
    late = remote.cli(*H, "wait", "slow", "--for", "exited", "--timeout", "2")
    assert late.returncode == 3 and "still" in late.stderr
    asking(remote, "asks")
    got = remote.cli(*H, "wait", "asks", "--timeout", "60", "--json")
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)
    assert data["reached"] and data["activity"]["state"] == "waiting"
    assert remote.cli(*H, "stop", "slow").returncode == 0
    ended = remote.cli(*H, "wait", "slow", "--for", "waiting", "--timeout", "30")
    assert ended.returncode == 4 and "ended" in ended.stderr

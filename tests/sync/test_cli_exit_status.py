"""claude-remote sync's exit status over the real sshd and rsync: a sync that
left conflicts says so with its own status (5), as text and as --json."""

from __future__ import annotations

import json
from pathlib import Path

from tests.remote.conftest import Remote
from tests.sync.conftest import tree

H = ("--host", "testhost")
SYNC_CONFLICTS = 5


def test_a_sync_that_leaves_conflicts_exits_5(remote: Remote, short_tmp: Path) -> None:
    local = short_tmp / "here"
    local.mkdir()
    (local / "notes.txt").write_text("v1")
    (local / "plain.txt").write_text("unchanged")
    dest = remote.project
    env = {"XDG_STATE_HOME": str(short_tmp / "xdg")}
    res = remote.cli(*H, "sync", str(local), str(dest), env=env)
    assert res.returncode == 0, res.stderr

    (dest / "notes.txt").write_text("the agent's version")
    (local / "notes.txt").write_text("my version, longer")
    res = remote.cli(*H, "sync", str(local), str(dest), env=env)
    assert res.returncode == SYNC_CONFLICTS, res.stderr
    assert "  conflict: notes.txt changed on both sides" in res.stdout
    assert sorted(tree(local).values()) == sorted(
        ["the agent's version", "my version, longer", "unchanged"]
    )
    # The conflict is left as two files; the next sync has nothing new to say.
    res = remote.cli(*H, "sync", str(local), str(dest), env=env)
    assert res.returncode == 0, res.stdout

    (dest / "plain.txt").write_text("theirs")
    (local / "plain.txt").write_text("mine!!")
    res = remote.cli(*H, "sync", str(local), str(dest), "--json", env=env)
    assert res.returncode == SYNC_CONFLICTS, res.stderr
    result = json.loads(res.stdout)  # the result, not an error: the sync was done
    assert [c["path"] for c in result["conflicts"]] == ["plain.txt"]


def test_sync_help_says_what_each_exit_status_means(remote: Remote) -> None:
    res = remote.cli("sync", "--help")
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    assert "exit status: 0 in sync; 5 done, but it left conflicts" in text
    assert "1 config files held back" in text and "255 the host could not be reached" in text

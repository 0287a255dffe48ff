"""Files that configure or run code on this machine, changed by the agent on
the host, wait for the person's word (app/remote/sync/review.py): held back
from the round (the rest goes ahead), named, taken once accepted."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from app.remote.client import Client
from app.remote.local import LocalHost
from app.remote.sync.result import SyncResult
from app.remote.sync.review import is_config
from app.remote.sync.syncer import Syncer
from tests.remote.conftest import Remote
from tests.sync.conftest import tree
from tests.sync.test_sync_rules import World


@pytest.fixture
def world(short_tmp: Path) -> World:
    return World(short_tmp)


def test_which_paths_are_config_files() -> None:
    yes = [
        ".claude/settings.json",
        ".claude/settings.local.json",
        ".claude/settings.anything.json",
        ".Claude/Settings.JSON",
        ".CLAUDE/commands",
        ".claude/commands/deploy.md",
        ".claude/Commands/sub/x.md",
        ".mcp.json",
        ".MCP.json",
        ".envrc",
        "sub/.envrc",
        ".ENVRC.",  # what Windows makes of it
        ".vscode/tasks.json",
        "pkg/.vscode/Tasks.json",
        "pkg/.claude/settings.json",
        ".\uff43laude/settings.json",  # a fullwidth c: NFKC makes it .claude
    ]
    no = [
        ".claude",
        ".claude/notes.md",
        ".claude/settings.json.conflict-remote-20250101T000000Z",
        ".claude/agents/x.md",
        "claude/settings.json",
        ".vscode/settings.json",
        ".vscode",
        "mcp.json",
        "src/envrc",
        "commands/x.md",
    ]
    for path in yes:
        assert is_config(path), path
    for path in no:
        assert not is_config(path), path


def run(
    world: World,
    mode: str = "both",
    during: Callable[[Syncer], Coroutine[Any, Any, SyncResult]] | None = None,
    accept_config: bool = False,
) -> SyncResult:
    async def go() -> SyncResult:
        client = Client(LocalHost(env={"HOSTD_STATE_DIR": str(world.hostd_state)}))
        await client.connect()
        try:
            async with Syncer(
                client, world.local, str(world.remote), state_dir=world.sync_state,
                accept_config=accept_config,
            ) as s:  # fmt: skip
                if during is not None:
                    return await during(s)
                return await s.run(mode)  # type: ignore[arg-type]
        finally:
            await client.close()

    return asyncio.run(go())


def test_a_settings_file_made_on_the_host_is_held_and_the_rest_lands(world: World) -> None:
    (world.remote / ".claude" / "commands").mkdir(parents=True)
    (world.remote / ".claude" / "settings.json").write_text('{"hooks": "evil"}')
    (world.remote / ".claude" / "commands" / "go.md").write_text("run evil")
    (world.remote / ".mcp.json").write_text("{}")
    (world.remote / "sub").mkdir()
    (world.remote / "sub" / ".envrc").write_text("evil")
    (world.remote / ".vscode").mkdir()
    (world.remote / ".vscode" / "tasks.json").write_text("{}")
    (world.remote / ".vscode" / "settings.json").write_text("{}")  # not one of them
    (world.remote / "code.py").write_text("fine")
    for mode in ("pull", "both"):
        res = run(world, mode)
        assert sorted(h.path for h in res.held) == [
            ".claude/commands",
            ".claude/commands/go.md",
            ".claude/settings.json",
            ".mcp.json",
            ".vscode/tasks.json",
            "sub/.envrc",
        ]
        assert {h.change for h in res.held} == {"new"}
        assert tree(world.local) == {"code.py": "fine", ".vscode/settings.json": "{}"}
        assert ".claude/settings.json" not in res.received
    # Accepted: all of it lands, and the round after is quiet.
    res = run(world, "both", accept_config=True)
    assert not res.held
    assert (world.local / ".claude" / "settings.json").read_text() == '{"hooks": "evil"}'
    assert (world.local / "sub" / ".envrc").read_text() == "evil"
    assert tree(world.local) == tree(world.remote)
    assert not run(world).changed


def test_a_replacement_and_a_deletion_of_a_config_file_are_held_too(world: World) -> None:
    (world.local / ".envrc").write_text("mine")
    (world.local / ".mcp.json").write_text("mine")
    run(world, "push")
    (world.remote / ".envrc").write_text("theirs")
    (world.remote / ".mcp.json").unlink()
    res = run(world, "both")
    assert {(h.path, h.change) for h in res.held} == {
        (".envrc", "changed"),
        (".mcp.json", "deleted"),
    }
    assert (world.local / ".envrc").read_text() == "mine"
    assert (world.local / ".mcp.json").read_text() == "mine"
    # Nothing was recorded for them: the next round holds them again, and
    # this side's version was not carried over the host's either.
    res = run(world, "both")
    assert len(res.held) == 2 and not res.sent
    assert (world.remote / ".envrc").read_text() == "theirs"


def test_accepting_takes_the_version_shown_and_asks_again_about_a_newer_one(
    world: World,
) -> None:
    (world.remote / ".envrc").write_text("v1")

    async def body(s: Syncer) -> SyncResult:
        first = await s.run("both")
        assert [h.path for h in first.held] == [".envrc"]
        # Changed on the host between being shown and being accepted.
        os.utime(world.remote / ".envrc", ns=(1, 1))
        (world.remote / ".envrc").write_text("v2 is different")
        s.accept(first.held)
        again = await s.run("both")
        assert [h.path for h in again.held] == [".envrc"] and not (world.local / ".envrc").exists()
        s.accept(again.held)
        return await s.run("both")

    res = run(world, during=body)
    assert not res.held and res.received == [".envrc"]
    assert (world.local / ".envrc").read_text() == "v2 is different"


def test_keep_mine_leaves_this_machines_file_and_stops_asking(world: World) -> None:
    (world.local / ".envrc").write_text("mine")
    run(world, "push")
    (world.remote / ".envrc").write_text("the agent's")

    async def body(s: Syncer) -> SyncResult:
        held = (await s.run("both")).held
        assert [h.change for h in held] == ["changed"]
        s.keep_mine(held)
        quiet = await s.run("both")
        assert not quiet.held and not quiet.changed
        (world.remote / ".envrc").write_text("the agent, again")
        again = await s.run("both")
        s.keep_mine(again.held)
        assert not (await s.run("both")).changed
        return again

    res = run(world, during=body)
    assert [h.path for h in res.held] == [".envrc"]  # a new version: asked again
    assert (world.local / ".envrc").read_text() == "mine"
    # This machine's next edit goes over as usual.
    (world.local / ".envrc").write_text("mine, edited")
    res = run(world, "push", accept_config=False)
    assert res.sent == [".envrc"] and not res.held


def test_a_link_named_claude_is_held_whatever_it_points_at(world: World) -> None:
    (world.remote / "elsewhere").mkdir()
    (world.remote / "elsewhere" / "settings.json").write_text('{"hooks": "evil"}')
    os.symlink("elsewhere", world.remote / ".claude")
    res = run(world, "pull")
    assert [(h.path, h.kind) for h in res.held] == [(".claude", "link")]
    assert not os.path.lexists(world.local / ".claude")
    assert (world.local / "elsewhere" / "settings.json").exists()  # an ordinary file there


def test_a_watch_holds_them_and_takes_them_once_accepted(world: World) -> None:
    from app.remote.sync.watch import run_watch

    (world.local / "a.txt").write_text("a")
    results: list[SyncResult] = []

    async def body(s: Syncer) -> SyncResult:
        task = asyncio.ensure_future(run_watch(s, on_result=results.append))
        loop = asyncio.get_running_loop()

        async def until(cond: Callable[[], bool], what: str) -> None:
            end = loop.time() + 30
            while not cond():
                assert loop.time() < end, f"timed out waiting for {what}"
                await asyncio.sleep(0.05)

        try:
            await until(lambda: (world.remote / "a.txt").exists(), "the first round")
            (world.remote / ".mcp.json").write_text('{"servers": "evil"}')
            (world.remote / "b.txt").write_text("b")
            await until(lambda: (world.local / "b.txt").exists(), "b.txt to come here")
            await until(lambda: bool(results and results[-1].held), "the hold")
            assert not (world.local / ".mcp.json").exists()
            s.accept(results[-1].held)
            await until(lambda: (world.local / ".mcp.json").exists(), "the accepted file")
            return results[-1]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    run(world, during=body)
    assert (world.local / ".mcp.json").read_text() == '{"servers": "evil"}'


def test_cli_sync_holds_git_and_settings_made_on_the_host_over_ssh(
    remote: Remote, short_tmp: Path
) -> None:
    """The issue's case, through claude-remote over SSH: a .GIT/hooks/x and a
    .claude/settings.json made on the host are not pulled silently."""
    local = short_tmp / "laptop"
    local.mkdir()
    (local / ".git" / "hooks").mkdir(parents=True)
    dest = remote.project
    (dest / ".GIT" / "hooks").mkdir(parents=True)
    (dest / ".GIT" / "hooks" / "pre-commit").write_text("#!/bin/sh\nevil\n")
    (dest / ".claude").mkdir()
    (dest / ".claude" / "settings.json").write_text('{"hooks": "evil"}')
    (dest / "work.py").write_text("the agent's work")
    env = {"XDG_STATE_HOME": str(short_tmp / "xdg")}
    h = ("--host", "testhost")
    res = remote.cli(*h, "sync", str(local), str(dest), env=env)
    assert res.returncode == 1, res.stderr
    assert "held back 1 change from the host" in res.stderr
    assert ".claude/settings.json (new)" in res.stderr
    assert "--accept-config" in res.stderr and "received 1: work.py" in res.stdout
    assert (local / "work.py").read_text() == "the agent's work"
    assert not (local / ".claude" / "settings.json").exists()
    assert os.listdir(local / ".git" / "hooks") == [] and not (local / ".GIT").exists()

    res = remote.cli(*h, "sync", str(local), str(dest), "--accept-config", env=env)
    assert res.returncode == 0, res.stderr
    assert (local / ".claude" / "settings.json").read_text() == '{"hooks": "evil"}'
    assert os.listdir(local / ".git" / "hooks") == []  # never, accepted or not
    assert remote.cli(*h, "sync", str(local), str(dest), env=env).returncode == 0

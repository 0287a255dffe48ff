"""A folder emptied since the last sync (``rm -rf``, a sandbox made again at
the same path, a disk not mounted) is not taken as "delete everything on the
other side": the round refuses, says so, and a one-way sync fills the empty
folder again. Local mode, real folders, real rsync."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.remote.client import Client
from app.remote.local import LocalHost
from app.remote.sync.result import SyncResult
from app.remote.sync.state import SyncRefused
from app.remote.sync.syncer import Syncer
from app.remote.sync.watch import run_watch
from tests.helpers import REPO
from tests.sync.conftest import tree
from tests.sync.test_sync_rules import World


@pytest.fixture
def world(short_tmp: Path) -> World:
    w = World(short_tmp)
    (w.local / "README.md").write_text("readme")
    (w.local / "src").mkdir()
    (w.local / "src" / "main.py").write_text("print('hi')")
    (w.local / "src" / "util.py").write_text("pass")
    (w.local / ".gitignore").write_text("*.log\n")
    w.run("both")
    assert tree(w.remote) == tree(w.local)
    return w


def empty(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.mkdir()


def test_an_emptied_remote_is_refused_both_ways_and_a_push_fills_it(world: World) -> None:
    before = tree(world.local)
    empty(world.remote)
    (world.remote / "build.log").write_text("ignored: does not count")
    for mode in ("both", "pull"):
        with pytest.raises(SyncRefused) as info:
            world.run(mode)  # type: ignore[arg-type]
        err = info.value
        assert err.empty == "remote" and err.deletes == 4 and err.restore == "push"
        assert str(world.remote) in str(err) and "4 files" in str(err)
        assert tree(world.local) == before  # nothing deleted, nothing in the trash
        assert world.trash_files() == {}
    res = world.run("push")
    assert sorted(res.sent) == [".gitignore", "README.md", "src/main.py", "src/util.py"]
    assert tree(world.remote) == {**before, "build.log": "ignored: does not count"}
    assert not world.run("both").changed
    # Back in step: an ordinary deletion there is carried over as before.
    (world.remote / "src" / "util.py").unlink()
    assert world.run("both").deleted_local == ["src/util.py"]


def test_an_emptied_local_folder_is_refused_and_a_pull_fills_it(world: World) -> None:
    before = tree(world.remote)
    empty(world.local)
    (world.local / "src").mkdir()  # folders alone do not count as files
    with pytest.raises(SyncRefused) as info:
        world.run("push")
    assert info.value.empty == "local" and info.value.restore == "pull"
    assert str(world.local) in str(info.value)
    assert tree(world.remote) == before
    res = world.run("pull")
    assert len(res.received) == 4 and tree(world.local) == before
    assert not world.run("both").changed


def test_allow_delete_all_carries_the_emptying_over_into_the_trash(world: World) -> None:
    empty(world.remote)
    res = world.run("both", allow_delete_all=True)
    assert sorted(res.deleted_local) == [".gitignore", "README.md", "src", "src/main.py",
                                         "src/util.py"]  # fmt: skip
    assert tree(world.local) == {}
    assert world.trash_files()["main.py"] == "print('hi')"


def test_deleting_some_files_is_not_refused(world: World) -> None:
    (world.remote / "README.md").unlink()
    (world.remote / "src" / "main.py").unlink()
    res = world.run("both")
    assert sorted(res.deleted_local) == ["README.md", "src/main.py"]


def test_a_watch_stops_with_the_refusal_instead_of_trying_again(world: World) -> None:
    errors: list[Exception] = []
    results: list[SyncResult] = []

    async def go() -> None:
        client = Client(LocalHost(env={"HOSTD_STATE_DIR": str(world.hostd_state)}))
        await client.connect()
        try:
            async with Syncer(
                client, world.local, str(world.remote), state_dir=world.sync_state
            ) as s:
                task = asyncio.ensure_future(run_watch(s, results.append, errors.append))
                while not results:  # the first round
                    await asyncio.sleep(0.05)
                empty(world.remote)
                with pytest.raises(SyncRefused):
                    await asyncio.wait_for(task, 30)
        finally:
            await client.close()

    asyncio.run(go())
    assert errors == []  # not reported as a round to try again
    assert len(tree(world.local)) == 4


def test_cli_says_why_and_how_to_go_on(world: World) -> None:
    env = {
        **os.environ,
        "HOSTD_STATE_DIR": str(world.hostd_state),
        "XDG_STATE_HOME": str(world.root / "xdg"),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "app.cli", "--local", *args]
        return subprocess.run(argv, env=env, cwd=str(REPO), capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip

    assert cli("sync", str(world.local), str(world.remote)).returncode == 0
    empty(world.remote)
    for command in ("sync", "watch"):  # a watch ends, not loops
        res = cli(command, str(world.local), str(world.remote))
        assert res.returncode == 1, res.stderr
        assert f"{world.remote} is empty" in res.stderr and "4 files" in res.stderr
        assert "--push" in res.stderr and "--allow-delete-all" in res.stderr
    assert len(tree(world.local)) == 4
    res = cli("sync", str(world.local), str(world.remote), "--allow-delete-all")
    assert res.returncode == 0, res.stderr
    assert "deleted here 5" in res.stdout and tree(world.local) == {}


def test_a_fill_cut_short_leaves_no_record_that_deletes_the_rest(world: World) -> None:
    before = tree(world.local)
    empty(world.remote)
    syncers: list[Syncer] = []

    async def hold(s: Syncer) -> None:
        syncers.append(s)

    def cut(p: object) -> None:
        # Ctrl+C as soon as files start to move.
        if getattr(p, "phase", "") not in ("listing", "comparing") and syncers:
            syncers[0].cancel()

    assert world.run("push", on_progress=cut, during=hold).cancelled
    # What a cut transfer leaves there: the first file, its mtime kept.
    subprocess.run(["cp", "-p", str(world.local / "README.md"), str(world.remote)], check=True)
    res = world.run("both")
    assert res.deleted_local == [] and tree(world.local) == before
    assert tree(world.remote) == before  # the rest went across instead

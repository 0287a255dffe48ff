"""A sync killed between its transfers and its save, then run again: what
it had sent is recognised, so what the person did meanwhile is carried
over, not undone (local mode: a local hostd, real rsync)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.sync.conftest import tree
from tests.sync.test_sync_rules import World

# One two-way round in a process of its own that dies (as by SIGKILL: no
# cleanup, no save) once the transfers are done and checked, as it saves.
KILLED_AT_SAVING = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    from app.remote.client import Client
    from app.remote.local import LocalHost
    from app.remote.sync.syncer import Syncer

    local, remote, hostd_state, sync_state = sys.argv[1:5]

    def die_as_it_saves(p):
        if p.phase == "saving":
            os._exit(9)

    async def main():
        client = Client(LocalHost(env={"HOSTD_STATE_DIR": hostd_state}))
        await client.connect()
        async with Syncer(client, local, remote, state_dir=Path(sync_state),
                          on_progress=die_as_it_saves) as syncer:
            await syncer.run("both")

    asyncio.run(main())
    """
)


@pytest.fixture
def world(short_tmp: Path) -> World:
    return World(short_tmp)


def killed_round(world: World) -> None:
    argv = [str(p) for p in (world.local, world.remote, world.hostd_state, world.sync_state)]
    done = subprocess.run([sys.executable, "-c", KILLED_AT_SAVING, *argv], cwd=REPO, timeout=60)
    assert done.returncode == 9  # it got as far as saving, and died there


def test_files_deleted_after_a_killed_round_sent_them_stay_deleted(world: World) -> None:
    (world.local / "kept.txt").write_text("here from the start")
    world.run("both")
    (world.remote / "made there.txt").write_text("by the agent")
    (world.local / "made here.txt").write_text("by the person")
    (world.local / "kept.txt").write_text("edited here")
    killed_round(world)
    assert tree(world.local) == tree(world.remote)  # it did send them
    (world.remote / "made there.txt").unlink()  # the agent deletes what it made
    (world.local / "made here.txt").unlink()
    (world.local / "kept.txt").write_text("edited here again")  # an edit, not a conflict

    res = world.run("both")
    assert (res.deleted_local, res.deleted_remote) == (["made there.txt"], ["made here.txt"])
    assert (res.sent, res.received, res.conflicts) == (["kept.txt"], [], [])
    assert tree(world.local) == tree(world.remote) == {"kept.txt": "edited here again"}
    res = world.run("both")
    assert (res.sent, res.received, res.deleted_local, res.deleted_remote) == ([], [], [], [])

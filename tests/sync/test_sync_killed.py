"""A sync killed between its transfers and its save, then run again: what
it had sent is recognised, so what the person did meanwhile is carried
over, not undone (local mode: a local hostd, real rsync)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.sync.conftest import tree
from tests.sync.test_sync_rules import World

# One two-way round in a process of its own that dies (as by SIGKILL: no
# cleanup, no save) as it comes to a phase: "saving" (the transfers done and
# checked) or "moving" (the sending list saved, nothing moved yet).
KILLED_AT = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    from app.remote.client import Client
    from app.remote.local import LocalHost
    from app.remote.sync.syncer import Syncer

    local, remote, hostd_state, sync_state, phase = sys.argv[1:6]

    def die_as_it_saves(p):
        if p.phase == phase:
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


def killed_round(world: World, phase: str = "saving") -> None:
    argv = [str(p) for p in (world.local, world.remote, world.hostd_state, world.sync_state)]
    done = subprocess.run([sys.executable, "-c", KILLED_AT, *argv, phase], cwd=REPO,
                          timeout=60)  # fmt: skip
    assert done.returncode == 9  # it got as far as the phase, and died there


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


def test_a_file_there_that_only_shares_the_senders_mtime_is_not_taken_for_its_copy(
    world: World,
) -> None:
    """Killed before anything moved: the file there is the old version, with
    the sender's mtime (a coarse clock, touch -r) but not its length."""
    (world.local / "f.txt").write_text("v1")
    world.run("both")
    mtime = (world.local / "f.txt").stat().st_mtime_ns
    (world.local / "f.txt").write_text("v2, longer")
    os.utime(world.local / "f.txt", ns=(mtime, mtime))
    killed_round(world, "moving")
    assert (world.remote / "f.txt").read_text() == "v1"
    res = world.run("both")
    assert (res.sent, res.conflicts) == (["f.txt"], [])
    assert tree(world.local) == tree(world.remote) == {"f.txt": "v2, longer"}


@pytest.mark.parametrize(
    "sending",
    ["text", ["a list"], {"f.txt": ["local", ["file"]]}, {"f.txt": ["local", "file"]},
     {"f.txt": ["nowhere", ["file", 1, 2]]}, {"f.txt": ["local", ["file", "1", 2]]}],
)  # fmt: skip
def test_a_sending_list_that_is_not_readable_is_left_out_and_the_base_kept(
    world: World, sending: object
) -> None:
    (world.local / "f.txt").write_text("v1")
    (world.local / "g.txt").write_text("stays")
    world.run("both")
    state = next(world.sync_state.glob("*/state.json"))
    data = json.loads(state.read_text())
    state.write_text(json.dumps({**data, "sending": sending}))
    (world.local / "f.txt").unlink()
    res = world.run("both")  # the base is there: the deletion is carried over
    assert (res.deleted_remote, res.conflicts) == (["f.txt"], [])
    assert tree(world.remote) == {"g.txt": "stays"}

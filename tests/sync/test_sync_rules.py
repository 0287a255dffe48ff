"""Sync in local mode (a local hostd; two folders on this machine): the rules
that keep every file, with real rsync and real files."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from app.remote.client import Client
from app.remote.local import LocalHost
from app.remote.sync.plan import Mode
from app.remote.sync.result import SyncProgress, SyncResult
from app.remote.sync.state import SyncError
from app.remote.sync.syncer import Syncer
from tests.sync.conftest import tree


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.local = root / "here"
        self.remote = root / "there"
        self.local.mkdir()
        self.remote.mkdir()
        self.hostd_state = root / "hostd"
        self.sync_state = root / "syncstate"

    def run(
        self,
        mode: Mode,
        on_progress: Callable[[SyncProgress], None] | None = None,
        during: Callable[[Syncer], Coroutine[Any, Any, None]] | None = None,
        allow_delete_all: bool = False,
    ) -> SyncResult:
        async def go() -> SyncResult:
            client = Client(LocalHost(env={"HOSTD_STATE_DIR": str(self.hostd_state)}))
            await client.connect()
            try:
                async with Syncer(
                    client, self.local, str(self.remote), state_dir=self.sync_state,
                    on_progress=on_progress, allow_delete_all=allow_delete_all,
                ) as s:  # fmt: skip
                    if during is None:
                        return await s.run(mode)
                    task = asyncio.ensure_future(s.run(mode))
                    await during(s)
                    return await task
            finally:
                await client.close()

        return asyncio.run(go())

    def trash_files(self) -> dict[str, str]:
        """Every file in either side's trash, by name."""
        tops = [*self.sync_state.glob("*/trash"), self.hostd_state / "sync-trash"]
        return {p.name: p.read_text() for top in tops for p in top.rglob("*") if p.is_file()}


@pytest.fixture
def world(short_tmp: Path) -> World:
    return World(short_tmp)


def test_first_sync_of_differing_files_keeps_both_and_reports_it(world: World) -> None:
    (world.local / "notes.md").write_text("mine")
    (world.remote / "notes.md").write_text("the agent's")
    (world.local / "same.txt").write_text("same")
    (world.remote / "same.txt").write_text("same")
    res = world.run("both")
    assert [c.path for c in res.conflicts] == ["notes.md"]
    c = res.conflicts[0]
    assert c.copy is not None and c.copy.startswith("notes.md.conflict-")
    assert tree(world.local) == tree(world.remote)
    texts = sorted(tree(world.local).values())
    assert texts == ["mine", "same", "the agent's"]


def test_push_conflict_puts_the_incoming_copy_beside_the_other(world: World) -> None:
    (world.local / "a.txt").write_text("v1")
    world.run("push")
    (world.local / "a.txt").write_text("local v2")
    (world.remote / "a.txt").write_text("remote v2!")
    res = world.run("push")
    assert len(res.conflicts) == 1
    copy = res.conflicts[0].copy
    assert copy is not None and copy.startswith("a.txt.conflict-local-")
    assert tree(world.remote) == {"a.txt": "remote v2!", copy: "local v2"}
    assert tree(world.local) == {"a.txt": "local v2"}
    # A second push does not make another copy; a pull then brings the agent's
    # version here, and the copy with this side's (also in the trash).
    assert not world.run("push").changed
    res = world.run("pull")
    assert tree(world.local) == {"a.txt": "remote v2!", copy: "local v2"}
    assert "local v2" in world.trash_files().values()
    # The same after a sync both ways instead of the pull: the folders agree.
    (world.local / "b.txt").write_text("local b")
    world.run("push")
    (world.local / "b.txt").write_text("local b2")
    (world.remote / "b.txt").write_text("remote b2")
    bcopy = world.run("push").conflicts[0].copy
    assert bcopy is not None
    world.run("both")
    assert tree(world.local) == tree(world.remote)
    assert tree(world.local)[bcopy] == "local b2" and tree(world.local)["b.txt"] == "remote b2"
    assert not world.run("both").changed


def test_a_one_way_conflict_copy_that_does_not_arrive_leaves_the_conflict_standing(
    world: World,
) -> None:
    """A push of a file both sides changed sends this side's version as a
    conflict copy. If that copy does not arrive, the next round must see
    the conflict again, not take this side as synced and replace its edit."""
    (world.local / "f.txt").write_text("v1")
    world.run("both")
    (world.local / "f.txt").write_text("mine")
    (world.remote / "f.txt").write_text("theirs")
    blockers: list[Path] = []

    def take_the_copys_name(p: SyncProgress) -> None:
        if p.phase == "sending" and not blockers:
            now = time.time()  # the round's stamp is from a moment ago
            for s in range(4):
                stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - s))
                blockers.append(world.remote / f"f.txt.conflict-local-{stamp}")
                blockers[-1].write_text("taken")  # rsync leaves what it finds alone

    res = world.run("push", on_progress=take_the_copys_name)
    assert [c.path for c in res.conflicts] == ["f.txt"] and res.sent == []
    for b in blockers:
        b.unlink()
    res = world.run("both")
    assert [(c.path, c.kind) for c in res.conflicts] == [("f.txt", "both-changed")]
    assert sorted(tree(world.local).values()) == sorted(tree(world.remote).values())
    assert sorted(tree(world.local).values()) == ["mine", "theirs"]


def test_deleting_a_file_the_other_side_changed_does_not_delete_it(world: World) -> None:
    (world.local / "keep.txt").write_text("v1")
    (world.local / "other.txt").write_text("stays, so no side is ever empty")
    world.run("both")
    (world.local / "keep.txt").unlink()
    (world.remote / "keep.txt").write_text("v2 by the agent")
    res = world.run("both")
    assert [(c.path, c.kind) for c in res.conflicts] == [("keep.txt", "deleted-vs-changed")]
    assert (world.remote / "keep.txt").read_text() == "v2 by the agent"
    assert (world.local / "keep.txt").read_text() == "v2 by the agent"
    # And unchanged files are deleted, into the trash.
    (world.remote / "keep.txt").unlink()
    res = world.run("both")
    assert res.deleted_local == ["keep.txt"] and not (world.local / "keep.txt").exists()
    assert world.trash_files()["keep.txt"] == "v2 by the agent"


def test_gitignored_and_git_files_are_untouched_on_both_sides(world: World) -> None:
    for side, word in ((world.local, "here"), (world.remote, "there")):
        (side / ".git").mkdir()
        (side / ".git" / "HEAD").write_text(word)
        (side / "node_modules").mkdir()
        (side / "node_modules" / "dep.js").write_text(word)
    (world.local / ".gitignore").write_text("node_modules/\n*.tmp\n")
    (world.remote / "scratch.tmp").write_text("ignored by the local side's rules")
    (world.local / "src.py").write_text("code")
    world.run("both")
    world.run("both")
    assert (world.remote / ".git" / "HEAD").read_text() == "there"
    assert (world.local / ".git" / "HEAD").read_text() == "here"
    assert (world.remote / "node_modules" / "dep.js").read_text() == "there"
    assert (world.local / "node_modules" / "dep.js").read_text() == "here"
    assert not (world.local / "scratch.tmp").exists()
    assert (world.remote / "scratch.tmp").exists()
    assert (world.remote / "src.py").read_text() == "code"


def test_a_file_edited_after_the_listing_is_not_overwritten(world: World) -> None:
    (world.local / "race.txt").write_text("v1")
    world.run("both")
    (world.local / "race.txt").write_text("v2 from here")
    os.utime(world.local / "race.txt", ns=(1, 2_000_000_000_000_000_000))

    def edit_there_after_listing(p: SyncProgress) -> None:
        if p.phase == "comparing":  # both sides listed; the plan is to replace it
            (world.remote / "race.txt").write_text("v2 by the agent, after the listing")

    res = world.run("push", on_progress=edit_there_after_listing)
    assert res.sent == [] and res.deferred == ["race.txt"]
    assert (world.remote / "race.txt").read_text() == "v2 by the agent, after the listing"
    res = world.run("both")
    assert [c.kind for c in res.conflicts] == ["both-changed"]
    assert (
        sorted(tree(world.local).values())
        == sorted(tree(world.remote).values())
        == [
            "v2 by the agent, after the listing",
            "v2 from here",
        ]
    )


@pytest.mark.parametrize("edited_after_listing", [False, True])
def test_a_file_rewritten_while_it_is_sent_is_not_brought_back_once_deleted(
    world: World, edited_after_listing: bool
) -> None:
    """rsync reads a file as it is rewritten: the copy it writes is neither
    version (the new length, the mtime rsync saw: the listed one, or a later
    one when the file was also edited after the listing). It is not recorded
    as sent, but it must not pass for a file new on that side either:
    deleted here, it is deleted there, not copied back."""
    for i in range(8):  # sent first (rsync sorts), while the test rewrites notes.txt
        (world.local / f"big-{i}.bin").write_bytes(bytes(32 << 20))
    (world.local / "notes.txt").write_text("x" * 1000)
    mtimes: list[int] = [(world.local / "notes.txt").stat().st_mtime_ns]
    rewritten: list[bool] = []

    def edit_then_rewrite_once_sending(p: SyncProgress) -> None:
        if p.phase == "comparing" and edited_after_listing:  # before rsync looks
            (world.local / "notes.txt").write_text("y" * 2000)
            mtimes.append((world.local / "notes.txt").stat().st_mtime_ns)
        if p.phase == "sending" and p.transfer and not rewritten:
            (world.local / "notes.txt").write_text("short")
            rewritten.append(True)

    res = world.run("both", on_progress=edit_then_rewrite_once_sending)
    there = (world.remote / "notes.txt").stat()
    assert (there.st_size, there.st_mtime_ns) == (5, mtimes[-1])  # torn, as rsync wrote it
    assert res.deferred == ["notes.txt"]
    (world.local / "notes.txt").unlink()
    res = world.run("both")
    assert (res.deleted_remote, res.received, res.conflicts) == (["notes.txt"], [], [])
    assert not (world.local / "notes.txt").exists()


def test_an_edit_there_just_after_the_copy_arrived_is_not_taken_for_a_torn_copy(
    world: World,
) -> None:
    """The agent edits a file rsync has just written, within the second of
    the sender's mtime: the length differs and the second matches, as for a
    torn copy; but the sender did not change, so it is a conflict to show,
    not a copy to record."""
    sender = world.local / "a-notes.txt"  # sent before the big files (rsync sorts)
    sender.write_text("x" * 1000)
    second = int(time.time()) - 5
    os.utime(sender, ns=(second * 10**9 + 123, second * 10**9 + 123))
    for i in range(8):
        (world.local / f"big-{i}.bin").write_bytes(bytes(32 << 20))
    edited: list[bool] = []

    def edit_there_once_it_arrived(p: SyncProgress) -> None:
        there = world.remote / "a-notes.txt"
        if p.phase == "sending" and p.transfer and there.exists() and not edited:
            there.write_text("the agent's edit")
            os.utime(there, ns=(second * 10**9 + 500_000_000,) * 2)  # the same second
            edited.append(True)

    res = world.run("both", on_progress=edit_there_once_it_arrived)
    assert edited and res.deferred == ["a-notes.txt"]
    res = world.run("both")
    assert [(c.path, c.kind) for c in res.conflicts] == [("a-notes.txt", "both-changed")]
    texts = sorted(v for k, v in tree(world.local).items() if k.startswith("a-notes"))
    assert texts == ["the agent's edit", "x" * 1000]
    assert tree(world.local) == tree(world.remote)


def test_a_file_deleted_between_the_listing_and_the_transfer_fails_nothing(
    world: World,
) -> None:
    """The person deletes a file the round is about to send: rsync says it is
    missing (status 23), which is their deletion, not a failure of the round."""
    (world.local / "kept.txt").write_text("v1")
    world.run("both")
    (world.local / "kept.txt").write_text("v2 here")
    (world.local / "gone soon.txt").write_text("deleted before it is sent")

    def delete_when_sending(p: SyncProgress) -> None:
        if p.phase == "sending" and (world.local / "gone soon.txt").exists():
            (world.local / "gone soon.txt").unlink()

    res = world.run("both", on_progress=delete_when_sending)
    assert (res.sent, res.conflicts) == (["kept.txt"], [])
    assert tree(world.local) == tree(world.remote) == {"kept.txt": "v2 here"}
    res = world.run("both")
    assert (res.sent, res.received, res.conflicts) == ([], [], [])


def test_a_push_that_fails_still_brings_the_pull_in(world: World) -> None:
    """Both ways, the files a round replaces here go to the trash before
    either transfer: a push that fails must not leave them missing."""
    (world.remote / "theirs.txt").write_text("v1")
    world.run("both")
    (world.remote / "theirs.txt").write_text("v2 by the agent")
    (world.local / "sub").mkdir()
    (world.local / "sub" / "mine.txt").write_text("new here")

    def block_the_push(p: SyncProgress) -> None:
        # A file where the push needs a folder: rsync cannot write sub/mine.txt.
        if p.phase == "sending" and not (world.remote / "sub").exists():
            (world.remote / "sub").write_text("a file, not a folder")

    with pytest.raises(SyncError, match="rsync exited with status 23"):
        world.run("both", on_progress=block_the_push)
    assert (world.local / "theirs.txt").read_text() == "v2 by the agent"
    res = world.run("both")
    assert [c.kind for c in res.conflicts] == ["type"] and res.received == []


def test_cancel_stops_rsync_and_the_next_sync_finishes_the_job(world: World) -> None:
    big = os.urandom(1 << 20)
    for i in range(40):
        (world.local / f"big{i:02d}.bin").write_bytes(big * 8)
    seen: list[SyncProgress] = []

    async def cancel_once_sending(s: Syncer) -> None:
        while not any(p.phase == "sending" and p.transfer for p in seen):
            await asyncio.sleep(0.01)
        s.cancel()

    res = world.run("push", on_progress=seen.append, during=cancel_once_sending)
    assert res.cancelled
    leftovers = [p.name for p in world.remote.iterdir() if not p.name.startswith("big")]
    assert leftovers == []  # rsync removed its temporary file
    res = world.run("push")
    assert len(res.sent) + len(os.listdir(world.remote)) >= 40
    assert sorted(os.listdir(world.remote)) == sorted(os.listdir(world.local))
    assert all((world.remote / n).read_bytes() == big * 8 for n in os.listdir(world.remote))


def test_state_survives_a_torn_file_by_starting_afresh_safely(world: World) -> None:
    (world.local / "a").write_text("a")
    world.run("both")
    state = next(world.sync_state.glob("*/state.json"))
    assert json.loads(state.read_text())["entries"]["a"][0][0] == "file"
    state.write_text('{"version": 1, "entr')
    (world.remote / "a").unlink()  # without a base, this is not a deletion to carry
    world.run("both")
    assert (world.remote / "a").read_text() == "a" and (world.local / "a").read_text() == "a"
    assert list(state.parent.glob("state.json.corrupt-*"))

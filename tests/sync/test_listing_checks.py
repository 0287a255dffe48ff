"""The client checks every path of the server's listing before a round uses
it (app/remote/sync/check.py): a real hostd's listing of a folder with
symlinks passes and nothing goes through a link; a doctored one (what only a
changed hostd could send: tests/sync/doctored_hostd.py) fails the round,
naming the path, with nothing changed on either side."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from app.remote.client import Client
from app.remote.local import LocalHost
from app.remote.sync.check import BadListing
from app.remote.sync.plan import Mode
from app.remote.sync.result import SyncResult
from app.remote.sync.syncer import Syncer
from tests.sync.conftest import tree
from tests.sync.test_sync_rules import World

FAKE = Path(__file__).with_name("doctored_hostd.py")


@pytest.fixture
def world(short_tmp: Path) -> World:
    w = World(short_tmp)
    (w.local / "mine.txt").write_text("mine")
    (w.remote / "theirs.txt").write_text("theirs")
    return w


def run_doctored(world: World, mode: Mode, doctor: dict[str, Any]) -> SyncResult:
    async def go() -> SyncResult:
        env = {"HOSTD_STATE_DIR": str(world.hostd_state), "DOCTOR_FS_LIST": json.dumps(doctor)}
        client = Client(LocalHost([sys.executable, str(FAKE)], env=env))
        await client.connect()
        try:
            async with Syncer(
                client, world.local, str(world.remote), state_dir=world.sync_state
            ) as s:
                return await s.run(mode)
        finally:
            await client.close()

    return asyncio.run(go())


def file_entry(path: str, size: int = 4) -> dict[str, Any]:
    return {"path": path, "type": "file", "size": size, "mtime_ns": 1_700_000_000_000_000_000}


def dir_entry(path: str) -> dict[str, Any]:
    return {"path": path, "type": "dir", "size": 0, "mtime_ns": 1_700_000_000_000_000_000}


def test_a_real_hostds_listing_with_symlink_folders_passes_and_no_link_is_followed(
    world: World, short_tmp: Path
) -> None:
    outside = short_tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the project")
    os.symlink(outside, world.remote / "evil")  # an absolute link out
    os.symlink("../outside", world.remote / "rel")  # a relative one
    (world.remote / "src").mkdir()
    (world.remote / "src" / "a.py").write_text("code")
    os.symlink("src", world.remote / "src-link")
    res = world.run("both")
    assert sorted(res.received) == ["evil", "rel", "src-link", "src/a.py", "theirs.txt"]
    assert tree(world.local) == {
        "mine.txt": "mine",
        "theirs.txt": "theirs",
        "src/a.py": "code",
        "evil": f"-> {outside}",
        "rel": "-> ../outside",
        "src-link": "-> src",
    }
    assert not world.run("both").changed


def test_the_doctored_fake_passes_an_honest_listing_through(world: World) -> None:
    """The stand-in itself: with nothing to doctor it is hostd."""
    res = run_doctored(world, "both", {})
    assert res.received == ["theirs.txt"] and res.sent == ["mine.txt"]


HOSTILE: list[tuple[str, dict[str, Any], str, str]] = [
    ("an escape", {"add": [file_entry("../escape.txt")]}, "../escape.txt", "'..' part"),
    ("an absolute path", {"add": [file_entry("/etc/cron.d/x")]}, "/etc/cron.d/x", "absolute"),
    ("an empty part", {"add": [file_entry("a//b")]}, "a//b", "empty"),
    ("a NUL", {"add": [file_entry("x\0y")]}, "x\\x00y", "NUL"),
    ("no folder", {"add": [file_entry("nowhere/x.sh")]}, "nowhere/x.sh", "not in the listing"),
    (
        "a file under a link",
        {"add": [file_entry("evil/authorized_keys")]},
        "evil/authorized_keys",
        "is a link, not a folder",
    ),
    (
        "a file under a file",
        {"add": [file_entry("theirs.txt/x")]},
        "theirs.txt/x",
        "is a file, not a folder",
    ),
    (
        "a type that is none of the three",
        {"replace": [{**dir_entry("evil"), "type": "fifo"}]},
        "evil",
        "type 'fifo'",
    ),
    ("a size that is text", {"add": [{**file_entry("s.txt"), "size": "4"}]}, "s.txt", "size"),
    ("a negative size", {"add": [file_entry("n.txt", -1)]}, "n.txt", "negative"),
    ("a true mtime", {"add": [{**file_entry("t.txt"), "mtime_ns": True}]}, "t.txt", "mtime"),
    ("twice", {"add": [file_entry("theirs.txt")]}, "theirs.txt", "listed twice"),
    (
        "a link with no target",
        {"add": [{**file_entry("l"), "type": "link"}]},
        "l",
        "link target",
    ),
]


@pytest.mark.parametrize(
    ("doctor", "path", "why"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_a_listing_no_hostd_sends_fails_the_round_and_changes_nothing(
    world: World, short_tmp: Path, doctor: dict[str, Any], path: str, why: str
) -> None:
    os.symlink(short_tmp, world.remote / "evil")
    before = {"local": tree(world.local), "remote": tree(world.remote)}
    for mode in ("both", "pull", "push"):
        with pytest.raises(BadListing) as info:
            run_doctored(world, mode, doctor)  # type: ignore[arg-type]
        message = str(info.value)
        assert path in message and why in message, message
        assert "Nothing was changed" in message
        assert not info.value.retryable
    assert {"local": tree(world.local), "remote": tree(world.remote)} == before
    assert world.trash_files() == {}
    assert not list(world.sync_state.glob("*/state.json"))  # no round was recorded

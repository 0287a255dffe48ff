"""What the agent writes on the host never reaches the person's repository:
``.git`` in any spelling a disk may take for it, and the listing walk that
never follows a folder swapped for a symlink. Local mode, real folders."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.remote.sync.plan import make_plan
from tests.helpers import DEADLINE_S
from tests.sync.conftest import tree as files_of
from tests.sync.test_sync_rules import World
from treesync import tree
from treesync.rules import Rules, is_git_name

# Each names .git on some disk: macOS's (case, HFS+'s ignored code points,
# Unicode normalisation) or Windows' (trailing dot, the 8.3 short name).
GIT_SPELLINGS = [".GIT", ".Git", ".gIt", ".g\u200cit", "\uff0e\uff47\uff49\uff54", ".git.", "GIT~1"]


@pytest.fixture
def world(short_tmp: Path) -> World:
    return World(short_tmp)


def test_git_names_in_every_spelling() -> None:
    for name in [".git", *GIT_SPELLINGS]:
        assert is_git_name(name), name
    for name in [".github", ".gitignore", "git", ".gi", "x.git", ".gitkeep", "\u0130git"]:
        assert not is_git_name(name), name
    rules = Rules()
    assert rules.excluded("src/.GIT/hooks/pre-commit", False)
    assert rules.excluded(".Git/config", False)
    assert not rules.excluded("src/.github/workflows/ci.yml", False)


def test_git_in_any_spelling_made_on_the_host_is_never_pulled(world: World) -> None:
    (world.local / ".git" / "hooks").mkdir(parents=True)
    (world.local / ".git" / "config").write_text("mine")
    for i, name in enumerate(GIT_SPELLINGS):
        (world.remote / name / "hooks").mkdir(parents=True)
        (world.remote / name / "hooks" / "pre-commit").write_text(f"#!/bin/sh\nevil {i}\n")
        (world.remote / name / "config").write_text("[core]\nfsmonitor = evil\n")
    (world.remote / "sub" / ".GIT").mkdir(parents=True)
    (world.remote / "sub" / ".GIT" / "HEAD").write_text("x")
    (world.remote / "ok.txt").write_text("fine")
    for mode in ("pull", "both"):
        res = world.run(mode)  # type: ignore[arg-type]
        assert all(not any(is_git_name(p) for p in r.split("/")) for r in res.received), res
    assert files_of(world.local) == {"ok.txt": "fine"}
    assert not (world.local / "sub" / ".GIT").exists()
    assert sorted(os.listdir(world.local / ".git")) == ["config", "hooks"]
    assert os.listdir(world.local / ".git" / "hooks") == []
    assert (world.local / ".git" / "config").read_text() == "mine"


def test_the_plan_leaves_git_out_whatever_the_listing_says() -> None:
    """A listing that names them anyway (hostd's is built by the same rules;
    the client does not count on it) plans nothing for them."""
    remote = {}
    for name in GIT_SPELLINGS:
        remote[name] = {"path": name, "type": "dir", "size": 0, "mtime_ns": 1}
        p = f"{name}/hooks"
        remote[p] = {"path": p, "type": "dir", "size": 0, "mtime_ns": 1}
        p = f"{name}/hooks/post-checkout"
        remote[p] = {"path": p, "type": "file", "size": 3, "mtime_ns": 1}
    for mode in ("pull", "both"):
        plan = make_plan({}, {}, remote, ({}, {}), mode)  # type: ignore[arg-type]
        assert plan.empty and not plan.copies, plan


# The agent's side of the race: another process (a thread of this one would
# take turns with the walk under the GIL and seldom hit the moment), flipping
# ``a`` between the folder and a link to outside, each for a moment.
FLIPPER = """
import os, sys, time
root, outside = sys.argv[1], sys.argv[2]
os.symlink(outside, root + "/a.link")
print("ready", flush=True)
while True:
    os.rename(root + "/a", root + "/a.real")
    os.rename(root + "/a.link", root + "/a")
    time.sleep(0.0003)
    os.rename(root + "/a", root + "/a.link")
    os.rename(root + "/a.real", root + "/a")
    time.sleep(0.0003)
"""


def test_a_folder_swapped_for_a_symlink_mid_walk_is_never_followed(short_tmp: Path) -> None:
    """An agent racing the listing: ``a`` flips between a folder and a link to
    a folder outside. Whatever moment the walk reaches it, nothing from
    outside is listed; ``a`` is the folder (with its own file) or the link.
    (A walk by path strings lists ``a/secret.txt`` some tens of times in
    5000 listings here.)"""
    root, outside = short_tmp / "root", short_tmp / "outside"
    (root / "a").mkdir(parents=True)
    (root / "a" / "mine.txt").write_text("in the tree")
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the tree")
    flipper = subprocess.Popen(
        [sys.executable, "-c", FLIPPER, str(root), str(outside)], stdout=subprocess.PIPE
    )
    seen: set[str] = set()
    try:
        assert flipper.stdout is not None and flipper.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + DEADLINE_S
        for n in itertools.count():
            entries, _ignore = tree.list_tree(str(root))
            paths = {e["path"]: e for e in entries}
            assert "a/secret.txt" not in paths, n
            a = paths.get("a")
            if a is not None:
                seen.add(a["type"])
                if a["type"] == "link":
                    assert a["target"] == str(outside) and "a/mine.txt" not in paths
            if (seen == {"dir", "link"} and n >= 5000) or time.monotonic() > deadline:
                break
        assert seen == {"dir", "link"}  # the race was run, both ways
    finally:
        flipper.kill()
        flipper.wait()


def test_a_folder_that_became_a_link_after_its_scan_is_listed_as_the_link(
    short_tmp: Path,
) -> None:
    """The moment the walk cannot reproduce by luck, made by hand: ``a`` was
    listed as a folder by its parent's scan, then became a link before the
    walk opened it."""
    root, outside = short_tmp / "root", short_tmp / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("outside")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        entries: list[tree.Entry] = []
        todo = tree._read_dir(fd, "", str(root), Rules(), entries, 100)
        assert [e["type"] for e in entries] == ["dir"]
        (root / "a").rmdir()
        os.symlink(outside, root / "a")
        rel, index = todo.pop()
        assert tree._open_subdir(fd, rel, index, entries, str(root), Rules()) is None
        assert entries[index]["type"] == "link" and entries[index]["target"] == str(outside)
    finally:
        os.close(fd)

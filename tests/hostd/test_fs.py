"""hostd's fs.* methods and the fs:<path> topic, over its real pipes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from hostd.protocol import RpcError
from tests.helpers import Hostd


@pytest.fixture
def tree(short_tmp: Path) -> Path:
    root = short_tmp / "proj ü"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print(1)\n")
    (root / ".gitignore").write_text("build/\n*.log\n!keep.log\n")
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_text("x")
    (root / "debug.log").write_text("noise")
    (root / "keep.log").write_text("kept")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: main")
    os.symlink("/etc", root / "etc-link")
    return root


def test_list_keeps_what_sync_considers_and_shows_links_as_links(hostd: Hostd, tree: Path) -> None:
    res = hostd.call("fs.list", root=str(tree))
    got = {e["path"]: e["type"] for e in res["entries"]}
    assert got == {
        ".gitignore": "file",
        "etc-link": "link",
        "keep.log": "file",
        "src": "dir",
        "src/main.py": "file",
    }
    link = next(e for e in res["entries"] if e["path"] == "etc-link")
    assert link["target"] == "/etc"
    main = next(e for e in res["entries"] if e["path"] == "src/main.py")
    assert main["size"] == 9 and main["mtime_ns"] == (tree / "src/main.py").stat().st_mtime_ns
    assert res["ignore_files"] == {".gitignore": "build/\n*.log\n!keep.log\n"}


def test_hostile_paths_are_refused_or_never_followed(hostd: Hostd, tree: Path) -> None:
    for bad in ("../outside", "/etc/passwd", "src/../../x", "", "a//b"):
        err = hostd.error("fs.hash", root=str(tree), paths=[bad])
        assert err.code == -32602 and err.data == {"field": "paths"}, bad
    err = hostd.error("fs.list", root="relative/path")
    assert err.code == -32602 and err.data == {"field": "root"}
    err = hostd.error("fs.list", root=str(tree / "src" / "main.py"))
    assert "not a directory" in err.message
    # Through the symlink: nothing is read, listed or moved.
    assert hostd.call("fs.hash", root=str(tree), paths=["etc-link/passwd"]) == {
        "hashes": {"etc-link/passwd": None}
    }
    assert hostd.call("fs.list", root=str(tree), paths=["etc-link/passwd"])["entries"] == []
    item = {"path": "etc-link/hostname", "type": "file", "size": 1, "mtime_ns": 1}
    res = hostd.call("fs.trash", root=str(tree), pair="p1", stamp="20260101T000000Z", items=[item])
    assert res["moved"] == [] and res["changed"] == ["etc-link/hostname"]
    assert Path("/etc/hostname").exists()
    mtime = (tree / "keep.log").stat().st_mtime_ns
    ren = [{"path": "keep.log", "type": "file", "size": 4, "mtime_ns": mtime, "to": "etc-link/x"}]
    assert hostd.call("fs.rename", root=str(tree), items=ren)["changed"] == ["keep.log"]
    assert not Path("/etc/x").exists()


def test_trash_moves_only_files_still_as_the_caller_saw_them(
    hostd: Hostd, tree: Path, state_dir: Path
) -> None:
    main = tree / "src" / "main.py"
    seen = {"path": "src/main.py", "type": "file", "size": 9, "mtime_ns": main.stat().st_mtime_ns}
    main.write_text("edited after the listing\n")
    res = hostd.call("fs.trash", root=str(tree), pair="p1", stamp="20260101T000000Z", items=[seen])
    assert (res["moved"], res["changed"]) == ([], ["src/main.py"])
    assert main.read_text() == "edited after the listing\n"
    now = {**seen, "size": main.stat().st_size, "mtime_ns": main.stat().st_mtime_ns}
    res = hostd.call("fs.trash", root=str(tree), pair="p1", stamp="20260101T000000Z", items=[now])
    assert res["moved"] == ["src/main.py"] and not main.exists()
    kept = Path(res["trash_dir"]) / "src" / "main.py"
    assert kept.read_text() == "edited after the listing\n"
    assert Path(res["trash_dir"]).is_relative_to(state_dir / "sync-trash" / "p1")
    err = hostd.error("fs.trash", root=str(tree), pair="../x", stamp="20260101T000000Z", items=[])
    assert err.data == {"field": "pair"}


def test_rename_never_replaces_what_is_at_the_new_name(hostd: Hostd, tree: Path) -> None:
    keep = tree / "keep.log"
    item = {"path": "keep.log", "type": "file", "size": 4, "mtime_ns": keep.stat().st_mtime_ns}
    (tree / "taken").write_text("someone's")
    res = hostd.call("fs.rename", root=str(tree), items=[{**item, "to": "taken"}])
    assert res == {"renamed": [], "changed": ["keep.log"]}
    assert (tree / "taken").read_text() == "someone's"
    res = hostd.call("fs.rename", root=str(tree), items=[{**item, "to": "new dir/keep.log.c"}])
    assert res["renamed"] == ["keep.log"]
    assert (tree / "new dir" / "keep.log.c").read_text() == "kept"


def test_fs_topic_pushes_relative_paths_of_changes_new_folders_included(
    hostd: Hostd, tree: Path
) -> None:
    hello = hostd.call("hello")
    assert {"fs.list", "fs.hash", "fs.trash", "fs.rename", "fs.mkdir"} <= set(hello["capabilities"])
    assert "topic:fs:<path>" in hello["capabilities"]
    topic = f"fs:{tree}"
    hostd.call("subscribe", topics=[topic])
    (tree / "new").mkdir()
    (tree / "new" / "deeper").mkdir()
    (tree / "new" / "deeper" / "f.txt").write_text("x")
    seen: set[str] = set()

    def has_all(note: object) -> bool:
        params = note.params  # type: ignore[attr-defined]
        assert params["root"] == str(tree) and params["overflow"] is False
        seen.update(params["paths"])
        return {"new", "new/deeper/f.txt"} <= seen

    hostd.wait_notification(lambda n: n.method == "fs.changed" and has_all(n))
    # Changes under .git and ignored folders are not news; others are.
    (tree / ".git" / "index").write_text("i")
    (tree / "build" / "more.bin").write_text("y")
    (tree / "x.log").write_text("z")
    (tree / "src" / "main.py").write_text("print(2)\n")
    note = hostd.wait_notification(lambda n: "src/main.py" in n.params["paths"])
    assert not [p for p in note.params["paths"] if p.startswith((".git", "build")) or p == "x.log"]
    hostd.call("unsubscribe", topics=[topic])


def test_fs_topic_refuses_what_is_not_a_folder(hostd: Hostd, tree: Path) -> None:
    with pytest.raises(RpcError) as info:
        hostd.call("subscribe", topics=["sandboxes", f"fs:{tree}/src/main.py"])
    assert info.value.code == -32602 and "not a directory" in info.value.message
    with pytest.raises(RpcError):
        hostd.call("subscribe", topics=["fs:relative"])


def test_trash_pair_cannot_name_the_state_folder(hostd: Hostd, tree: Path, state_dir: Path) -> None:
    item = {"path": "keep.log", "type": "file", "size": 4,
            "mtime_ns": (tree / "keep.log").stat().st_mtime_ns}  # fmt: skip
    for bad in ("..", ".", "a/b", "x\n"):
        err = hostd.error("fs.trash", root=str(tree), pair=bad, stamp="20261129T103000",
                          items=[item])  # fmt: skip
        assert err.code == -32602 and err.data == {"field": "pair"}, bad
    assert (tree / "keep.log").exists()
    assert (state_dir / "logs").is_dir() and (state_dir / "run").is_dir()


def test_fifos_never_block_hostd(hostd: Hostd, tree: Path) -> None:
    os.mkfifo(tree / "pipe")
    (tree / "src" / ".gitignore").unlink(missing_ok=True)
    os.mkfifo(tree / "src" / ".gitignore")  # an agent can make one
    assert hostd.call("fs.hash", root=str(tree), paths=["pipe"], timeout=10) == {
        "hashes": {"pipe": None}
    }
    listed = hostd.call("fs.list", root=str(tree), timeout=10)
    assert "src/main.py" in {e["path"] for e in listed["entries"]}
    assert hostd.call("subscribe", topics=[f"fs:{tree}"], timeout=10) == {}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_a_folder_that_cannot_be_read_fails_the_listing(short_tmp: Path) -> None:
    """Leaving it out would make a sync take its files for deleted."""
    import subprocess

    from tests.helpers import REPO

    short_tmp.chmod(0o755)
    root = short_tmp / "proj"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "precious.txt").write_text("x")
    (root / "locked").chmod(0o700)  # root's; the lister runs as nobody
    root.chmod(0o755)
    # The system's Python: nobody may not reach this venv's (under /root).
    # treesync is standard library only, so it runs there as is.
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip("no system python3 to run as another user")
    code = "import sys; from treesync.tree import list_tree; list_tree(sys.argv[1])"
    res = subprocess.run(
        [python, "-c", code, str(root)], user="nobody", cwd="/",
        env={"PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]}, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode != 0
    assert "cannot read" in res.stderr and "locked" in res.stderr


def _file_item(root: Path, rel: str) -> dict:
    st = (root / rel).stat()
    return {"path": rel, "type": "file", "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def test_a_trash_copy_never_replaces_another(short_tmp: Path) -> None:
    from treesync import moves

    root, trash_dir = short_tmp / "root", short_tmp / "trash"
    root.mkdir()
    for text in ("first", "second"):
        (root / "a.txt").write_text(text)
        moved, changed = moves.trash(str(root), str(trash_dir), [_file_item(root, "a.txt")])
        assert (moved, changed) == (["a.txt"], [])
    assert (trash_dir / "a.txt").read_text() == "first"
    assert (trash_dir / "a.txt.1").read_text() == "second"


def test_trash_on_another_file_system_moves_the_file_whole(short_tmp: Path) -> None:
    from treesync import moves

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(short_tmp).st_dev:
        pytest.skip("no second file system here")
    root = short_tmp / "root"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    data = (root / "big.bin").read_bytes()
    trash_dir = Path(tempfile.mkdtemp(dir=shm))
    try:
        moved, _ = moves.trash(str(root), str(trash_dir), [_file_item(root, "big.bin")])
        assert moved == ["big.bin"] and not (root / "big.bin").exists()
        assert (trash_dir / "big.bin").read_bytes() == data
    finally:
        shutil.rmtree(trash_dir, ignore_errors=True)

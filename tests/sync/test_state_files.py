"""The one atomic write and the one flock that hostd's state and the sync state share."""

from __future__ import annotations

from pathlib import Path

import pytest

from treesync.files import FileLock, flocked, write_atomic


def test_an_atomic_write_replaces_the_file_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_failed_atomic_write_leaves_no_temp_file_behind(tmp_path: Path) -> None:
    # A folder where the file should go: the rename fails after the temp is written.
    target = tmp_path / "state.json"
    (target / "keep").mkdir(parents=True)
    with pytest.raises(OSError):
        write_atomic(target, b"x" * 100_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert (target / "keep").is_dir()


def test_a_lock_held_elsewhere_is_busy_until_released(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    first = FileLock(path)
    assert first.acquire(blocking=False)
    with flocked(path, blocking=False) as got:
        assert not got
    first.release()
    with flocked(path, blocking=False) as got:
        assert got

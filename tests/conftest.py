from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import STUBS, Hostd, assert_nothing_left, delete_all_sandboxes

# Every hostd the tests start (here, over the test sshd, under the window)
# waits 0.3 s, not 1 s, for an agent that ends at once: the suite creates
# hundreds of sandboxes that keep running, and each would pay the whole
# second. An agent not found ends within milliseconds; the tests of the
# wait itself (tests/hostd/test_settle.py) and those that need a slow
# failure to be caught set their own.
os.environ.setdefault("HOSTD_SETTLE_S", "0.3")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp folder with a short path.

    Unix socket paths are limited to 107 bytes, and pytest's tmp_path is long;
    the runtime folders hold tmux and QMP sockets.
    """
    path = Path(tempfile.mkdtemp(prefix="cst-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def state_dir(short_tmp: Path) -> Path:
    return short_tmp / "state"


@pytest.fixture
def project(short_tmp: Path) -> Path:
    p = short_tmp / "my project"
    p.mkdir()
    return p


@pytest.fixture
def stub_env() -> dict[str, str]:
    """PATH with the stub launchers first (they stand in for the Nix launchers)."""
    return {"PATH": f"{STUBS}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture
def hostd_factory(state_dir: Path, stub_env: dict[str, str]) -> Iterator[Callable[..., Hostd]]:
    """Start hostd processes on one state folder; at the end, delete every
    sandbox, stop them, and fail if any process of theirs is left behind."""
    started: list[Hostd] = []

    def make(env: dict[str, str] | None = None, **kwargs: Any) -> Hostd:
        h = Hostd(state_dir, {**stub_env, **(env or {})}, **kwargs)
        started.append(h)
        return h

    yield make

    try:
        delete_all_sandboxes(state_dir, stub_env)
    finally:
        for h in started:
            if h.proc.poll() is None:
                h.close()
    assert_nothing_left(state_dir, wait=5)


@pytest.fixture
def hostd(hostd_factory: Callable[..., Hostd]) -> Hostd:
    return hostd_factory()

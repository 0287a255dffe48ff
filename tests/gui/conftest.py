"""The desktop app under pytest-qt, offscreen, with a real local hostd.

Each test gets a qasync event loop on the Qt application (the app runs
asyncio on Qt's loop), a private settings file, a private config folder for
host profiles, and a private hostd state folder; the local hostd the window
starts is a real child process on the test's PATH (stub launchers first).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.main_thread_gc import take_over
from app.remote.profiles import Profiles
from app.ui.window import MainWindow
from tests.helpers import DEADLINE_S, assert_nothing_left, delete_all_sandboxes
from tests.remote.conftest import remote  # noqa: F401  (the sshd fixture)

T = TypeVar("T")


@pytest.fixture(autouse=True)
def main_thread_gc() -> Iterator[None]:
    """As the app does (app.main_thread_gc): no garbage collection on the
    worker threads (paramiko's, the executor's) while a test runs, where a
    Qt object freed would crash the process; its garbage is collected here,
    on the main thread, after everything else of the test has ended."""
    was_on = gc.isenabled()
    take_over()
    yield
    gc.collect()
    if was_on:
        gc.enable()


@pytest.fixture
def aloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def run(aloop: qasync.QEventLoop) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Run a coroutine on the app's loop (Qt events are processed meanwhile)."""

    def runner(coro: Coroutine[Any, Any, T]) -> T:
        return aloop.run_until_complete(coro)

    return runner


async def until(cond: Callable[[], Any], timeout: float = DEADLINE_S, what: str = "") -> Any:
    """Wait on the app's loop until ``cond()`` is truthy; returns it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = cond()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or cond}")
        await asyncio.sleep(0.05)


@pytest.fixture
def gui_env(
    short_tmp: Path, stub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Environment for the window and the hostd it starts; the leak check after."""
    state = short_tmp / "state"
    monkeypatch.setenv("HOSTD_STATE_DIR", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(short_tmp / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(short_tmp / "xdg-state"))  # sync's pair state
    monkeypatch.setenv("PATH", stub_env["PATH"])
    yield state
    delete_all_sandboxes(state, stub_env)  # whatever a test left (a hostd it killed, say)
    assert_nothing_left(state)


@pytest.fixture
def make_window(
    qtbot: Any, run: Callable[..., Any], short_tmp: Path, gui_env: Path
) -> Iterator[Callable[[], MainWindow]]:
    """Windows on a private settings file; each is closed, and its sandboxes deleted."""
    windows: list[MainWindow] = []
    settings_path = str(short_tmp / "settings.ini")

    def make() -> MainWindow:
        settings = QSettings(settings_path, QSettings.Format.IniFormat)
        w = MainWindow(settings, Profiles.default())
        # Not qtbot.addWidget: pytest-qt closes those before fixtures end,
        # outside the event loop; the window's quitting needs the loop.
        w.resize(1100, 700)
        w.show()
        windows.append(w)
        return w

    yield make

    async def clean() -> None:
        for w in windows:
            for name, session in list(w.hub.sessions.items()):
                if name == "local" and session.state.phase == "connected":
                    for sid in list(session.sandboxes):
                        await session.api.delete(sid, timeout=60)
            w.close()  # as the person quits: hostd processes and connections end
            await until(lambda w=w: not w.hub.sessions and not w.tasks, what="the window to close")

    run(clean())

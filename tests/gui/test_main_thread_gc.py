"""The suite's intermittent segfault, made certain, and the app's cure
(app.main_thread_gc): a closed qasync loop with a timer still pending,
left as cyclic garbage, then collected by a worker thread's allocations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.helpers import REPO

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, threading, time, weakref
    import qasync
    from PySide6.QtWidgets import QApplication
    from app.main_thread_gc import collect, take_over

    app = QApplication([])
    as_the_app_does = sys.argv[1] == "app"
    if as_the_app_does:
        take_over()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def leave_a_timer_pending():
        loop.call_later(0.3, lambda: None)  # a wait_for's timeout, a sleep
        await asyncio.sleep(0.01)

    loop.run_until_complete(leave_a_timer_pending())
    loop.close()
    asyncio.set_event_loop(None)
    cycle = [loop]
    cycle.append(cycle)
    gone = weakref.ref(loop)
    del loop, cycle

    def reader_thread():  # allocates, as paramiko's readers do
        for _ in range(50):
            junk = [[] for _ in range(10_000)]
            junk.append(junk)

    t = threading.Thread(target=reader_thread)
    t.start()
    t.join()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:  # the pending timer comes due
        app.processEvents()
        if as_the_app_does:
            collect()
    print("still here;", "the loop collected" if gone() is None else "the loop alive")
    """
)


def run(mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_a_qt_object_collected_on_a_worker_thread_crashes_the_process() -> None:
    """Why the app needs the cure: without it, Qt fires the freed object's timer."""
    crashed = run("plain")
    assert crashed.returncode == -signal.SIGSEGV, crashed
    assert "Timers cannot be stopped from another thread" in crashed.stderr


def test_the_app_collects_on_the_main_thread_and_lives() -> None:
    lived = run("app")
    assert (lived.returncode, lived.stderr) == (0, "")
    assert lived.stdout == "still here; the loop collected\n"  # by collect(), here

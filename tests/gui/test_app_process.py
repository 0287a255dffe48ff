"""The app as a program: started the way the README says, ended with SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QSettings

from tests.helpers import REPO, Hostd, wait_for

# What a quit must not print: a Python or Qt warning (the app logs Qt's
# messages as "WARNING qt: ..."), an error, a traceback, a task left pending.
TROUBLE = ("WARNING", "ERROR", "CRITICAL", "Traceback", "Task was destroyed", "Exception")


def command_lines(proc: psutil.Process) -> list[str]:
    """The command lines of a process's descendants (one that ends meanwhile is left out)."""
    lines = []
    for child in proc.children(recursive=True):
        try:
            lines.append(" ".join(child.cmdline()))
        except psutil.Error:
            continue
    return lines


@pytest.fixture
def xvfb(short_tmp: Path) -> Iterator[str]:
    """A private X display, as a desktop gives the app (xcb, not offscreen:
    offscreen warns of what it cannot do, a real display does not)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (bash .ci/setup test installs it)")
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()  # Xvfb writes it once it is ready
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_sigterm_closes_hostd_and_leaves_sandboxes_running(
    gui_env: Path, short_tmp: Path, project: Path
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(short_tmp)}
    # A sandbox made beforehand must survive the app's start and end.
    h = Hostd(gui_env, {"PATH": env["PATH"]})
    h.call("sandbox.create", name="lasting", backend="none", project_dir=str(project),
           agent="sleep 600")  # fmt: skip
    h.close()
    app = subprocess.Popen(
        [sys.executable, "-m", "app", "--local"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        me = psutil.Process(app.pid)
        wait_for(lambda: any("hostd" in " ".join(c.cmdline()) for c in me.children(recursive=True)),
                 what="the app's hostd")  # fmt: skip
        hostd_pids = [
            c.pid for c in me.children(recursive=True) if "hostd" in " ".join(c.cmdline())
        ]
        app.send_signal(signal.SIGTERM)
        assert app.wait(10) == 0, app.stderr.read() if app.stderr else ""
        assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                       for p in hostd_pids)  # fmt: skip
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    h = Hostd(gui_env, {"PATH": env["PATH"]})
    try:
        assert [s["status"] for s in h.call("sandbox.list")] == ["running"]
    finally:
        h.close()


def test_a_normal_quit_logs_nothing(
    gui_env: Path, short_tmp: Path, project: Path, xvfb: str
) -> None:
    """The real app on a display, a sandbox's terminal open in a tab, closed
    as the window closes (SIGTERM runs the very slot Ctrl+Q and the close
    button run): nothing on stderr, where its log goes."""
    h = Hostd(gui_env, {"PATH": os.environ["PATH"]})
    sb = h.call("sandbox.create", name="tabbed", backend="none", project_dir=str(project),
                agent="sleep 600")  # fmt: skip
    h.close()
    # The window comes back with the sandbox's tab open (as a person left it).
    config = Path(os.environ["XDG_CONFIG_HOME"])
    settings = QSettings(str(config / "claude-sandbox" / "Claude Sandbox.conf"),
                         QSettings.Format.IniFormat)  # fmt: skip
    settings.setValue("workarea/tabs", json.dumps([{"host": "local", "id": sb["id"]}]))
    settings.sync()
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb, "HOME": str(short_tmp)}
    stderr = short_tmp / "app.stderr"
    with stderr.open("wb") as f:  # a file, not a pipe: nothing to drain while it runs
        app = subprocess.Popen(
            [sys.executable, "-m", "app", "--local"], cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=f, start_new_session=True,
        )  # fmt: skip
    try:
        me = psutil.Process(app.pid)
        wait_for(lambda: any("attach-session" in line for line in command_lines(me)),
                 what="the tab's terminal attached")  # fmt: skip
        app.send_signal(signal.SIGTERM)
        code = app.wait(20)
        text = stderr.read_text(errors="replace")
        assert code == 0, text
        assert not [line for line in text.splitlines() if any(t in line for t in TROUBLE)], text
        assert text.strip() == "", text
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    h = Hostd(gui_env, {"PATH": os.environ["PATH"]})
    try:
        assert [s["status"] for s in h.call("sandbox.list")] == ["running"]
    finally:
        h.close()

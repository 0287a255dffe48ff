"""The app as a program: started the way the README says, ended with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from tests.helpers import REPO, Hostd, wait_for


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

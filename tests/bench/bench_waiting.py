"""How soon the window shows that an agent waits for you: hooks against pane polling.

Run on demand:  .venv/bin/python tests/bench/bench_waiting.py [--samples 20]

The real window (offscreen) connected over a loopback sshd (throwaway keys, as
in tests/remote) to a real hostd. Two ways an agent comes to wait, measured in
the same run, ``--samples`` times each:

- hooks: a Claude Code stand-in (tests/stubs/claude --stub-permission) raises
  a PermissionRequest through the hook hostd gave it. From the moment its hook
  wrote the request (the nanosecond stamp hook.sh puts in the event's name) to
  the moment the window's tile holds the request (its Allow button is drawn
  from that), polled every 2 ms on the GUI thread.
- pane polling: an agent without hooks draws the same permission box as
  Claude Code does (the time it drew it written beside it), and the window
  learns it from hostd's pane-based detection at the metrics cadence (3 s).

Printed: median, p95 and max of each, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.remote.profiles import Profile, Profiles
from app.ui.window import MainWindow
from tests.remote.sshd import hostd_command, keygen, start_sshd, write_client_home

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "tests" / "stubs" / "claude"
BOX = [
    "⏺ Bash(rm -rf build/)", "",
    "╭──────────────────────────────────────────────╮",
    "│ Bash command                                 │",
    "│   rm -rf build/                              │",
    "│ Do you want to proceed?                      │",
    "│ \u276f 1. Yes                                     │",  # Claude's pointer
    "│   2. Yes, and don't ask again for rm         │",
    "│   3. No, and tell Claude what to do differently (esc) │",
    "╰──────────────────────────────────────────────╯",
]  # fmt: skip
DEADLINE_S = 60.0


def stats(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20) if len(values) > 1 else values * 19
    return (f"median {statistics.median(values) * 1000:7.1f} ms  p95 {q[18] * 1000:7.1f} ms  "
            f"max {max(values) * 1000:7.1f} ms  ({len(values)} samples)")  # fmt: skip


async def until(cond, poll: float = 0.002):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not (value := cond()):
        if loop.time() > end:
            raise TimeoutError("timed out")
        await asyncio.sleep(poll)
    return value


def request_of(w: MainWindow, name: str) -> dict | None:
    tile = next((t for t in w.model.tiles() if t.name == name), None)
    act = tile.activity if tile is not None else None
    return (act or {}).get("request") if act and act.get("state") == "waiting" else None


async def hooks_samples(w: MainWindow, project: Path, n: int) -> list[float]:
    s = w.hub.sessions["testhost"]
    out = []
    for i in range(n):
        name = f"hk{i:02d}"
        agent = shlex.join([str(STUB), "--stub-permission", f"echo {i}"])
        sb = await s.create({"name": name, "backend": "none", "project_dir": str(project),
                             "agent": agent})  # fmt: skip
        request = await until(lambda name=name: request_of(w, name))
        seen = time.time_ns()
        stamp = int(str(request["id"]).split("-")[0])
        out.append((seen - stamp) / 1e9)
        await s.api.delete(sb["id"])
    return out


async def pane_samples(w: MainWindow, project: Path, n: int) -> list[float]:
    s = w.hub.sessions["testhost"]
    t0 = project / "drawn-at"
    box = "; ".join(f"printf '%s\\n' {shlex.quote(line)}" for line in BOX)
    loop = (f"while :; do read x; clear; {box}; date +%s%N > {shlex.quote(str(t0))}; "
            "read y; clear; echo answered; done")  # fmt: skip
    sb = await s.create({"name": "pane", "backend": "none", "project_dir": str(project),
                         "agent": shlex.join(["sh", "-c", loop])})  # fmt: skip
    out = []
    for _ in range(n):
        t0.unlink(missing_ok=True)
        await s.api.send_keys(sb["id"], ["Enter"])
        await until(t0.exists, poll=0.01)
        await until(lambda: t0.read_text().strip(), poll=0.01)
        await until(lambda: request_of(w, "pane") or waiting(w, "pane"))
        seen = time.time_ns()
        out.append((seen - int(t0.read_text())) / 1e9)
        await s.api.send_keys(sb["id"], ["1", "Enter"])
        await until(lambda: not waiting(w, "pane"), poll=0.01)
    await s.api.delete(sb["id"])
    return out


def waiting(w: MainWindow, name: str) -> bool:
    tile = next((t for t in w.model.tiles() if t.name == name), None)
    return bool(tile and (tile.activity or {}).get("state") == "waiting")


async def run(w: MainWindow, project: Path, n: int) -> None:
    w.open_hosts(["testhost"])
    await until(lambda: (s := w.hub.sessions.get("testhost")) and s.state.phase == "connected")
    hooks = await hooks_samples(w, project, n)
    print(f"hooks → tile shows Allow:       {stats(hooks)}")
    pane = await pane_samples(w, project, n)
    print(f"pane polling → tile waiting:    {stats(pane)}")
    print(f"pane / hooks (medians): {statistics.median(pane) / statistics.median(hooks):.0f}x")
    await w.hub.close_all()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="csw-", dir="/tmp"))
    user_key = keygen(root / "id_user")
    sshd = start_sshd(root / "sshd", [user_key])
    home = root / "home"
    write_client_home(home, sshd, user_key, extra=f"    UserKnownHostsFile {home}/.ssh/known_hosts")
    os.environ["HOME"] = str(home)  # the window's SSH reads ~/.ssh/config
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    profiles = Profiles.default(home, {})
    profiles.add(Profile("testhost", "testhost", hostd_command(root / "state")))
    project = root / "p"
    project.mkdir()
    app = QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    w = MainWindow(QSettings(str(root / "s.ini"), QSettings.Format.IniFormat), profiles)
    w.resize(1400, 900)
    w.show()
    try:
        with loop:
            loop.run_until_complete(run(w, project, args.samples))
    finally:
        sshd.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

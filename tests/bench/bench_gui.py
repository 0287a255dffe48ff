"""How responsive the window stays with many live tiles.

Run on demand:  .venv/bin/python tests/bench/bench_gui.py [--sandboxes 40] [--seconds 60]

The real window (offscreen), a real local hostd, N sandboxes whose displays
change every half second, streamed at one frame a second. A 10 ms QTimer runs
on the GUI thread; how late each tick fires is the lateness a person would
feel as lag. Printed: lateness p50/p95/max with the tiles live, the same for
the idle window (no sandboxes) measured in the same run, their ratio, and the
app's resident memory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil
import qasync
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.ui.window import MainWindow

TICK_MS = 10
# Changing pictures: a plaid in new colours twice a second (not one flat
# colour, which the tiles would show as terminal text instead).
PAINTER = (
    "sh -c 'i=0; while true; do i=$((i+1)); "
    'xsetroot -mod $((i % 7 + 3)) $((i % 5 + 3)) -fg "#$(printf %02x%02x%02x $((i*37%256)) '
    '$((i*91%256)) $((i*53%256)))" -bg "#202830"; sleep 0.5; done\''
)


async def lateness(seconds: float) -> list[float]:
    """Run a 10 ms timer for ``seconds``; return how late each tick was (ms)."""
    late: list[float] = []
    last = time.perf_counter()
    timer = QTimer()
    timer.setInterval(TICK_MS)

    def tick() -> None:
        nonlocal last
        now = time.perf_counter()
        late.append(max(0.0, (now - last) * 1000 - TICK_MS))
        last = now

    timer.timeout.connect(tick)
    timer.start()
    await asyncio.sleep(seconds)
    timer.stop()
    return late


def summary(late: list[float]) -> str:
    q = statistics.quantiles(late, n=100)
    return f"p50 {q[49]:5.1f} ms  p95 {q[94]:5.1f} ms  max {max(late):6.1f} ms  ({len(late)} ticks)"


async def run(w: MainWindow, project: Path, n: int, seconds: float) -> None:
    await w.hub.open("local")
    s = w.hub.sessions["local"]
    idle = await lateness(min(20.0, seconds))
    print(f"idle window:             {summary(idle)}")
    t0 = time.monotonic()
    for i in range(n):
        await s.api.create(f"p{i:02d}", "none", str(project), agent=PAINTER,
                           geometry="1280x720", timeout=120)  # fmt: skip
    print(f"created {n} sandboxes in {time.monotonic() - t0:.1f} s")
    await asyncio.sleep(5)
    frames0 = sum(1 for t in w.model.tiles() if t.frame is not None)
    live = await lateness(seconds)
    print(f"{n} live tiles, 1 fps:   {summary(live)}")
    p95_live = statistics.quantiles(live, n=100)[94]
    p95_idle = statistics.quantiles(idle, n=100)[94]
    print(f"p95 live / idle: {p95_live / max(p95_idle, 0.1):.1f}x   (goal: live p95 <= 30 ms)")
    rss = psutil.Process().memory_info().rss / 1024**2
    print(f"tiles with a picture: {frames0}/{n}; app RSS {rss:.0f} MiB")
    for sid in list(s.sandboxes):
        await s.api.delete(sid, timeout=120)
    await w.hub.close_all()


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--sandboxes", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="csg-", dir="/tmp"))
    os.environ["HOSTD_STATE_DIR"] = str(tmp / "state")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    project = tmp / "p"
    project.mkdir()
    app = QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    w.resize(1600, 1000)
    w.show()
    try:
        loop.run_until_complete(run(w, project, args.sandboxes, args.seconds))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

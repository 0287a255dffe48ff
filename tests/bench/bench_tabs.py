"""What ten open sandbox tabs cost the app in memory, against the window with none.

Run on demand:  .venv/bin/python tests/bench/bench_tabs.py [--tabs 10] [--seconds 60]

The real window (offscreen, 1600x1000), a real local hostd, N sandboxes whose
displays change twice a second (tests/bench/bench_gui.py's painter) and whose
panes print a line a second. First the window with their tiles only; then a
tab for each, every page of it visited as a person would (the terminal
attaches, the Screen page is shown so its frames come large, the Logs page
subscribes, the Details page charts), left open for ``--seconds`` so each
screen's history fills its minute; then the tabs closed again. Printed: the
app's resident memory at each stage, the ratio of tabs to none, and the GUI
thread's lateness with the tabs open against the tiles alone.
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
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.ui.window import MainWindow
from tests.bench.bench_gui import lateness

# The painter, and a line of output a second for the log.
AGENT = (
    "sh -c 'i=0; while true; do i=$((i+1)); "
    'xsetroot -mod $((i % 7 + 3)) $((i % 5 + 3)) -fg "#$(printf %02x%02x%02x $((i*37%256)) '
    '$((i*91%256)) $((i*53%256)))" -bg "#202830"; '
    '[ $((i % 2)) = 0 ] && printf "\\033[32mstep %s\\033[0m done\\n" $i; sleep 0.5; done\''
)


def rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / 1024**2


def p95(late: list[float]) -> float:
    return statistics.quantiles(late, n=100)[94]


async def open_all(w: MainWindow) -> None:
    for tile in list(w.model.tiles()):
        tab = w.work.open(tile.key)
        assert tab is not None
        await asyncio.sleep(0.5)  # the terminal attaches
        pages = [p for p in (tab.screen_pane, tab.log_viewer, tab.details) if p is not None]
        for page in pages:
            tab.show_page(page)
            await asyncio.sleep(1.5)
        tab.show_page(tab.terminal)


async def run(w: MainWindow, project: Path, n: int, seconds: float) -> None:
    await w.hub.open("local")
    s = w.hub.sessions["local"]
    for i in range(n):
        await s.api.create(f"t{i:02d}", "none", str(project), agent=AGENT,
                           geometry="1920x1080", timeout=120)  # fmt: skip
    await asyncio.sleep(10)
    tiles_late = await lateness(20)
    none = rss_mib()
    print(f"{n} tiles, no tab open:  RSS {none:6.0f} MiB   lateness p95 {p95(tiles_late):5.1f} ms")
    await open_all(w)
    print(f"opened {len(w.work.tabs)} tabs, each page visited; waiting {seconds:.0f} s")
    await asyncio.sleep(max(0.0, seconds - 20))
    tabs_late = await lateness(20)
    opened = rss_mib()
    frames = sum(len(t.screen_pane.history) for t in w.work.tabs.values() if t.screen_pane)
    held = sum(t.screen_pane.history.total_bytes for t in w.work.tabs.values() if t.screen_pane)
    print(f"{n} tabs open:           RSS {opened:6.0f} MiB   lateness p95 {p95(tabs_late):5.1f} ms")
    print(f"  screen history: {frames} frames, {held / 1024**2:.1f} MiB of JPEG")
    print(f"tabs / none: {opened / none:.2f}x  (+{opened - none:.0f} MiB, "
          f"{(opened - none) / n:.1f} MiB a tab)")  # fmt: skip
    w.work.close_all()
    await asyncio.sleep(5)
    print(f"tabs closed again:      RSS {rss_mib():6.0f} MiB")
    # Memory a closed tab did not give back would show as growth here.
    await open_all(w)
    await asyncio.sleep(20)
    w.work.close_all()
    await asyncio.sleep(5)
    print(f"opened, closed again:   RSS {rss_mib():6.0f} MiB")
    for sid in list(s.sandboxes):
        await s.api.delete(sid, timeout=120)
    await w.hub.close_all()


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--tabs", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cst-", dir="/tmp"))
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
    t0 = time.monotonic()
    try:
        with loop:
            loop.run_until_complete(run(w, project, args.tabs, args.seconds))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"({time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()

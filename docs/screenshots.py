"""Make the README's screenshots of the real window: local mode, live sandboxes.

    .venv/bin/python docs/screenshots.py          # writes docs/images/*.png

Needs what `bash .ci/setup test` installs plus ImageMagick's `display` (apt
install imagemagick), which paints a picture on a sandbox's display the way a
browser would fill it. Runs offscreen with a private hostd state folder and
settings; the sandboxes it makes are deleted at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
sys.path.insert(0, str(ROOT))

import qasync  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.window import MainWindow  # noqa: E402
from hostd.claude.files import sanitize_path  # noqa: E402
from tests.claude_transcripts import Transcript  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def page(path: Path, title: str, accent: tuple[int, int, int]) -> None:
    """A 1920x1080 picture of a web page, as an agent's browser would show it."""
    im = Image.new("RGB", (1920, 1080), (250, 250, 252))
    d = ImageDraw.Draw(im)
    big = ImageFont.truetype(FONT, 40)
    mid = ImageFont.truetype(FONT, 22)
    d.rectangle((0, 0, 1920, 56), fill=(60, 64, 72))
    d.rounded_rectangle((90, 12, 900, 44), 16, fill=(245, 245, 245))
    d.text(
        (110, 16),
        f"http://localhost:3000/{title.lower().replace(' ', '-')}",
        fill=(60, 60, 60),
        font=mid,
    )
    d.rectangle((0, 56, 1920, 140), fill=accent)
    d.text((60, 76), title, fill="white", font=big)
    for i in range(4):
        x = 60 + i * 460
        d.rounded_rectangle((x, 180, x + 360, 520), 12, fill="white", outline=(220, 220, 225))
        d.rectangle(
            (x, 180, x + 360, 360), fill=tuple(min(255, c + 60 * (i + 1) // 2) for c in accent)
        )
        d.text(
            (x + 20, 380),
            ["Trail shoes", "Rain jacket", "Day pack", "Headlamp"][i],
            fill=(30, 30, 30),
            font=mid,
        )
        d.text((x + 20, 420), f"${79 + 40 * i}.00", fill=(90, 90, 90), font=mid)
        d.rounded_rectangle((x + 20, 460, x + 180, 500), 8, fill=accent)
        d.text((x + 40, 467), "Add to cart", fill="white", font=ImageFont.truetype(FONT, 18))
    for row in range(8):
        d.rectangle((60, 580 + row * 50, 1500 - row * 140, 604 + row * 50), fill=(225, 228, 235))
    im.save(path)


CHATTY = (
    "sh -c 'i=0; while true; do i=$((i+1)); "
    'printf "\\033[32m✓\\033[0m migrated table %s (%s rows)\\n" orders_$i $((i*1731)); '
    "sleep 0.4; done'"
)


async def scene(w: MainWindow, project: Path, pics: list[Path]) -> None:
    await w.hub.open("local")
    s = w.hub.sessions["local"]
    bwrap = next((b for b in s.backends if b["name"] == "bubblewrap" and b["available"]), None)
    iso = "bubblewrap" if bwrap else "none"
    plan = [
        ("shop-frontend", iso, f"sh -c 'display -window root {pics[0]}; exec sleep 3600'"),
        ("checkout-flow", iso, f"sh -c 'display -window root {pics[1]}; exec sleep 3600'"),
        ("api-refactor", iso, "./claude-stub --stub-dialog"),
        ("db-migration", "none", CHATTY),
        ("flaky-tests", iso, "sh -c 'echo 2 failed, 118 passed; exit 1'"),
        ("docs-site", iso, "sleep 3600"),
    ]
    for name, backend, agent in plan:
        await s.create(
            {"name": name, "backend": backend, "project_dir": str(project), "agent": agent}
        )
    await s.api.stop("docs-site")
    # api-refactor's Claude has worked a little: its tile shows its tokens.
    api = next(t for t in w.model.tiles() if t.name == "api-refactor")
    folder = Path(api.sandbox["claude_config"]) / "projects" / sanitize_path(str(project))
    t = Transcript(folder / "s0.jsonl", str(project), time.time())
    t.prompt("rename the order service's endpoints")
    for i in range(3):
        t.response(["text", ("tool_use", "Edit")], input_tokens=30 + i, output_tokens=1400 + 90 * i,
                   cache_read=20_000, stop_reason="tool_use")  # fmt: skip
        t.tool_result(t.tool_ids[-1], "ok")
    await asyncio.sleep(8)  # frames, metrics and the exit to arrive


async def terminal_scene(w: MainWindow) -> None:
    """The api-refactor sandbox's tab open beside the tiles, its dialog showing."""
    w.resize(1600, 900)
    tile = next(t for t in w.model.tiles() if t.name == "api-refactor")
    tab = w.work.open(tile.key)
    assert tab is not None
    for _ in range(100):  # attached and drawn: tmux's status line shows
        if any("[api-refactor]" in line for line in tab.terminal.screen_lines()):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)


async def pages_scene(w: MainWindow, project: Path) -> list[str]:
    """The shop-frontend tab's Screen and Details pages, the host's view: the
    shots they make, in order."""
    s = w.hub.sessions["local"]
    api = next(t for t in w.model.tiles() if t.name == "api-refactor")
    path = Path(api.sandbox["claude_config"]) / "projects" / sanitize_path(str(project))
    t = Transcript(path / "s1.jsonl", str(project), time.time())
    t.prompt("make the checkout tests pass")
    for i in range(6):
        t.response(["thinking", "text", ("tool_use", ("Bash", "Edit", "Read")[i % 3])],
                   input_tokens=40 + i, output_tokens=900 + 120 * i, cache_creation=4000,
                   cache_read=30_000 + 9000 * i, stop_reason="tool_use")  # fmt: skip
        t.tool_result(t.tool_ids[-1], "ok")
        await asyncio.sleep(3.2)  # a metrics tick apart: the tokens chart climbs
    shop = next(t for t in w.model.tiles() if t.name == "shop-frontend")
    tab = w.work.open(shop.key)
    assert tab is not None and tab.screen_pane is not None
    tab.show_page(tab.screen_pane)
    await asyncio.sleep(3)  # the large frame
    shoot(w, "screen-page.png")
    tab = w.work.open(api.key)
    assert tab is not None and tab.details is not None
    tab.show_page(tab.details)
    await asyncio.sleep(1.5)
    shoot(w, "details-page.png")
    db = next(t for t in w.model.tiles() if t.name == "db-migration")
    tab = w.work.open(db.key)
    assert tab is not None and tab.log_viewer is not None
    tab.show_page(tab.log_viewer)
    await asyncio.sleep(2)
    tab.log_viewer.search("orders_1")
    await asyncio.sleep(0.5)
    shoot(w, "logs-page.png")
    w.work.open_host("local")
    await asyncio.sleep(1.5)
    shoot(w, "host-view.png")
    del s
    return ["screen-page.png", "details-page.png", "logs-page.png", "host-view.png"]


def shoot(w: MainWindow, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(OUT / name))
    print("wrote", OUT / name)


def dark_palette() -> QPalette:
    p = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2e"), (QPalette.ColorRole.WindowText, "#e8e8e8"),
        (QPalette.ColorRole.Base, "#1f1f22"), (QPalette.ColorRole.AlternateBase, "#333338"),
        (QPalette.ColorRole.Text, "#e8e8e8"), (QPalette.ColorRole.Button, "#3a3a3f"),
        (QPalette.ColorRole.ButtonText, "#e8e8e8"), (QPalette.ColorRole.Highlight, "#3d6fb6"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.Mid, "#55555c"),
        (QPalette.ColorRole.PlaceholderText, "#9a9aa2"),
    ):  # fmt: skip
        p.setColor(role, QColor(colour))
    return p


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="css-", dir="/tmp"))
    os.environ["HOSTD_STATE_DIR"] = str(tmp / "state")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    project = tmp / "shop"
    project.mkdir()
    # The test suite's stand-in for Claude Code (tests/stubs/claude), in the
    # project so it runs inside the sandbox too.
    # Its name starts with "claude", so hostd reads its sessions as Claude Code's.
    shutil.copy(ROOT / "tests" / "stubs" / "claude", project / "claude-stub")
    # In the project: a sandbox sees its project, not the host's /tmp.
    pics = [project / "home.png", project / "checkout.png"]
    page(pics[0], "Outdoor Shop", (32, 118, 74))
    page(pics[1], "Checkout", (52, 92, 170))
    app = QApplication([])
    app.setStyle("Fusion")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    w = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    w.resize(1400, 860)
    w.show()

    async def run() -> None:
        try:
            await scene(w, project, pics)
            shoot(w, "main-window.png")
            await terminal_scene(w)
            shoot(w, "terminal-tab.png")
            await pages_scene(w, project)
            app.setPalette(dark_palette())
            await asyncio.sleep(0.5)
            shoot(w, "terminal-tab-dark.png")
            w.work.close_all()
            await asyncio.sleep(0.5)
            shoot(w, "main-window-dark.png")
        finally:
            s = w.hub.sessions.get("local")
            if s is not None:
                for sid in list(s.sandboxes):
                    await s.api.delete(sid)
            await w.hub.close_all()

    loop.run_until_complete(run())
    loop.close()  # its executor's threads end before the interpreter does
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

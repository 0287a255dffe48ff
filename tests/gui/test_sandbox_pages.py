"""A sandbox's own pages beside its terminal (Screen, Logs, Details), in the real
window against a real local hostd: what a person sees on each, as it happens."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QTabBar

from app.ui import session as session_module
from app.ui.details import DetailsPage
from app.ui.host_view import HostView
from app.ui.hostlist import HostRole
from app.ui.logview.viewer import LogViewer
from app.ui.sandbox_tab import SandboxTab
from app.ui.window import MainWindow
from hostd.claude.files import sanitize_path
from tests.claude_transcripts import Transcript
from tests.gui.conftest import until
from tests.gui.test_terminal_tab import double_click, open_tab
from tests.gui.test_window import create, tile_named


@pytest.fixture(autouse=True)
def quick_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Metrics every second (hostd's fastest) rather than 3 s: a few ticks come soon."""
    monkeypatch.setattr(session_module, "METRICS_INTERVAL_S", 1.0)


def click_page(qtbot: Any, tab: SandboxTab, title: str) -> None:
    """Click the page's tab under the terminal, as a person does."""
    bar: QTabBar = tab.pages.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert tab.pages.currentIndex() == index


def test_details_show_the_sandbox_its_tokens_cost_and_last_minutes(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], qtbot: Any, project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def main() -> None:
        sb = await create(w, "dets", project, "claude")
        path = Path(sb["claude_config"]) / "projects" / sanitize_path(str(project)) / "s1.jsonl"
        t = Transcript(path, str(project), time.time())
        t.prompt("fix the failing test")
        t.response(["text", ("tool_use", "Bash")], input_tokens=1200, output_tokens=3400,
                   cache_creation=10_000, cache_read=50_000, stop_reason="tool_use")  # fmt: skip
        tab = await open_tab(w, qtbot, "local", "dets")
        click_page(qtbot, tab, "Details")
        page = tab.details
        assert isinstance(page, DetailsPage)
        await until(lambda: "1.2k in" in page.figures["Tokens"].text(), what="the tokens")
        assert page.figures["Tokens"].text() == "1.2k in · 3.4k out"
        assert page.figures["Cache"].text() == "50.0k read · 10.0k written"
        assert page.figures["Tool uses"].text() == "Bash 1"
        assert page.figures["Estimated cost"].text().startswith("$")
        assert page.context.text().startswith("61.2k of ")  # input + cache: how full it is
        assert page.facts["Backend"].text() == "none (no isolation)"
        assert page.facts["Project"].text() == str(project)
        assert page.facts["Agent"].text() == "claude"
        assert page.facts["tmux session"].text() == "dets"
        # A few metrics ticks later the charts have their points.
        await until(lambda: page.cpu.point_count() >= 3 and page.memory.point_count() >= 3,
                    what="points on the charts")  # fmt: skip
        assert page.memory.current() and page.memory.current() > 0
        t.response(["text"], input_tokens=10, output_tokens=600, cache_read=1000)
        await until(lambda: page.rate.point_count() >= 1 and (page.rate.current() or 0) > 0,
                    what="tokens per minute")  # fmt: skip

    run(main())


def test_the_screen_page_asks_for_a_large_picture_only_while_it_shows(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], qtbot: Any, project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def main() -> None:
        sb = await create(w, "scr", project, "sleep 600")
        session = w.hub.sessions["local"]
        tile_width = session.frame_width
        tab = await open_tab(w, qtbot, "local", "scr")
        pane = tab.screen_pane
        assert pane is not None
        click_page(qtbot, tab, "Screen")
        await until(lambda: pane.want > tile_width, what="the page to ask for its width")
        await until(lambda: session.large == {sb["id"]: pane.want}, what="the host asked")
        # The stream sends this sandbox's picture anew at the page's size ...
        await until(lambda: pane.shown_frame is not None and pane.shown_frame.width > tile_width,
                    what="a large frame on the page")  # fmt: skip
        assert pane.shown_frame.width == min(pane.want, 1920)  # the display is 1920 wide
        # ... and at the tiles' size once the page is hidden.
        click_page(qtbot, tab, "Terminal")
        await until(lambda: not session.large, what="the wish withdrawn")
        await until(lambda: session.frames[sb["id"]][0].width() == tile_width,
                    what="frames at the tiles' size again")  # fmt: skip
        assert len(pane.history) >= 2  # it kept both, to scrub back through

    run(main())


def test_the_host_view_lists_backends_and_sandboxes_and_opens_one(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], qtbot: Any, project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def main() -> None:
        await create(w, "alpha", project, "sleep 600")
        await create(w, "beta", project, "sleep 600")
        # Selecting the host in the sidebar shows its view.
        row = next(i for i in range(w.hosts.count())
                   if w.hosts.item(i).data(HostRole).name == "local")  # fmt: skip
        rect = w.hosts.visualItemRect(w.hosts.item(row))
        qtbot.mouseClick(w.hosts.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        view: HostView = await until(lambda: w.work.host_views.get("local"), what="the view")
        assert w.work.currentWidget() is view
        hello = w.hub.sessions["local"].backends
        shown = view.backend_rows()
        assert [r[0].split()[0] for r in shown] == [b["name"] for b in hello]
        for (_name, available, detail), b in zip(shown, hello, strict=True):
            assert available == ("yes" if b["available"] else "no")
            assert detail == (b.get("detail") or "")
        assert "hostd " in view.header.text()
        await until(lambda: view.model.rowCount() == 2, what="both sandboxes in the table")
        # Sorted by name going down: beta first.
        view.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        first = view.sorter.index(0, 0)
        assert first.data() == "beta"
        await until(lambda: view.cpu.point_count() >= 2 and view.memory.point_count() >= 2,
                    what="the host's charts")  # fmt: skip
        # A double-click on a row opens that sandbox's tab.
        table = view.table
        center = table.visualRect(first).center()
        double_click(table.viewport(), center)
        tab = await until(lambda: w.work.tabs.get(tile_named(w, "beta").key), what="beta's tab")
        assert w.work.currentWidget() is tab

    run(main())


def viewer_text(viewer: LogViewer) -> list[str]:
    return [viewer.line_text(i) for i in range(viewer.line_count())]


def test_the_logs_page_shows_what_the_agent_prints_in_colour_and_finds_it(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], qtbot: Any, project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])
    red = 'printf "\\033[31mred %s\\033[0m\\n" $i'
    agent = f"sh -c 'seq 1 3000 | sed s/^/old/; read x; for i in 1 2 3; do {red}; done; sleep 600'"

    async def main() -> None:
        sb = await create(w, "logs", project, agent)
        api = w.hub.sessions["local"].api
        await until_async(lambda: api.logs(sb["id"], 1), lambda r: "old3000" in r["text"])
        tab = await open_tab(w, qtbot, "local", "logs")
        viewer = tab.log_viewer
        assert viewer is not None and tab.log_link is not None
        assert not tab.log_link.started  # nothing is asked until the page shows
        click_page(qtbot, tab, "Logs")
        # The last lines before the page opened, and the button for the older ones.
        await until(lambda: "old3000" in viewer_text(viewer), what="the log's last lines")
        assert "old1" not in viewer_text(viewer)
        button = next(b for b in viewer.findChildren(QPushButton) if "earlier" in b.text())
        await until(lambda: button.isVisible() and button.isEnabled(), what="Load earlier")
        # What the agent prints now arrives, its colours as colours.
        await api.send_keys(sb["id"], ["Enter"])
        await until(lambda: "red 3" in viewer_text(viewer), what="the new lines")
        row = viewer_text(viewer).index("red 1")
        run0 = viewer.line_runs(row)[0]
        assert run0.text == "red 1" and run0.fg is not None and run0.fg.red() > 150
        assert not any("\x1b" in t or "[31m" in t for t in viewer_text(viewer))
        # Search finds them and counts: Ctrl+F on the page is the page's, not
        # the window's search by name.
        viewer.setFocus()
        qtbot.keyClick(
            QApplication.focusWidget(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier
        )
        field = QApplication.focusWidget()
        assert isinstance(field, QLineEdit) and field is not w.search
        qtbot.keyClicks(field, "red ")
        qtbot.keyClick(field, Qt.Key.Key_Return)
        await until(lambda: viewer.match_count == 3, what="three matches")
        assert viewer.current_match() is not None
        # The older part, fetched on demand.
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        await until(lambda: "old1" in viewer_text(viewer), what="the earlier output")
        lines = viewer_text(viewer)
        assert lines[lines.index("old1") : lines.index("old3000") + 1] == [
            f"old{i}" for i in range(1, 3001)
        ]  # every line once, in order
        await until(lambda: not button.isVisible() or not button.isEnabled(), what="all loaded")

    run(main())


async def until_async(call: Callable[[], Any], ok: Callable[[Any], bool]) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + 30
    while not ok(await call()):
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.05)


def test_a_tab_closed_while_its_host_reconnects_leaves_nothing_subscribed(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], qtbot: Any, project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def main() -> None:
        sb = await create(w, "gone", project, "sh -c 'while :; do echo tick; sleep 0.5; done'")
        session = w.hub.sessions["local"]
        client = session.client
        tab = await open_tab(w, qtbot, "local", "gone")
        click_page(qtbot, tab, "Logs")
        assert tab.log_viewer is not None
        await until(lambda: "tick" in viewer_text(tab.log_viewer), what="the log")
        click_page(qtbot, tab, "Screen")
        await until(lambda: sb["id"] in session.large, what="the large frames asked for")
        stream: Any = client._stream  # the test reaches for the hostd it kills
        os.kill(stream.proc.pid, signal.SIGKILL)
        await until(lambda: client.state.phase != "connected", what="the drop noticed")
        w.work.close_tab(tab)  # while the host is away
        await until(lambda: client.state.phase == "connected", what="the reconnection")
        await until(lambda: not tab_jobs(w), what="the tab's work to end")
        # Subscribed again on reconnecting: the screenshots, not the closed tab's log,
        # and not its large frames.
        assert f"logs:{sb['id']}" not in client._topics
        assert sb["id"] not in (client._settings.get("screenshot") or {}).get("widths", {})
        assert not session.large

    run(main())


def tab_jobs(w: MainWindow) -> bool:
    return any("_dispose" in repr(t) for t in w.tasks.pending)

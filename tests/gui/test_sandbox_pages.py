"""A sandbox's own pages beside its terminal (Screen, Logs, Details), in the real
window against a real local hostd: what a person sees on each, as it happens."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar

from app.ui import session as session_module
from app.ui.details import DetailsPage
from app.ui.sandbox_tab import SandboxTab
from app.ui.window import MainWindow
from hostd.claude.files import sanitize_path
from tests.claude_transcripts import Transcript
from tests.gui.conftest import until
from tests.gui.test_terminal_tab import open_tab
from tests.gui.test_window import create


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

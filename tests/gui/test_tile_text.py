"""What a tile says in words, in the real window against a real local hostd:
why an exited agent ended (the same after the app restarts), a token figure
that stays whole with its breakdown in a tooltip, and an attach command that
works when pasted."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QFont, QGuiApplication, QImage
from PySide6.QtWidgets import QMenu, QStyleOptionViewItem

from app.remote import selfcmd
from app.ui import session as session_module
from app.ui.model import Tile
from app.ui.tile_text import exit_detail, fit_row
from app.ui.tiles import DEFAULT_TILE, MIN_TILE
from app.ui.window import MainWindow
from hostd.claude.files import sanitize_path
from tests.claude_transcripts import Transcript
from tests.gui.conftest import until
from tests.gui.test_window import create, tile_named, top_dialog

LAST = "error: the project folder has no package.json, so there is nothing to run here at all"
FAILS = f"sh -c 'echo starting the agent; echo \"{LAST}\"; exit 3'"


@pytest.fixture(autouse=True)
def quick_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Metrics every second (hostd's fastest) rather than 3 s."""
    monkeypatch.setattr(session_module, "METRICS_INTERVAL_S", 1.0)


def tile_option(w: MainWindow, name: str) -> tuple[QStyleOptionViewItem, Tile]:
    """The style option the grid paints the tile ``name`` with, and its Tile."""
    for row in range(w.proxy.rowCount()):
        index = w.proxy.index(row, 0)
        if index.data() == name:
            option = QStyleOptionViewItem()
            w.tiles.initViewItemOption(option)
            option.rect = w.tiles.visualRect(index)
            return option, tile_named(w, name)  # type: ignore[return-value]
    raise AssertionError(f"no tile {name}")


def tile_width(w: MainWindow, name: str) -> int:
    option, _tile = tile_option(w, name)
    return int(option.rect.width())


def row_texts(w: MainWindow, name: str) -> dict[str, tuple[str, QRect]]:
    option, tile = tile_option(w, name)
    row = w.tiles.tile_delegate.status_row(option, option.rect, tile)
    return {kind: (text, box) for kind, text, _colour, box in row}


def orange_pixels(image: QImage, box: QRect) -> int:
    """Pixels of the exited colour (the "exited CODE" text) inside ``box``."""
    count = 0
    for y in range(box.top(), box.bottom(), 2):
        for x in range(box.left(), box.right(), 2):
            c = image.pixelColor(x, y)
            if c.red() > 170 and 70 < c.green() < 150 and c.blue() < 80:
                count += 1
    return count


def test_an_exited_tile_says_its_code_and_last_line_also_after_a_restart(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def see_it(w: MainWindow) -> None:
        tile = await until(lambda: (t := tile_named(w, "broken")) and t.status == "exited" and t)
        delegate = w.tiles.tile_delegate
        option, tile = tile_option(w, "broken")
        assert tile.exit_code == 3
        assert row_texts(w, "broken")["status"][0] == "exited"
        message = delegate.exit_rect(delegate.thumb_rect(option.rect))
        # The message is below the hover buttons, not under them.
        for _act, button in delegate.button_rects(option.rect, tile):
            assert not button.intersects(message)
        await until(lambda: orange_pixels(w.tiles.viewport().grab().toImage(), message) > 10,
                    what="'exited 3' painted on the tile")  # fmt: skip
        said = delegate.tooltip_at(option, tile, message.center()) or ""
        assert "exited with status 3" in said
        if w.hub.sessions["local"].client.has_capability("create.settle"):
            # hostd keeps the pane's last lines in the record (contract A).
            await until(lambda: tile_named(w, "broken").last_lines, what="the last lines")
            tile = tile_named(w, "broken")
            assert tile.last_lines[-1] == LAST
            said = delegate.tooltip_at(option, tile, message.center()) or ""
            assert "starting the agent" in said and LAST in said
            lines = exit_detail(tile, QFont(), message.width())
            assert 1 <= len(lines) <= 2 and LAST.startswith(lines[0])
            if len(lines) == 2:
                assert lines[1].endswith("…") or f"{lines[0]} {lines[1]}" == LAST

    async def first() -> None:
        await create(w, "broken", project, FAILS)
        await see_it(w)
        w.close()
        await until(lambda: not w.hub.sessions, what="the window to close")

    run(first())
    # A new app on the same HOSTD_STATE_DIR reads the same from the record.
    w2 = make_window()
    w2.open_hosts(["local"])
    run(see_it(w2))


def test_the_token_figure_stays_whole_and_its_tooltip_breaks_it_down(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])
    assert w.tile_size.value() == DEFAULT_TILE

    async def body() -> None:
        sb = await create(w, "tokens", project, "claude --stub-dialog")
        path = Path(sb["claude_config"]) / "projects" / sanitize_path(str(project)) / "s1.jsonl"
        t = Transcript(path, str(project), time.time())
        t.prompt("fix the failing test")
        t.response(["text", ("tool_use", "Bash")], input_tokens=1234, output_tokens=3456,
                   cache_creation=18_500, cache_read=245_000, stop_reason="tool_use")  # fmt: skip
        await until(lambda: (t := tile_named(w, "tokens")) and t.tokens, what="the tokens")
        # A long activity and a long sync badge give way; the figure does not.
        w.model.set_sync(tile_named(w, "tokens").key, "sync failed: the folder here went away")
        for width in (DEFAULT_TILE, MIN_TILE):
            w.tile_size.setValue(width)
            await until(lambda width=width: tile_width(w, "tokens") == width)
            option, tile = tile_option(w, "tokens")
            parts = row_texts(w, "tokens")
            text, box = parts["tokens"]
            assert text == "4.7k tok"
            assert box.right() <= option.rect.right()
            assert parts["status"][0] == "running"
            said = w.tiles.tile_delegate.tooltip_at(option, tile, box.center()) or ""
            for line in ("4,690 tokens in and out", "input: 1,234", "output: 3,456",
                         "cache read: 245,000", "cache write: 18,500"):  # fmt: skip
                assert line in said
        assert parts.get("sync", ("…",))[0].endswith("…")

    run(body())


def test_copy_attach_command_gives_a_line_that_works_when_pasted(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        sb = await create(w, "pasted", project, "sleep 600")
        await until(lambda: w.proxy.rowCount() == 1)
        center = w.tiles.visualRect(w.proxy.index(0, 0)).center()
        w.sandbox_actions.tile_menu(center)
        menu: QMenu = await until(lambda: top_dialog(QMenu))
        next(a for a in menu.actions() if a.text() == "Copy attach command").trigger()
        menu.close()
        line = QGuiApplication.clipboard().text()
        words = shlex.split(line)
        assert words[-3:] == ["--local", "attach", sb["id"][:8]]
        # Pasted in a shell whose PATH has no .venv/bin: the same words, with
        # ls for attach (which needs a terminal), find the sandbox.
        env = {**os.environ, "PATH": os.pathsep.join(
            p for p in os.environ["PATH"].split(os.pathsep)
            if Path(p) != Path(sys.executable).parent)}  # fmt: skip
        done = subprocess.run([*words[:-2], "ls"], env=env, cwd="/", capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "pasted" in done.stdout

    run(body())


def test_the_command_is_claude_remote_when_path_finds_this_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours = Path(sys.executable).parent / "claude-remote"
    assert ours.exists()
    monkeypatch.setenv("PATH", str(ours.parent))
    assert selfcmd.attach_command_line(["--host", "my box"], "abc") == (
        "claude-remote --host 'my box' attach abc"
    )
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert selfcmd.claude_remote_words() == [str(ours)]


def test_a_row_gives_way_in_order_and_keeps_the_rest_whole() -> None:
    # status 60, activity 120, tokens 60, host 80; 10 between each.
    natural = [60, 120, 60, 80]
    order = [3, 1]  # host first, then the activity
    assert fit_row(natural, order, 400, 10, 20) == natural
    assert fit_row(natural, order, 300, 10, 20) == [60, 120, 60, 30]
    assert fit_row(natural, order, 200, 10, 20) == [60, 30, 60, 20]
    assert fit_row(natural, order, 160, 10, 20) == [60, 20, 60, None]
    assert fit_row(natural, order, 130, 10, 20) == [60, None, 60, None]

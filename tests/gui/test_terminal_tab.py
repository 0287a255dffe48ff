"""A sandbox's terminal tab in the real window: real tmux, a real local pty or
a PTY channel over the test sshd, typed into with Qt key events."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.attach import Phase
from app.ui.sandbox_tab import SandboxTab
from app.ui.window import MainWindow
from tests.gui.conftest import until
from tests.gui.test_window import create, local_connected, tile_named
from tests.helpers import pane_tty_size
from tests.remote.conftest import Remote

SHELL = "bash --norc --noprofile -i"


def screen(tab: SandboxTab) -> str:
    return "\n".join(line.rstrip() for line in tab.terminal.screen_lines())


async def shows(tab: SandboxTab, needle: str, count: int = 1) -> str:
    try:
        text: str = await until(lambda: screen(tab).count(needle) >= count and screen(tab))
    except AssertionError:
        raise AssertionError(f"{needle!r} not in the terminal:\n{screen(tab)}") from None
    return text


def row_of(tab: SandboxTab, start: str) -> int:
    return next(i for i, line in enumerate(tab.terminal.screen_lines()) if line.startswith(start))


def tmux(sb: dict[str, Any], *args: str) -> str:
    out = subprocess.run(["tmux", "-S", sb["tmux_socket"], *args], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def type_line(qtbot: Any, tab: SandboxTab, text: str) -> None:
    qtbot.keyClicks(tab.terminal, text)
    qtbot.keyClick(tab.terminal, Qt.Key.Key_Return)


async def open_tab(
    w: MainWindow, qtbot: Any, host: str, name: str, by_enter: bool = False
) -> SandboxTab:
    """Open the tile's terminal as a person does: select it, double-click (or Enter)."""
    await until(lambda: tile_named(w, name), what=f"the tile {name}")
    row = next(r for r in range(w.proxy.rowCount()) if w.proxy.index(r, 0).data() == name)
    index = w.proxy.index(row, 0)
    w.tiles.setCurrentIndex(index)
    center: QPoint = w.tiles.visualRect(index).center()
    if by_enter:
        w.tiles.setFocus()
        qtbot.keyClick(w.tiles, Qt.Key.Key_Return)
    else:
        double_click(w.tiles.viewport(), center)
    tab: SandboxTab = await until(lambda: w.work.tabs.get(tile_named(w, name).key),
                                  what="the tab")  # fmt: skip
    await until(lambda: tab.link.phase is Phase.ATTACHED, what="attached")
    await shows(tab, f"[{name}]")  # tmux's status line
    return tab


def double_click(widget: QWidget, pos: QPoint) -> None:
    """Press, release, double-click, release: what a platform sends for a double
    click (QTest's mouseDClick sends no press first, and the view ignores it)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, left),
                          (QEvent.Type.MouseButtonRelease, none),
                          (QEvent.Type.MouseButtonDblClick, left),
                          (QEvent.Type.MouseButtonRelease, none)):  # fmt: skip
        event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), left, buttons,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
        QApplication.sendEvent(widget, event)


def cell_pixel(tab: SandboxTab, x: int, y: int) -> QColor:
    """The colour most unlike the background inside cell (x, y), as drawn."""
    image = tab.terminal.grab().toImage()
    rect = tab.terminal.cell_rect(x, y).toAlignedRect()
    bg = image.pixelColor(rect.topLeft())
    best, most = bg, 0
    for px in range(rect.left(), rect.right()):
        for py in range(rect.top(), rect.bottom()):
            c = image.pixelColor(px, py)
            diff = abs(c.red() - bg.red()) + abs(c.green() - bg.green()) + abs(c.blue() - bg.blue())
            if diff > most:
                best, most = c, diff
    return best


def test_terminal_tab_types_draws_resizes_pastes_and_detaches_on_close(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: local_connected(w))
        sb = await create(w, "term", project, SHELL)
        tab = await open_tab(w, qtbot, "local", "term")
        assert w.work.isVisible() and w.work.tabText(w.work.currentIndex()) == "term"

        type_line(qtbot, tab, "echo hi-$((6*7))")
        await shows(tab, "hi-42")

        type_line(qtbot, tab, r"printf '\e[31mred\e[0m plain\n'")
        await shows(tab, "red plain")
        y = row_of(tab, "red plain")
        assert tab.terminal.cell(0, y).fg == "red" and tab.terminal.cell(4, y).fg == "default"
        red, plain = cell_pixel(tab, 1, y), cell_pixel(tab, 5, y)
        assert red.red() > 150 and red.green() < 110 and red.blue() < 110, red.name()
        assert not (plain.red() > 150 and plain.green() < 110), plain.name()

        type_line(qtbot, tab, r"printf '\xe6\xbc\xa2x\n'")  # 漢 then x
        await shows(tab, "漢x")
        y = row_of(tab, "漢")
        assert tab.terminal.cell(0, y).data == "漢" and tab.terminal.cell(2, y).data == "x"

        # A bigger window: the widget's grid, the PTY and so tmux follow.
        cols_before = tab.terminal.grid_size()[0]
        w.resize(w.width() + 300, w.height())
        await until(lambda: tab.terminal.grid_size()[0] > cols_before, what="a wider grid")
        cols = tab.terminal.grid_size()[0]
        rows = tab.terminal.grid_size()[1] - 1  # tmux's status line takes one
        await until(lambda: pane_tty_size(sb["tmux_socket"], "term") == f"{rows} {cols}",
                    what="tmux to follow")  # fmt: skip
        type_line(qtbot, tab, "clear; tput cols")
        await until(lambda: str(cols) in screen(tab).splitlines(), what="tput's answer")

        # Paste while the program asked for bracketed paste: it arrives wrapped.
        type_line(qtbot, tab, r"clear; printf '\e[?2004h'; od -c")
        await shows(tab, "0:od*")  # tmux names the window after what runs
        QGuiApplication.clipboard().setText("pasted")
        qtbot.keyClick(tab.terminal, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)  # fmt: skip
        qtbot.keyClick(tab.terminal, Qt.Key.Key_Return)
        qtbot.keyClick(tab.terminal, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        # The terminal's echo shows the escapes (^[ is ESC), and od the bytes.
        text = await shows(tab, "^[[200~pasted^[[201~")
        assert "033   [   2   0   0   ~   p   a   s   t   e   d 033   [   2   0" in text

        # View → Terminal font…: the terminal takes the font chosen, and keeps it.
        dialog = w.work.choose_font()
        chosen = QFont(tab.terminal.font())
        chosen.setFamily("DejaVu Sans Mono")
        chosen.setPointSize(15)
        dialog.setCurrentFont(chosen)
        dialog.accept()
        await until(lambda: tab.terminal._renderer.fonts[0].pointSize() == 15, what="the font")
        assert w.settings.value("terminal/font") == "DejaVu Sans Mono"

        # Closing the tab detaches; the sandbox and its tmux go on.
        w.work.close_tab(tab)
        await until(lambda: tmux(sb, "list-clients") == "", what="the client to go")
        assert tmux(sb, "has-session", "-t", "=term") == "" and tile_named(w, "term").status == (
            "running"
        )
        assert not w.work.isVisible()

    run(body())


def test_wheel_scrolls_tmuxs_history_when_the_program_did_not_ask_for_the_mouse(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        sb = await create(w, "wheel", project, SHELL)
        tab = await open_tab(w, qtbot, "local", "wheel", by_enter=True)
        type_line(qtbot, tab, "seq 1 500")
        await shows(tab, "500")
        term = tab.terminal
        centre = QPointF(term.width() / 2, term.height() / 2)
        wheel = QWheelEvent(centre, term.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
        QApplication.sendEvent(term, wheel)
        await until(lambda: tmux(sb, "display-message", "-p", "-t", "=wheel:",
                                 "#{pane_in_mode}") == "1", what="tmux's copy mode")  # fmt: skip
        # What the person sees moved back: the last line is no longer at the bottom.
        await until(lambda: "500" not in screen(tab), what="the history on the screen")

    run(body())


def test_tabs_tear_off_come_back_and_reopen_after_a_restart(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def first() -> dict[str, tuple[str, str]]:
        await until(lambda: local_connected(w))
        for name in ("one", "two", "three"):
            await create(w, name, project, SHELL)
        tabs = {name: await open_tab(w, qtbot, "local", name) for name in ("one", "two", "three")}
        three = tabs["three"]
        assert w.work.count() == 3
        three.float_button.click()  # its own window
        window = await until(lambda: w.work.floating.get(three.key), what="a window of its own")
        assert window.isVisible() and w.work.count() == 2 and three.window() is window
        type_line(qtbot, three, "echo still-$((1+1))")
        await shows(three, "still-2")  # the same terminal, still attached
        three.float_button.click()  # put back
        await until(lambda: w.work.count() == 3 and not window.isVisible(), what="put back")
        assert three.window() is w
        three.float_button.click()  # and off again, to be saved that way
        await until(lambda: three.key in w.work.floating)
        keys = {name: tab.key for name, tab in tabs.items()}
        w.close()
        await until(lambda: not w.hub.sessions and not w.tasks, what="the window to close")
        return keys

    keys = run(first())
    w2 = make_window()
    w2.open_hosts(w2.hosts_to_reopen())

    async def second() -> None:
        tabs = await until(lambda: len(w2.work.tabs) == 3 and w2.work.tabs, what="the saved tabs")
        one, two, three = (tabs[keys[name]] for name in ("one", "two", "three"))
        assert three.key in w2.work.floating and w2.work.floating[three.key].isVisible()
        for tab in (two, three):
            await until(lambda tab=tab: tab.link.phase is Phase.ATTACHED, what="attached again")
        # The tab behind another is not attached at the size of a hidden page
        # (it would squeeze the sandbox's terminal): it attaches when shown.
        assert w2.work.currentWidget() is two and one.link.phase is not Phase.ATTACHED
        w2.work.setCurrentWidget(one)
        await until(lambda: one.link.phase is Phase.ATTACHED, what="attached when shown")
        cols, rows = one.terminal.grid_size()
        sb = w2.model.tile(one.key).sandbox
        await until(lambda: pane_tty_size(sb["tmux_socket"], "one") == f"{rows - 1} {cols}",
                    what="its own size")  # fmt: skip
        await shows(one, "[one]")

    run(second())


def test_terminal_over_ssh_and_a_dropped_connection_reattaches(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], remote: Remote, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["testhost"])

    async def body() -> None:
        await until(lambda: (s := w.hub.sessions.get("testhost")) and s.state.phase == "connected",
                    what="connected")  # fmt: skip
        await w.hub.sessions["testhost"].create(
            {"name": "far", "backend": "none", "project_dir": str(remote.project), "agent": SHELL}
        )
        tab = await open_tab(w, qtbot, "testhost", "far")
        type_line(qtbot, tab, "echo far-$((40+2))")
        await shows(tab, "far-42")
        assert remote.sshd.log.count("Accepted publickey") == 1  # one connection for both

        assert remote.sshd.kill_connections() > 0
        await until(lambda: tab.link.phase is Phase.DISCONNECTED, what="disconnected")
        assert "Disconnected from testhost" in (tab.terminal.status_text() or "")
        await until(lambda: tab.link.phase is Phase.ATTACHED, timeout=60, what="reattached")
        type_line(qtbot, tab, "echo back-$((40+2))")
        await shows(tab, "back-42")
        # Closing the tab hangs up at once (tmux in a PTY never ends at end of
        # input: waiting for it kept the client attached 10 s).
        sb = w.model.tile(tab.key).sandbox
        w.work.close_tab(tab)
        await until(lambda: tmux(sb, "list-clients") == "", timeout=5, what="the client to go")
        tab = w.work.open(tab.key)
        await until(lambda: tab.link.phase is Phase.ATTACHED, what="attached again")
        await w.hub.sessions["testhost"].api.delete("far")
        await until(lambda: not w.work.tabs, what="the deleted sandbox's tab to close")
        await w.hub.close("testhost")

    run(body())


def test_a_stopped_sandboxs_terminal_comes_back_when_it_runs_even_behind_another_tab(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: local_connected(w))
        session = w.hub.sessions["local"]
        for name in ("front", "back"):
            await create(w, name, project, SHELL)
        back = await open_tab(w, qtbot, "local", "back")
        await open_tab(w, qtbot, "local", "front")  # back is behind it now
        await session.api.stop("back")
        # tmux goes before the status says "stopped": not taken for a detach.
        await until(lambda: back.link.phase is Phase.ENDED, what="ended")
        assert "stopped" in (back.terminal.status_text() or "")
        await session.api.start("back")
        await until(lambda: tile_named(w, "back").status == "running", what="running again")
        assert back.link.phase is not Phase.ATTACHED  # hidden: it waits to be shown
        w.work.setCurrentWidget(back)
        await until(lambda: back.link.phase is Phase.ATTACHED, what="attached when shown")
        type_line(qtbot, back, "echo again-$((2*3))")
        await shows(back, "again-6")
        assert back.terminal.status_text() is None

    run(body())


async def flood(w: MainWindow, qtbot: Any, host: str, name: str, project: str, slack: int) -> None:
    """A burst through a terminal whose reading pauses at every read; ``slack``:
    what may still arrive after a pause (reads already taken)."""
    await w.hub.sessions[host].create(
        {"name": name, "backend": "none", "project_dir": project, "agent": SHELL}
    )
    tab = await open_tab(w, qtbot, host, name)
    term: Any = tab.link._term
    pauses: list[int] = []
    backlog: list[int] = []
    pause, feed = term.pause_reading, tab.terminal.feed

    def counting_pause() -> None:
        pauses.append(tab.terminal.pending())
        pause()

    def watched_feed(data: bytes) -> None:
        feed(data)
        backlog.append(tab.terminal.pending())

    term.pause_reading = counting_pause
    tab.terminal.feed = watched_feed  # type: ignore[method-assign]
    type_line(qtbot, tab, "seq 1 300000; echo END-$((1+1))")
    await until(lambda: "END-2" in screen(tab) and "300000" in screen(tab), timeout=60,
                what="the end of the burst")  # fmt: skip
    # Paused more than once: it resumed in between, and the output arrived whole.
    assert len(pauses) >= 2 and max(backlog) <= 1 + slack, (len(pauses), max(backlog))
    lines = screen(tab).splitlines()
    assert lines[lines.index("END-2") - 1] == "300000"  # the last screen, whole


def test_output_faster_than_the_terminal_parses_pauses_a_local_pty(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any,
    monkeypatch: Any,
) -> None:  # fmt: skip
    import app.ui.attach as attach

    # tmux paces what it sends to a slow reader, so through it the backlog seldom
    # reaches a real bound; at 1 byte every read pauses and resumes the PTY.
    monkeypatch.setattr(attach, "BACKLOG_MAX", 1)
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: local_connected(w))
        # A read or two of 64 KB at most before the pause is seen.
        await flood(w, qtbot, "local", "flood", str(project), 2 * 65536)

    run(body())


def test_output_faster_than_the_terminal_parses_pauses_an_ssh_channel(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], remote: Remote, qtbot: Any,
    monkeypatch: Any,
) -> None:  # fmt: skip
    import app.ui.attach as attach

    monkeypatch.setattr(attach, "BACKLOG_MAX", 1)
    w = make_window()
    w.open_hosts(["testhost"])

    async def body() -> None:
        await until(lambda: (s := w.hub.sessions.get("testhost")) and s.state.phase == "connected",
                    what="connected")  # fmt: skip
        # The reader thread may have handed the loop a few reads before it sees
        # the pause: far below what an unpaused reader would queue.
        await flood(w, qtbot, "testhost", "flood", str(remote.project), 512 * 1024)
        await w.hub.sessions["testhost"].api.delete("flood")
        await w.hub.close("testhost")

    run(body())

"""What a new user tripped on in the window (issue 17): the local host's one
name, Add host connecting, tiles in a narrow window, the order held under the
pointer, and the Help menu. Against a real local hostd and a real sshd."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices, QEnterEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QMessageBox,
    QTableWidget,
)

from app.ui.help_menu import README, shortcuts_of
from app.ui.host_dialog import HostDialog
from app.ui.model import SORT_KEYS
from app.ui.window import MainWindow
from hostd.protocol.version import __version__
from tests.gui.conftest import until
from tests.gui.test_waiting import ask_permission, claude_sandbox
from tests.gui.test_window import create, tile_named, top_dialog
from tests.remote.conftest import Remote
from tests.remote.sshd import free_port, hostd_command


def shown_names(w: MainWindow) -> list[str]:
    """The tiles' names in the order the grid shows them."""
    return [w.proxy.index(r, 0).data() for r in range(w.proxy.rowCount())]


def test_the_local_host_is_called_this_machine_everywhere(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "named", project, "sleep 600")
        tile = await until(lambda: tile_named(w, "named"))
        # The host list, and the tile's tooltip.
        assert w.hosts.host_row("local").label == "This machine"
        tooltip = w.proxy.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
        assert "named on This machine" in tooltip and " on local" not in tooltip
        # The sandbox's tab, and the host's view.
        tab = w.work.open(tile.key)
        assert tab is not None and "on This machine" in tab.tooltip
        view = w.work.open_host("local")
        assert w.work.tabText(w.work.indexOf(view)) == "Host: This machine"
        # Asking to delete it names the host so too.
        w.tiles.setCurrentIndex(w.proxy.index(0, 0))
        w.delete_action.trigger()
        box: QMessageBox = await until(lambda: top_dialog(QMessageBox))
        assert "Delete named on This machine?" in box.text()
        box.reject()
        await until(lambda: top_dialog(QMessageBox) is None)
        # A problem with it in the status bar and banner: "This machine: …".
        w.hub.sessions["local"].problem.emit("local", "a test problem")
        assert w.banner.text().startswith("This machine: a test problem")

    run(body())


def fill_host_dialog(dialog: HostDialog, name: str, host: str, port: int, command: str) -> None:
    dialog.alias.setText(name)
    dialog.hostname.setText(host)
    dialog.port.setValue(port)
    dialog.command.setText(command)


def save(dialog: HostDialog) -> None:
    buttons = dialog.findChild(QDialogButtonBox)
    buttons.button(QDialogButtonBox.StandardButton.Save).click()


def test_add_host_connects_to_the_host_it_saved_and_says_so_when_it_cannot(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], remote: Remote
) -> None:
    w = make_window()
    command = hostd_command(remote.state_dir, remote.stub_env)

    async def body() -> None:
        # File → Add host…, filled in, Save: the host is connected, no double-click.
        w.host_actions.add()
        dialog: HostDialog = await until(lambda: top_dialog(HostDialog, "host-dialog"))
        fill_host_dialog(dialog, "lab", "testhost", 0, command)
        save(dialog)
        await until(lambda: (r := w.hosts.host_row("lab")) and r.phase == "connected",
                    what="the new host connected")  # fmt: skip
        assert "lab" in w.hub.profiles.load()
        assert "lab" in w.hub.sessions
        # A host nobody listens on: saved, and the window says it could not connect.
        w.host_actions.add()
        dialog = await until(lambda: top_dialog(HostDialog, "host-dialog"))
        fill_host_dialog(dialog, "nowhere", "127.0.0.1", free_port(), command)
        save(dialog)
        await until(lambda: (r := w.hosts.host_row("nowhere")) and r.phase == "failed",
                    what="the failed connect in the host list")  # fmt: skip
        assert w.banner.isVisible()
        assert w.banner.text().startswith("Could not connect to nowhere:")
        assert "nowhere" in w.hub.profiles.load()  # kept, to edit or try again
        await w.hub.close("lab")

    run(body())


def test_tiles_shrink_in_a_narrow_window_instead_of_scrolling_sideways(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "narrow", project, "sleep 600")
        await until(lambda: w.proxy.rowCount() == 1)
        w.tile_size.setValue(420)
        w.resize(1100, 700)
        await until(lambda: w.tiles.visualRect(w.proxy.index(0, 0)).width() == 420,
                    what="the tile as wide as chosen")  # fmt: skip
        viewport = w.tiles.viewport()
        for width in (800, 560, 480):
            w.resize(width, 600)
            await until(lambda: w.tiles.visualRect(w.proxy.index(0, 0)).right() < viewport.width(),
                        what=f"the tile to fit at {width} px")  # fmt: skip
            assert not w.tiles.horizontalScrollBar().isVisible()
            assert w.tiles.horizontalScrollBar().maximum() == 0
        # Wide again: the tile is as chosen again.
        w.resize(1400, 700)
        await until(lambda: w.tiles.visualRect(w.proxy.index(0, 0)).width() == 420,
                    what="the chosen width back")  # fmt: skip

    run(body())


def pointer_enters(w: MainWindow) -> None:
    pos = QPointF(w.tiles.rect().center())
    QApplication.sendEvent(
        w.tiles, QEnterEvent(pos, pos, QPointF(w.tiles.mapToGlobal(pos.toPoint())))
    )


def pointer_leaves(w: MainWindow) -> None:
    QApplication.sendEvent(w.tiles, QEvent(QEvent.Type.Leave))


def test_sorting_by_activity_holds_the_order_while_the_pointer_is_over_the_grid(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, gui_env: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await claude_sandbox(w, "aa", project)
        bb = await claude_sandbox(w, "bb", project)
        w.sort.setCurrentIndex(SORT_KEYS.index("activity"))
        await until(lambda: shown_names(w) == ["aa", "bb"], what="by name among equals")
        # The pointer over the grid: bb starts waiting, but no tile moves.
        pointer_enters(w)
        ask_permission(gui_env, bb.sandbox["id"])
        await until(lambda: tile_named(w, "bb").waiting, what="bb waiting")
        await create(w, "ab", project, "sleep 600")  # a new tile comes last meanwhile
        await until(lambda: len(shown_names(w)) == 3)
        assert shown_names(w) == ["aa", "bb", "ab"]
        # The pointer leaves: the order is the activity's (waiting first).
        pointer_leaves(w)
        await until(lambda: shown_names(w)[0] == "bb", what="the waiting tile first")
        assert shown_names(w) == ["bb", "aa", "ab"]

    run(body())


class Opened(QObject):
    """Stands for the desktop's handler of file: URLs (the browser)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_help_menu_has_the_version_the_readme_and_every_shortcut(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])
    opened = Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")

    async def body() -> None:
        menus = [a.text() for a in w.menuBar().actions()]
        assert menus[-1] == "&Help"
        # About: the version.
        w.help.about_action.trigger()
        about: QMessageBox = await until(lambda: top_dialog(QMessageBox, "about-dialog"))
        assert __version__ in about.text()
        about.accept()
        # The README beside the package, opened by the desktop.
        w.help.readme_action.trigger()
        assert [u.toLocalFile() for u in opened.urls] == [str(README)]
        assert README.is_file()
        assert w.statusBar().currentMessage() == f"Opened {README}"
        # A tab's page keys are listed before any tab is open.
        before = {(k.keys, k.what) for k in shortcuts_of(w)}
        assert ("Ctrl+Shift+PgUp", "Previous page of the tab") in before
        # The shortcuts: every one the window has, a sandbox tab's too.
        sb = await create(w, "keys", project, "sleep 600")
        await until(lambda: tile_named(w, "keys"))
        w.work.open(("local", sb["id"]))
        w.addAction(extra := QAction("A shortcut added later", w))
        extra.setShortcut(QKeySequence("Ctrl+Alt+J"))
        w.help.shortcuts_action.trigger()
        dialog = await until(lambda: top_dialog(QObject, "shortcuts-dialog"))
        table: QTableWidget = dialog.findChild(QTableWidget, "shortcuts")
        rows = {(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())}
        for expected in [
            ("Ctrl+Q", "Quit"),
            ("Ctrl+N", "New sandbox"),
            ("Ctrl+T", "Open terminal"),
            ("F5", "Refresh"),
            ("Ctrl+F", "Find"),
            ("Del", "Delete"),
            ("Ctrl+Shift+W", "Close the tab in front (its sandbox keeps running)"),
            ("Ctrl+Shift+PgDown", "Next page of the tab"),
            ("Ctrl+Shift+C", "In a terminal: copy"),
            ("Ctrl+Alt+J", "A shortcut added later"),
        ]:
            assert expected in rows, f"{expected} not in {sorted(rows)}"
        every = {
            s.toString(QKeySequence.SequenceFormat.NativeText)
            for a in w.findChildren(QAction)
            for s in a.shortcuts()
        }
        assert every <= {keys for keys, _what in rows}
        dialog.reject()

    try:
        run(body())
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_a_readme_missing_says_so_in_the_window(
    make_window: Callable[[], MainWindow], monkeypatch: Any
) -> None:
    import app.ui.help_menu as help_menu

    # A copy installed without its README (and without metadata naming a home
    # page): the two places the menu looks, pointed where nothing is.
    monkeypatch.setattr(help_menu, "README", Path("/nonexistent/README.md"))
    monkeypatch.setattr(help_menu, "PACKAGE", "claude-sandbox-not-installed")
    w = make_window()
    assert w.help.open_readme() is None
    assert w.banner.isVisible() and "no README.md" in w.banner.text()

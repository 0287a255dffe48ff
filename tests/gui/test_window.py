"""The main window as a person uses it, against a real local hostd (and a real sshd)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QPushButton

from app.ui.create_dialog import CreateDialog
from app.ui.hostlist import HostRole, figures
from app.ui.model import Tile
from app.ui.window import MainWindow
from tests.gui.conftest import until
from tests.remote.conftest import Remote

PAINT = "sh -c 'xsetroot -solid \"{colour}\"; exec sleep 600'"


def local_connected(w: MainWindow) -> bool:
    session = w.hub.sessions.get("local")
    return session is not None and session.state.phase == "connected"


def tile_named(w: MainWindow, name: str) -> Tile | None:
    return next((t for t in w.model.tiles() if t.name == name), None)


def thumbnail_pixel(w: MainWindow, name: str) -> QColor:
    """The colour at the middle of a tile's picture, as the window shows it."""
    for row in range(w.proxy.rowCount()):
        index = w.proxy.index(row, 0)
        if index.data() == name:
            rect = w.tiles.visualRect(index)
            thumb = w.tiles.tile_delegate.thumb_rect(rect)
            image: QImage = w.tiles.viewport().grab().toImage()
            return image.pixelColor(thumb.center())
    raise AssertionError(f"no tile {name}")


def near(c: QColor, rgb: tuple[int, int, int], tol: int = 20) -> bool:
    return all(abs(a - b) <= tol for a, b in zip((c.red(), c.green(), c.blue()), rgb, strict=True))


async def create(w: MainWindow, name: str, project: Path, agent: str) -> dict[str, Any]:
    await until(lambda: local_connected(w))
    return await w.hub.sessions["local"].create(
        {"name": name, "backend": "none", "project_dir": str(project), "agent": agent}
    )


async def new_sandbox_dialog(w: MainWindow, qtbot: Any, name: str, project: Path) -> CreateDialog:
    """Open the New sandbox dialog as a person does (Ctrl+N) and fill it in:
    ``name``, ``project``, no isolation, an agent that waits."""
    w.new_action.trigger()
    dialog: CreateDialog = await until(lambda: top_dialog(CreateDialog))
    qtbot.keyClicks(dialog.name, name)
    qtbot.keyClicks(dialog.project, str(project))
    dialog.backend.setCurrentIndex(dialog.backend.findData("none"))
    dialog.agent.setText("sleep 600")
    return dialog


def top_dialog(kind: type, name: str | None = None) -> Any:
    for widget in QApplication.topLevelWidgets():
        visible = isinstance(widget, kind) and widget.isVisible()
        if visible and (name is None or widget.objectName() == name):
            return widget
    return None


def test_tile_shows_the_colour_the_display_is_painted(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "green", project, PAINT.format(colour="#00c000"))
        await until(lambda: (t := tile_named(w, "green")) is not None and t.frame is not None)
        await until(lambda: near(thumbnail_pixel(w, "green"), (0, 192, 0)), what="green tile")
        row = await until(lambda: (r := w.hosts.host_row("local")) and r.metrics and r)
        assert row.phase == "connected" and figures(row.metrics).startswith("CPU ")

    run(body())


def test_host_figures_are_repainted_when_they_come(
    make_window: Callable[[], MainWindow], run: Callable[..., Any]
) -> None:
    # On a real display the list repaints only what its model says changed;
    # a row changed in place was never said to change, so an empty host never
    # showed its figures. What each change notice carries is what gets painted.
    w = make_window()
    painted: list[str] = []

    def changed(top: Any, _bottom: Any, _roles: Any = None) -> None:
        row = w.hosts.item(top.row()).data(HostRole)
        painted.append(figures(row.metrics))

    w.hosts.model().dataChanged.connect(changed)
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: any(f.startswith("CPU ") for f in painted), what="the figures")

    run(body())


def test_create_through_the_dialog_adds_a_tile_and_errors_show_inline(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: local_connected(w))
        await create(w, "taken", project, "sleep 600")
        w.new_action.trigger()
        dialog: CreateDialog = await until(lambda: top_dialog(CreateDialog))
        # Inline checks as the person types.
        qtbot.keyClicks(dialog.name, "bad name")
        assert (
            dialog.name_error.isVisible() and "a space is not allowed" in dialog.name_error.text()
        )
        dialog.name.clear()
        qtbot.keyClicks(dialog.name, "taken")
        assert "exists on that host" in dialog.name_error.text()
        qtbot.keyClicks(dialog.project, "relative/dir")
        assert "absolute path" in dialog.project_error.text()
        # The backends list shows availability; vm is unavailable here and says why.
        labels = [dialog.backend.itemText(i) for i in range(dialog.backend.count())]
        assert any(label.startswith("vm") and "unavailable" in label for label in labels)
        assert "claude-sandbox-vm not found" in dialog.backend_note.text()
        # A server-side refusal keeps the dialog open with hostd's message.
        dialog.name.clear()
        qtbot.keyClicks(dialog.name, "fresh")
        dialog.project.clear()
        qtbot.keyClicks(dialog.project, "/no/such/dir")
        dialog.backend.setCurrentIndex(dialog.backend.findData("none"))
        dialog.agent.setText("sleep 600")
        dialog.create_button.click()
        await until(lambda: dialog.server_error.isVisible(), what="the server's error")
        assert "does not exist" in dialog.server_error.text() and dialog.isVisible()
        dialog.project.setText(str(project))
        dialog.create_button.click()
        await until(lambda: tile_named(w, "fresh") is not None, what="the new tile")
        await until(lambda: top_dialog(CreateDialog) is None, what="the dialog to close")
        assert tile_named(w, "fresh").status == "running"

    run(body())


def test_stop_start_and_delete_change_the_tile(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "cycle", project, "sleep 600")
        tile = await until(lambda: tile_named(w, "cycle"))
        await w.sandbox_actions.act(tile, "stop")
        await until(lambda: tile_named(w, "cycle").status == "stopped")
        await w.sandbox_actions.act(tile_named(w, "cycle"), "start")
        await until(lambda: tile_named(w, "cycle").status == "running")
        # Delete asks first; the person confirms.
        w.sandbox_actions.tile_action(tile.key, "delete")
        box: QMessageBox = await until(lambda: top_dialog(QMessageBox))
        assert "Delete cycle on This machine?" in box.text()
        delete = next(b for b in box.findChildren(QPushButton) if b.text() == "Delete")
        delete.click()
        await until(lambda: tile_named(w, "cycle") is None, what="the tile to go")

    run(body())


def test_a_failed_action_shows_in_the_window(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "once", project, "sleep 600")
        tile = await until(lambda: tile_named(w, "once"))
        await w.sandbox_actions.act(tile, "start")  # it is running already: hostd says no
        assert tile_named(w, "once").error is not None
        assert "already running" in tile_named(w, "once").error
        assert w.banner.isVisible() and "already running" in w.banner.text()

    run(body())


def fail_unexpectedly(w: MainWindow, method: str, monkeypatch: Any) -> None:
    """Make the local client's ``method`` raise an error nobody expects (a bug).

    The one stand-in in these tests: no real component can be made to raise
    an error the window's code does not expect, which is the point. The
    window, the client, hostd and the sandbox are real; only this one call
    of our own client library is replaced, and every other call goes through.
    """
    client = w.hub.sessions["local"].client
    real = client.call

    async def call(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == method:
            raise RuntimeError(f"a bug in {method}")
        return await real(name, *args, **kwargs)

    monkeypatch.setattr(client, "call", call)


def test_an_unexpected_error_leaves_the_tile_and_the_dialog_usable(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path,
    qtbot: Any, monkeypatch: Any,
) -> None:  # fmt: skip
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "sturdy", project, "sleep 600")
        tile = await until(lambda: tile_named(w, "sturdy"))
        fail_unexpectedly(w, "sandbox.stop", monkeypatch)
        w.sandbox_actions.tile_action(tile.key, "stop")  # as the tile's Stop button does
        await until(lambda: w.banner.isVisible(), what="the error in the window")
        assert "a bug in sandbox.stop" in w.banner.text()
        now = tile_named(w, "sturdy")
        assert now.busy is None and "a bug in sandbox.stop" in (now.error or "")
        monkeypatch.undo()  # the bug is gone: the same tile stops as usual
        w.sandbox_actions.tile_action(tile.key, "stop")
        await until(lambda: tile_named(w, "sturdy").status == "stopped", what="the stop")
        assert tile_named(w, "sturdy").busy is None

        fail_unexpectedly(w, "sandbox.create", monkeypatch)
        dialog = await new_sandbox_dialog(w, qtbot, "later", project)
        dialog.create_button.click()
        await until(lambda: dialog.server_error.isVisible(), what="the dialog's error")
        assert "a bug in sandbox.create" in dialog.server_error.text()
        assert dialog.isVisible() and dialog.create_button.isEnabled()
        monkeypatch.undo()
        dialog.create_button.click()  # the person tries again, and it works
        await until(lambda: tile_named(w, "later") is not None, what="the new tile")
        await until(lambda: top_dialog(CreateDialog) is None, what="the dialog to close")

    run(body())


def hostd_children() -> list[psutil.Process]:
    me = psutil.Process()
    return [p for p in me.children(recursive=True) if "hostd" in " ".join(p.cmdline())]


def test_killed_hostd_turns_tiles_stale_and_reconnecting_restores_them(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "survivor", project, "sleep 600")
        await until(lambda: tile_named(w, "survivor"))
        for p in hostd_children():
            p.kill()
        await until(lambda: tile_named(w, "survivor").stale_since is not None, what="stale")
        shot = w.tiles.viewport().grab().toImage()
        assert not shot.isNull()
        await until(lambda: tile_named(w, "survivor").stale_since is None, what="live again")
        assert tile_named(w, "survivor").status == "running"
        assert w.hosts.host_row("local").phase == "connected"

    run(body())


def test_search_filter_and_sort(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        for name in ("beta", "alpha", "gamma"):
            await create(w, name, project, "sleep 600")
        await until(lambda: w.proxy.rowCount() == 3)
        names = [w.proxy.index(r, 0).data() for r in range(3)]
        assert names == ["alpha", "beta", "gamma"]
        qtbot.keyClicks(w.search, "amm")
        assert [w.proxy.index(r, 0).data() for r in range(w.proxy.rowCount())] == ["gamma"]
        w.search.clear()
        await w.sandbox_actions.act(tile_named(w, "beta"), "stop")
        await until(lambda: tile_named(w, "beta").status == "stopped")
        w.status_filter.setCurrentIndex(w.status_filter.findData("stopped"))
        assert [w.proxy.index(r, 0).data() for r in range(w.proxy.rowCount())] == ["beta"]
        w.status_filter.setCurrentIndex(0)
        w.sort.setCurrentIndex(w.sort.findData("status"))
        assert w.proxy.index(2, 0).data() == "beta"  # stopped sorts after running

    run(body())


def test_quitting_ends_hostd_and_keeps_sandboxes_and_settings(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, gui_env: Path
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "keeper", project, "sleep 600")
        w.tile_size.setValue(420)
        assert hostd_children()
        w.close()
        await until(lambda: not hostd_children(), timeout=10, what="hostd to exit")
        assert not w.isVisible()

    run(body())
    # The sandbox is still running without the app...
    from tests.helpers import Hostd

    h = Hostd(gui_env, {"PATH": os.environ["PATH"]})
    try:
        assert [s["status"] for s in h.call("sandbox.list")] == ["running"]
    finally:
        h.close()
    # ...and the next window comes back the way this one was left.
    w2 = make_window()
    assert w2.tile_size.value() == 420
    assert w2.hosts_to_reopen() == ["local"]


def test_first_connect_to_a_remote_host_asks_about_its_key(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], remote: Remote
) -> None:
    remote.known_hosts.unlink()
    w = make_window()
    assert "testhost" in w.hub.known_hosts()
    w.open_hosts(["testhost"])

    async def body() -> None:
        box: QMessageBox = await until(lambda: top_dialog(QMessageBox, "host-key-dialog"))
        assert "SHA256:" in box.informativeText()
        once = next(b for b in box.findChildren(QPushButton) if b.text() == "Accept once")
        once.click()
        await until(lambda: (r := w.hosts.host_row("testhost")) and r.phase == "connected")
        assert not remote.known_hosts.exists() or "127.0.0.1" not in remote.known_hosts.read_text()
        await w.hub.close("testhost")

    run(body())


def test_context_menu_and_keyboard(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "keys", project, "sleep 600")
        await until(lambda: w.proxy.rowCount() == 1)
        index = w.proxy.index(0, 0)
        w.tiles.setCurrentIndex(index)
        w.tiles.setFocus()
        qtbot.keyClick(w.tiles, Qt.Key.Key_Delete)
        box: QMessageBox = await until(lambda: top_dialog(QMessageBox))
        assert "Delete keys" in box.text()
        box.reject()
        await until(lambda: top_dialog(QMessageBox) is None)
        assert tile_named(w, "keys") is not None
        # The context menu offers what the tile can do; Stop stops it.
        center: QPoint = w.tiles.visualRect(index).center()
        w.sandbox_actions.tile_menu(center)
        menu: QMenu = await until(lambda: top_dialog(QMenu))
        labels = [a.text() for a in menu.actions() if a.text()]
        assert labels[:4] == ["Open terminal\tCtrl+T", "Stop", "Delete…", "Sync…"]
        next(a for a in menu.actions() if a.text() == "Stop").trigger()
        menu.close()
        await until(lambda: tile_named(w, "keys").status == "stopped", what="the menu's stop")
        # Hovering shows the tile's buttons; clicking Start starts it.
        viewport = w.tiles.viewport()
        # Sent, not QTest.mouseMove: that sends nothing when the pointer is
        # already there (an earlier test may have left it on this spot).
        move = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(center),
            QPointF(viewport.mapToGlobal(center)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(viewport, move)
        await until(lambda: w.tiles.tile_delegate.hover_row == 0, what="the hover")
        rects = dict(
            (act.name, r)
            for act, r in w.tiles.tile_delegate.button_rects(
                w.tiles.visualRect(w.proxy.index(0, 0)), tile_named(w, "keys")
            )
        )
        assert set(rects) == {"start", "sync", "delete"}
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rects["start"].center())
        await until(lambda: tile_named(w, "keys").status == "running", what="the button's start")

    run(body())

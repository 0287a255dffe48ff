"""The main window: hosts on the left, live tiles on the right, actions everywhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from PySide6.QtCore import QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSlider,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.remote.client import LIFECYCLE_TIMEOUT_S
from app.remote.create_check import check_create
from app.remote.errors import ConfigError, RemoteError
from app.remote.profiles import LOCAL, Profiles
from app.remote.ssh.config import SshConfig
from app.remote.sync.result import SyncProgress
from app.remote.sync.state import SyncError
from app.remote.sync.syncer import Syncer
from hostd.protocol import RpcError
from hostd.protocol import methods as m

from .asks import confirm, gui_prompts, warn
from .create_dialog import CreateDialog
from .host_dialog import HostDialog
from .hostlist import HostList
from .hub import CLOSE_TIMEOUT_S, Hub
from .model import SORT_KEYS, SandboxModel, Tile, TileFilter, TileRole
from .sync_panel import SyncController, SyncDialog, summary
from .tiles import DEFAULT_TILE, MAX_TILE, MIN_TILE, TileView

log = logging.getLogger(__name__)

BUSY_TEXT = {"stop": "Stopping…", "start": "Starting…", "delete": "Deleting…"}
STATUSES = ("", "running", "stopped", "exited", "dead")


class MainWindow(QMainWindow):
    closed = Signal()  # after quitting has closed every host: the app may exit

    def __init__(self, settings: QSettings, profiles: Profiles | None = None,
                 local_command: list[str] | None = None) -> None:  # fmt: skip
        super().__init__()
        # Quitting hides the window and then closes hosts on the event loop
        # (closeEvent); Qt must not stop that loop when the window goes away.
        app = QGuiApplication.instance()
        if app is not None:
            app.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]
        self.settings = settings
        self.setWindowTitle("Claude Sandbox")
        self.model = SandboxModel()
        self.proxy = TileFilter()
        self.proxy.setSourceModel(self.model)
        self.tiles = TileView()
        self.tiles.setModel(self.proxy)
        self.hosts = HostList()
        self.hub = Hub(
            self.model,
            self.hosts,
            gui_prompts(lambda: self),
            profiles or Profiles.default(),
            self._frame_width,
            local_command,
        )
        self._tasks: set[asyncio.Future[Any]] = set()
        self._syncs: dict[tuple[str, str], SyncController] = {}
        self._closing = False
        self._build()
        self._restore()
        self.hub.refresh_rows()
        self.hub.message.connect(self.show_message)
        self.hub.opened.connect(lambda _name: self._update_empty())
        self.hub.closing.connect(self._stop_syncs_of)
        self.model.rowsAboutToBeRemoved.connect(self._rows_going)
        self.hub.key_changed.connect(
            lambda host, text: self._spawn(
                warn(self, "Host key changed", f"The host key of {host} has changed.", text)
            )
        )

    # -- building ------------------------------------------------------------------------

    def _build(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.new_action = self._action("New sandbox…", "Ctrl+N", self.new_sandbox)
        self.refresh_action = self._action("Refresh", "F5", self.refresh)
        bar.addAction(self.new_action)
        bar.addAction(self.refresh_action)
        bar.addSeparator()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by name (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(260)
        self.search.textChanged.connect(lambda t: self.proxy.set_filter(
            host=self.hosts.current_host(), status=self._status_filter(), text=t))  # fmt: skip
        bar.addWidget(self.search)
        self.status_filter = QComboBox()
        for status in STATUSES:
            self.status_filter.addItem(status.capitalize() or "Any status", status)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.status_filter)
        self.sort = QComboBox()
        for key in SORT_KEYS:
            self.sort.addItem(f"Sort by {key}", key)
        self.sort.currentIndexChanged.connect(
            lambda _i: self.proxy.set_sort_key(self.sort.currentData())
        )
        bar.addWidget(self.sort)
        bar.addSeparator()
        bar.addWidget(QLabel(" Tile size "))
        self.tile_size = QSlider(Qt.Orientation.Horizontal)
        self.tile_size.setRange(MIN_TILE, MAX_TILE)
        self.tile_size.setValue(DEFAULT_TILE)
        self.tile_size.setMaximumWidth(160)
        self.tile_size.valueChanged.connect(self._tile_size)
        bar.addWidget(self.tile_size)
        self._size_timer = QTimer(self, singleShot=True, interval=400)
        self._size_timer.timeout.connect(lambda: self._spawn(self.hub.update_frame_width()))

        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._focus_search)
        self.addAction(find)
        self.quit_action = self._action("Quit", "Ctrl+Q", self.close)
        self.delete_action = self._action("Delete", "Delete", self._delete_selected)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.tiles.addAction(self.delete_action)

        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.new_action)
        menu.addAction(self._action("Add host…", None, self.add_host))
        menu.addAction(self._action("Import hosts from ~/.ssh/config", None, self.import_hosts))
        menu.addSeparator()
        menu.addAction(self.quit_action)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.refresh_action)
        view.addAction(find)
        find.setText("Find")

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.hosts, 1)
        buttons = QHBoxLayout()
        add = QPushButton("Add host…")
        add.clicked.connect(self.add_host)
        buttons.addWidget(add)
        side_layout.addLayout(buttons)
        self.hosts.currentItemChanged.connect(lambda *_: self._apply_filter())
        self.hosts.customContextMenuRequested.connect(self._host_menu)
        self.hosts.itemDoubleClicked.connect(
            lambda item: self._toggle_host(self.hosts.current_host())
        )

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.banner = QLabel()
        self.banner.setObjectName("error-banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background: #c62828; color: white; padding: 6px 10px; border-radius: 3px;"
        )
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        self.banner.mousePressEvent = lambda _e: self.banner.hide()  # type: ignore[method-assign]
        self.empty = QLabel()
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.tiles, 1)
        right_layout.addWidget(self.empty, 1)
        self.splitter = QSplitter()
        self.splitter.addWidget(side)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 900])  # the host figures read whole
        self.setCentralWidget(self.splitter)

        self.tiles.tile_delegate.action.connect(self._tile_action)
        self.tiles.customContextMenuRequested.connect(self._tile_menu)
        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            signal.connect(self._update_empty)
        self.proxy.layoutChanged.connect(self._update_empty)
        self._update_empty()

    def _action(self, text: str, shortcut: str | None, slot: Any) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    # -- start-up and quitting -----------------------------------------------------------

    def open_hosts(self, names: list[str]) -> list[asyncio.Task[None]]:
        return [self.hub.open(name) for name in names]

    def hosts_to_reopen(self) -> list[str]:
        """The hosts open when the app last quit; the local host on a first run."""
        saved = self.settings.value("hosts/open")
        if saved is None:
            return [LOCAL]
        names = [saved] if isinstance(saved, str) else list(saved or [])
        return [n for n in names if n in self.hub.known_hosts()]

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        size = self.settings.value("view/tile_size")
        if size is not None:
            self.tile_size.setValue(int(size))
        sort = self.settings.value("view/sort")
        if sort in SORT_KEYS:
            self.sort.setCurrentIndex(SORT_KEYS.index(sort))
        status = self.settings.value("view/status")
        if status in STATUSES:
            self.status_filter.setCurrentIndex(STATUSES.index(status))
        self.tiles.set_tile_width(self.tile_size.value())

    def _save(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("view/tile_size", self.tile_size.value())
        self.settings.setValue("view/sort", self.sort.currentData())
        self.settings.setValue("view/status", self._status_filter() or "")
        self.settings.setValue("hosts/open", list(self.hub.sessions))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close every hostd and SSH connection (sandboxes keep running), then go."""
        if self._closing:
            event.accept()
            self.closed.emit()
            return
        self._closing = True
        self._size_timer.stop()
        self._save()
        event.ignore()
        self.hide()

        async def shut() -> None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await asyncio.gather(*(c.stop() for c in self._syncs.values()))
            except TimeoutError:
                log.warning("a sync did not stop in time; quitting anyway")
            finally:
                await self.hub.close_all()
                self.close()

        self._spawn(shut(), "closing")

    # -- actions -------------------------------------------------------------------------

    def new_sandbox(self) -> None:
        connected = [n for n, s in self.hub.sessions.items() if s.state.phase == "connected"]
        if not connected:
            self.show_message("Connect to a host first: double-click it in the list.", True)
            return
        current = self.hosts.current_host()
        dialog = CreateDialog(
            connected,
            lambda host: self.hub.sessions[host].backends if host in self.hub.sessions else [],
            lambda host: {t.name for t in self.model.tiles() if t.host == host},
            host=current if current in connected else connected[0],
            local_host=LOCAL,
            parent=self,
        )
        dialog.setObjectName("create-dialog")
        dialog.submitted.connect(lambda params: self._spawn(self._create(dialog, params)))
        dialog.open()

    async def _create(self, dialog: CreateDialog, params: dict[str, Any]) -> None:
        host = params.pop("host")
        session = self.hub.sessions.get(host)
        if session is None:
            dialog.finish(f"{host} is not connected any more.")
            return
        push_from = params.pop("push_from", None)
        try:
            if push_from:
                # Not for a create hostd would refuse (a name taken meanwhile).
                await check_create(
                    session.client, params["name"], params["backend"], params.get("network", True)
                )
                await self._push_first(dialog, session.client, push_from, params["project_dir"])
            sb = await session.create(params)
        except (RpcError, RemoteError, SyncError, OSError) as exc:
            dialog.finish(_message(exc))
            return
        if push_from:
            self._sync_for(host, sb).set_local(push_from)
        dialog.finish(None)
        self.show_message(f"Created {sb['name']} on {host}.", False)

    async def _push_first(
        self, dialog: CreateDialog, client: Any, local: str, project_dir: str
    ) -> None:
        def progress(p: SyncProgress) -> None:
            pct = f" {p.transfer.percent}%" if p.transfer is not None else ""
            dialog.set_status(f"Pushing {local}: {p.phase}{pct}")

        async with Syncer(client, local, project_dir, on_progress=progress,
                          create_remote=True) as syncer:  # fmt: skip
            result = await syncer.push()
        dialog.set_status(f"Pushed {local} ({summary(result)}); creating…")

    def refresh(self) -> None:
        for name, session in list(self.hub.sessions.items()):
            self._spawn(session.reload(), f"refreshing {name}")

    async def act(self, tile: Tile, action: str, confirmed: bool = False) -> None:
        """Start, stop or delete one sandbox, showing progress on its tile."""
        session = self.hub.sessions.get(tile.host)
        if session is None:
            return
        if (
            action == "delete"
            and not confirmed
            and not await confirm(
                self,
                "Delete sandbox",
                f"Delete {tile.name} on {tile.host}?\n\nIts processes are stopped and its log is "
                "removed. The project directory is left as it is.",
                "Delete",
            )
        ):
            return
        method = {"stop": m.SANDBOX_STOP, "start": m.SANDBOX_START, "delete": m.SANDBOX_DELETE}
        self.model.set_busy(tile.key, BUSY_TEXT[action])
        try:
            await session.call(
                method[action], {"id": tile.sandbox["id"]}, timeout=LIFECYCLE_TIMEOUT_S
            )
        except (RpcError, RemoteError) as exc:
            self.model.set_busy(tile.key, None, error=_message(exc))
            self.show_message(f"Could not {action} {tile.name}: {_message(exc)}", True)
            return
        self.model.set_busy(tile.key, None)

    def _tile_action(self, key: tuple[str, str], action: str) -> None:
        tile = self.model.tile(key)
        if tile is None:
            return
        if action == "sync":
            self.open_sync(tile)
        else:
            self._spawn(self.act(tile, action))

    def open_sync(self, tile: Tile) -> SyncDialog | None:
        """The Sync panel of a sandbox (its folder here, push, pull, watch)."""
        session = self.hub.sessions.get(tile.host)
        if session is None:
            self.show_message(f"{tile.host} is not connected.", True)
            return None
        dialog = SyncDialog(self._sync_for(tile.host, tile.sandbox), self)
        dialog.open()
        return dialog

    def _sync_for(self, host: str, sandbox: dict[str, Any]) -> SyncController:
        key = (host, sandbox["id"])
        controller = self._syncs.get(key)
        if controller is None:

            def client_of() -> Any:
                session = self.hub.sessions.get(host)
                return session.client if session is not None else None

            controller = SyncController(self.settings, host, sandbox, client_of)
            controller.changed.connect(lambda: self.model.set_sync(key, controller.badge()))
            self._syncs[key] = controller
        return controller

    def _delete_selected(self) -> None:
        tiles = [t for t in self.tiles.selected_tiles() if t.stale_since is None and not t.busy]
        if len(tiles) == 1:
            self._spawn(self.act(tiles[0], "delete"))
        elif tiles:
            self._spawn(self._delete_many(tiles))

    async def _delete_many(self, tiles: list[Tile]) -> None:
        names = "\n".join(f"  {t.name} on {t.host}" for t in tiles)
        if await confirm(self, "Delete sandboxes", f"Delete these {len(tiles)} sandboxes?\n\n"
                         f"{names}\n\nTheir processes are stopped and their logs removed. "
                         "The project directories are left as they are.", "Delete"):  # fmt: skip
            await asyncio.gather(*(self.act(t, "delete", confirmed=True) for t in tiles))

    def _stop_syncs_of(self, host: str) -> None:
        for key in [k for k in self._syncs if k[0] == host]:
            self._spawn(self._syncs.pop(key).stop(), "stopping a sync")

    def _rows_going(self, _parent: Any, first: int, last: int) -> None:
        for row in range(first, last + 1):
            tile = self.model.index(row).data(TileRole)
            controller = self._syncs.pop(tile.key, None) if tile is not None else None
            if controller is not None:
                self._spawn(controller.stop(), "stopping a sync")

    def _tile_menu(self, pos: QPoint) -> None:
        tile = self.tiles.tile_at(pos)
        if tile is None:
            return
        menu = _menu(self)
        live = tile.stale_since is None and not tile.busy
        if tile.status == "running":
            menu.addAction("Stop", lambda: self._spawn(self.act(tile, "stop"))).setEnabled(live)
        else:
            menu.addAction("Start", lambda: self._spawn(self.act(tile, "start"))).setEnabled(live)
        menu.addAction("Delete…", lambda: self._spawn(self.act(tile, "delete"))).setEnabled(live)
        menu.addAction("Sync…", lambda: self.open_sync(tile)).setEnabled(tile.stale_since is None)
        menu.addSeparator()
        menu.addAction("Copy ID", lambda: QGuiApplication.clipboard().setText(tile.sandbox["id"]))
        menu.addAction("Copy attach command", lambda: self._copy_attach(tile))
        menu.popup(self.tiles.viewport().mapToGlobal(pos))

    def _copy_attach(self, tile: Tile) -> None:
        host = "" if tile.host == LOCAL else f"--host {tile.host} "
        QGuiApplication.clipboard().setText(f"claude-remote {host}attach {tile.sandbox['id'][:8]}")
        self.show_message("Copied the claude-remote attach command.", False)

    # -- hosts ---------------------------------------------------------------------------

    def _host_menu(self, pos: QPoint) -> None:
        name = self.hosts.current_host()
        item = self.hosts.itemAt(pos)
        if item is None:
            return
        self.hosts.setCurrentItem(item)
        name = self.hosts.current_host()
        if name is None:
            return
        menu = _menu(self)
        session = self.hub.sessions.get(name)
        if session is not None and session.state.phase == "failed":
            menu.addAction("Connect again", lambda: self._spawn(self.hub.reopen(name)))
        if session is not None:
            menu.addAction("Disconnect", lambda: self._spawn(self.hub.close(name)))
        else:
            menu.addAction("Connect", lambda: self.hub.open(name))
        if name != LOCAL:
            menu.addSeparator()
            menu.addAction("Edit…", lambda: self.edit_host(name))
            menu.addAction("Remove…", lambda: self._spawn(self._remove_host(name)))
        menu.popup(self.hosts.viewport().mapToGlobal(pos))

    def _toggle_host(self, name: str | None) -> None:
        """Double-click: connect, or connect again after a failure."""
        if name is None:
            return
        session = self.hub.sessions.get(name)
        if session is None:
            self.hub.open(name)
        elif session.state.phase == "failed":
            self._spawn(self.hub.reopen(name))

    def add_host(self) -> None:
        self._host_dialog(None)

    def edit_host(self, name: str) -> None:
        profile = self.hub.profiles.load().get(name)
        if profile is not None:
            self._host_dialog(profile)

    def _host_dialog(self, profile: Any) -> None:
        taken = set(self.hub.known_hosts())
        dialog = HostDialog(profile, taken, self)
        dialog.setObjectName("host-dialog")

        def saved(new: Any) -> None:
            try:
                if profile is not None and profile.name != new.name:
                    self.hub.profiles.remove(profile.name)
                    self.hosts.remove(profile.name)
                self.hub.profiles.add(new)
            except ConfigError as exc:
                self.show_message(str(exc), True)
                return
            self.hub.refresh_rows()
            self.show_message(f"Saved host {new.name}; double-click it to connect.", False)

        dialog.saved.connect(saved)
        dialog.open()

    def import_hosts(self) -> None:
        try:
            added = self.hub.profiles.import_aliases(SshConfig())
        except ConfigError as exc:
            self.show_message(str(exc), True)
            return
        self.hub.refresh_rows()
        names = ", ".join(p.name for p in added) or "none (all were there already)"
        self.show_message(f"Imported from ~/.ssh/config: {names}", False)

    async def _remove_host(self, name: str) -> None:
        if not await confirm(self, "Remove host", f"Remove {name} from the list? Its sandboxes "
                             "keep running on it.", "Remove"):  # fmt: skip
            return
        await self.hub.close(name)
        self.hub.profiles.remove(name)
        self.hosts.remove(name)

    # -- view ----------------------------------------------------------------------------

    def show_message(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(text.splitlines()[0] if text else "", 0 if error else 8000)
        if error:
            self.banner.setText(text + "   (click to dismiss)")
            self.banner.show()

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _status_filter(self) -> str | None:
        return self.status_filter.currentData() or None

    def _apply_filter(self, *_args: Any) -> None:
        self.proxy.set_filter(
            host=self.hosts.current_host(), status=self._status_filter(), text=self.search.text()
        )
        self._update_empty()

    def _tile_size(self, value: int) -> None:
        self.tiles.set_tile_width(value)
        self._size_timer.start()

    def _frame_width(self) -> int:
        """Frames as wide as a tile in device pixels: sharp on HiDPI screens."""
        ratio = self.devicePixelRatioF() if self.isVisible() else 1.0
        return round(self.tile_size.value() * ratio)

    def _update_empty(self, *_args: Any) -> None:
        empty = self.model.rowCount() == 0
        if empty:
            if self.hub.sessions:
                self.empty.setText("No sandboxes yet. Press Ctrl+N to create one.")
            else:
                self.empty.setText(
                    "No host connected. Double-click a host on the left to connect, "
                    "or add one with Add host…"
                )
        self.empty.setVisible(empty)
        self.tiles.setVisible(not empty)

    def _spawn(self, aw: Awaitable[Any], what: str = "") -> None:
        future = asyncio.ensure_future(aw)
        self._tasks.add(future)

        def done(f: asyncio.Future[Any]) -> None:
            self._tasks.discard(f)
            if not f.cancelled() and f.exception() is not None:
                exc = f.exception()
                log.error("%s failed: %r", what or "a task", exc, exc_info=exc)
                self.show_message(f"Something went wrong{' ' + what if what else ''}: {exc}", True)

        future.add_done_callback(done)


def _menu(parent: QWidget) -> QMenu:
    """A context menu that is deleted once it closes (its actions hold tiles)."""
    menu = QMenu(parent)
    menu.aboutToHide.connect(menu.deleteLater)
    return menu


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc)

"""The main window: hosts on the left, live tiles on the right.

This module builds the window and keeps its view (filters, tile size,
messages) and settings; what a person does to sandboxes and hosts lives in
:mod:`.sandbox_actions` and :mod:`.host_actions`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSlider,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.remote.profiles import LOCAL, Profiles

from .asks import gui_prompts, warn
from .help_menu import HelpMenu
from .host_actions import HostActions
from .hostlist import HostList
from .hub import CLOSE_TIMEOUT_S, Hub
from .model import SORT_KEYS, Key, SandboxModel, Tile, TileFilter, TileRole
from .notify import Notifier, app_icon, bring_up, in_front, window_title
from .sandbox_actions import SandboxActions
from .tasks import Tasks
from .tile_view import TileView
from .tiles import DEFAULT_TILE, MAX_TILE, MIN_TILE
from .workarea import FloatingTab, WorkArea

log = logging.getLogger(__name__)

STATUSES = ("", "running", "stopped", "exited", "dead")
TITLE = "Claude Sandbox"


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
        self.setWindowTitle(TITLE)
        self.setWindowIcon(app_icon())
        self.model = SandboxModel()
        self.notifier = Notifier(self.model, settings, self)
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
        self.tasks = Tasks(lambda text: self.show_message(text, True))
        self.sandbox_actions = SandboxActions(
            self, self.hub, self.model, self.tiles, settings, self.tasks
        )
        self.host_actions = HostActions(self, self.hub, self.hosts, self.tasks)
        self.work = WorkArea(self.hub, settings, self.tasks)
        self.notifier.count_changed.connect(lambda _n: self._retitle())
        if isinstance(app, QGuiApplication):  # the app going to the back, or a dialog coming
            app.focusWindowChanged.connect(self._focus_moved)  # a method: let go with the window
        self.notifier.open_requested.connect(self._open_noticed)
        self.notifier.show_requested.connect(lambda: bring_up(self))
        self.notifier.quit_requested.connect(self.close)
        self.hub.answer_requested.connect(self.sandbox_actions.answer_asked)
        self._closing = False
        self._build()
        self._restore()
        self.hub.refresh_rows()
        self.hub.message.connect(self.show_message)
        self.hub.opened.connect(lambda _name: self._update_empty())
        self.hub.closing.connect(self.sandbox_actions.stop_syncs_of)
        self.hub.closing.connect(self.work.host_closing)
        self.hub.listed.connect(self.work.listed)
        self.hub.connected.connect(self.work.host_connected)
        self.model.rowsAboutToBeRemoved.connect(self.sandbox_actions.rows_going)
        self.model.rowsAboutToBeRemoved.connect(self._tiles_going)
        self.model.dataChanged.connect(lambda *_: self.work.sandboxes_changed())
        self.hub.key_changed.connect(
            lambda host, text: self.tasks.spawn(
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
        self._size_timer.timeout.connect(lambda: self.tasks.spawn(self.hub.update_frame_width()))

        find = QAction(self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._focus_search)
        self.addAction(find)
        self.quit_action = self._action("Quit", "Ctrl+Q", self.close)
        self.delete_action = self._action("Delete", "Delete", self.sandbox_actions.delete_selected)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.tiles.addAction(self.delete_action)
        self.terminal_action = self._action("Open terminal", "Ctrl+T", self.open_terminal)

        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.new_action)
        hosts = self.host_actions
        menu.addAction(self._action("Add host…", None, hosts.add))
        menu.addAction(self._action("Import hosts from ~/.ssh/config", None, hosts.import_aliases))
        menu.addSeparator()
        menu.addAction(self.quit_action)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.refresh_action)
        view.addAction(find)
        find.setText("Find")
        view.addAction(self.terminal_action)
        view.addAction(self._action("Terminal font…", None, self.work.choose_font))
        view.addAction(self._action("Log lines to keep…", None, self.work.choose_log_lines))
        view.addSeparator()
        self.notify_action = QAction("Notify when an agent waits", self)
        self.notify_action.setCheckable(True)
        self.notify_action.setChecked(self.notifier.enabled())
        self.notify_action.toggled.connect(self.notifier.set_enabled)
        view.addAction(self.notify_action)
        self.help = HelpMenu(self)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.hosts, 1)
        buttons = QHBoxLayout()
        add = QPushButton("Add host…")
        add.clicked.connect(hosts.add)
        buttons.addWidget(add)
        side_layout.addLayout(buttons)
        self.hosts.currentItemChanged.connect(lambda *_: self._host_selected())
        self.hosts.customContextMenuRequested.connect(hosts.menu)
        self.hosts.itemDoubleClicked.connect(lambda _item: hosts.toggle(self.hosts.current_host()))

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.banner = QLabel()
        self.banner.setObjectName("error-banner")
        # A server's or an agent's words may be in it: text, never HTML.
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
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
        grid = QWidget()
        grid_layout = QVBoxLayout(grid)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.addWidget(self.tiles, 1)
        grid_layout.addWidget(self.empty, 1)
        self.work_split = QSplitter()
        self.work_split.setObjectName("work-split")
        self.work_split.addWidget(grid)
        self.work_split.addWidget(self.work)
        self.work_split.setStretchFactor(1, 2)
        self.work.hide()
        self.work.emptied.connect(lambda empty: self.work.setVisible(not empty))
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.work_split, 1)
        self.splitter = QSplitter()
        self.splitter.addWidget(side)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 900])  # the host figures read whole
        self.setCentralWidget(self.splitter)

        self.tiles.tile_delegate.action.connect(self._tile_action)
        self.tiles.activated.connect(lambda index: self._open_terminal(index.data(TileRole)))
        self.tiles.customContextMenuRequested.connect(self.sandbox_actions.tile_menu)
        self.tiles.pointer_over.connect(self.proxy.hold)
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
        split = self.settings.value("window/work_split")
        if split is not None:
            self.work_split.restoreState(split)
        else:
            self.work_split.setSizes([360, 720])  # a column of tiles, a terminal of 100 columns
        self.work.restore()

    def _save(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("view/tile_size", self.tile_size.value())
        self.settings.setValue("view/sort", self.sort.currentData())
        self.settings.setValue("view/status", self._status_filter() or "")
        self.settings.setValue("hosts/open", list(self.hub.sessions))
        self.settings.setValue("window/work_split", self.work_split.saveState())
        self.work.save()
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close every hostd and SSH connection (sandboxes keep running), then go."""
        if self._closing:
            event.accept()
            self.closed.emit()
            return
        self._closing = True
        self._size_timer.stop()
        self.notifier.close()
        self._save()
        event.ignore()
        self.hide()
        self.work.close_all()  # torn-off windows too; the tabs are saved for the next start

        async def shut() -> None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self.sandbox_actions.stop_all_syncs()
            except TimeoutError:
                log.warning("a sync did not stop in time; quitting anyway")
            finally:
                await self.hub.close_all()
                self.close()

        self.tasks.spawn(shut(), "closing")

    # -- actions ------------------------------------------------------------------------

    def new_sandbox(self) -> None:
        self.sandbox_actions.new_sandbox(self.hosts.current_host())

    def open_terminal(self) -> None:
        """Ctrl+T: the selected tile's terminal (the first, if several are selected)."""
        tiles = self.tiles.selected_tiles()
        if not tiles:
            self.show_message("Select a sandbox first, then press Ctrl+T for its terminal.")
            return
        self._open_terminal(tiles[0])

    def _open_terminal(self, tile: Tile | None) -> None:
        if tile is not None:
            self.work.open(tile.key)

    def _open_noticed(self, key: Key) -> None:
        """A notification (or the tray's menu) names a sandbox: its tab, in front."""
        bring_up(self)
        self.work.open(key)

    def _tile_action(self, key: tuple[str, str], action: str) -> None:
        if action == "terminal":
            self._open_terminal(self.model.tile(key))
        else:
            self.sandbox_actions.tile_action(key, action)

    def _tiles_going(self, _parent: Any, first: int, last: int) -> None:
        keys = [self.model.index(row).data(TileRole).key for row in range(first, last + 1)]
        self.work.tiles_going(keys)

    def refresh(self) -> None:
        for name, session in list(self.hub.sessions.items()):
            self.tasks.spawn(session.reload(), f"refreshing {name}")

    # -- view ----------------------------------------------------------------------------

    def show_message(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(text.splitlines()[0] if text else "", 0 if error else 8000)
        if error:
            self.banner.setText(text + "   (click to dismiss)")
            self.banner.show()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ActivationChange:
            self._retitle()
        super().changeEvent(event)

    def _focus_moved(self, _window: object) -> None:
        self._retitle()

    def _retitle(self) -> None:
        """The count of waiting sandboxes in the title while the window is not in
        front (a taskbar shows it); the plain name while the person looks."""
        shown = window_title(TITLE, self.notifier.count, in_front(self, FloatingTab))
        if self.windowTitle() != shown:
            self.setWindowTitle(shown)

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

    def _host_selected(self) -> None:
        """A host picked in the sidebar: its tiles only, and its view (when connected)."""
        self._apply_filter()
        name = self.hosts.current_host()
        if name is not None and name in self.hub.sessions and not self._closing:
            self.work.open_host(name)

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

"""The work area beside the tiles: one tab per open sandbox, torn off or not.

A tab opens on a tile's double-click, Enter, its Terminal button or Ctrl+T;
opening one that is open shows it. A tab can move to a window of its own and
back. Tabs follow their tiles: a sandbox deleted (or a host disconnected by
hand) closes its tab; a connection that drops keeps it, saying so. Which
tabs are open, and which are in windows of their own, is saved with the
window and comes back at the next start as each host lists its sandboxes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont, QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFontDialog,
    QInputDialog,
    QMainWindow,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .asks import popup_menu
from .host_view import HostView
from .hub import Hub
from .model import Key, SandboxModel
from .sandbox_tab import SandboxTab
from .tasks import Tasks

log = logging.getLogger(__name__)

SETTINGS_TABS = "workarea/tabs"
SETTINGS_FONT = "terminal/font"
SETTINGS_FONT_SIZE = "terminal/font_size"
MIN_FONT, MAX_FONT = 6, 48
SETTINGS_LOG_LINES = "logs/max_lines"
# 100,000 lines of ~80 characters are ~50 MB in the viewer; a million, ten
# times that, is as far as it is sensible to let a setting go.
DEFAULT_LOG_LINES, MIN_LOG_LINES, MAX_LOG_LINES = 100_000, 1000, 1_000_000


class WorkArea(QTabWidget):
    emptied = Signal(bool)  # True when the last docked tab went, False when one came

    def __init__(
        self,
        hub: Hub,
        settings: QSettings,
        tasks: Tasks,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.hub = hub
        self.model: SandboxModel = hub.model
        self.settings = settings
        self.tasks = tasks
        self.tabs: dict[Key, SandboxTab] = {}
        self.host_views: dict[str, HostView] = {}
        self.floating: dict[Key, FloatingTab] = {}
        self._pending: list[dict[str, Any]] = []  # saved tabs whose host has not listed yet
        self.term_font = self._saved_font()
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self.setElideMode(Qt.TextElideMode.ElideRight)
        self.tabCloseRequested.connect(self._close_index)
        self.currentChanged.connect(lambda _i: self._focus_current())
        self.tabBar().setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tabBar().customContextMenuRequested.connect(self._tab_menu)
        close = QShortcut(QKeySequence("Ctrl+Shift+W"), self)
        close.setWhatsThis("Close the tab in front (its sandbox keeps running)")
        close.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        close.activated.connect(lambda: self._close_index(self.currentIndex()))

    # -- opening and closing -------------------------------------------------------------

    def open(self, key: Key, floating: bool = False) -> SandboxTab | None:
        """Show the sandbox's tab, opening (and attaching) it if needed."""
        tile = self.model.tile(key)
        tab = self.tabs.get(key)
        if tab is None:
            if tile is None:
                return None
            tab = SandboxTab(key, tile.name, self.hub, self.tasks, self.log_lines())
            tab.set_font(self.term_font)
            tab.terminal.font_zoomed.connect(self._zoomed)
            tab.title_changed.connect(lambda: self._retitle(tab))
            tab.float_requested.connect(lambda: self.toggle_floating(tab))
            self.tabs[key] = tab
            if floating:
                self._float(tab)
            else:
                self._dock(tab)
            tab.link.attach()
        self._show(tab)
        return tab

    def open_host(self, name: str) -> HostView:
        """Show the host's view (its load, backends and sandboxes), opening it if needed."""
        view = self.host_views.get(name)
        if view is None:
            view = HostView(name, self.hub)
            view.open_sandbox.connect(self.open)
            self.host_views[name] = view
            self.addTab(view, view.title.replace("&", "&&"))
            if self.count() == 1:
                self.emptied.emit(False)
        self.setCurrentWidget(view)
        return view

    def close_host(self, name: str) -> None:
        view = self.host_views.pop(name, None)
        if view is None:
            return
        index = self.indexOf(view)
        if index >= 0:
            self.removeTab(index)
        view.deleteLater()
        if self.count() == 0:
            self.emptied.emit(True)

    def _close_index(self, index: int) -> None:
        widget = self.widget(index)
        if isinstance(widget, HostView):
            self.close_host(widget.name)
        else:
            self.close_tab(self._tab_at(index))

    def close_tab(self, tab: SandboxTab | None) -> None:
        """Close a tab: its terminal detaches, the sandbox keeps running."""
        if tab is None or self.tabs.get(tab.key) is not tab:
            return
        del self.tabs[tab.key]
        window = self.floating.pop(tab.key, None)
        index = self.indexOf(tab)
        if index >= 0:
            self.removeTab(index)
        tab.setParent(None)
        if window is not None:
            window.discard()
        self.tasks.spawn(self._dispose(tab), "closing a terminal")
        if self.count() == 0:
            self.emptied.emit(True)

    def close_all(self) -> None:
        for tab in list(self.tabs.values()):
            self.close_tab(tab)
        for name in list(self.host_views):
            self.close_host(name)

    def toggle_floating(self, tab: SandboxTab) -> None:
        if tab.key in self.floating:
            self.floating.pop(tab.key).discard()
            self._dock(tab)
        else:
            index = self.indexOf(tab)
            if index >= 0:
                self.removeTab(index)
            self._float(tab)
            if self.count() == 0:
                self.emptied.emit(True)
        self._show(tab)

    # -- what the window tells it --------------------------------------------------------

    def host_connected(self, host: str, connected: bool) -> None:
        for key, tab in self.tabs.items():
            if key[0] == host:
                tab.host_connected(connected)

    def sandboxes_changed(self) -> None:
        """Statuses may have changed (a tile changed): stopped terminals may come back."""
        for tab in self.tabs.values():
            tab.sandbox_status(tab.status())

    def listed(self, host: str) -> None:
        """A host listed its sandboxes: reopen the saved tabs it has."""
        keep = []
        for saved in self._pending:
            if saved["host"] != host:
                keep.append(saved)
            elif self.model.tile((host, saved["id"])) is not None:
                self.open((host, saved["id"]), floating=saved.get("floating", False))
        self._pending = keep

    def host_closing(self, host: str) -> None:
        """A host is being disconnected: its tabs close, and come back if it lists again."""
        for key, tab in list(self.tabs.items()):
            if key[0] == host:
                self._pending.append({"host": host, "id": key[1], "floating": key in self.floating})
                self.close_tab(tab)

    def tiles_going(self, keys: list[Key]) -> None:
        for key in keys:
            self.close_tab(self.tabs.get(key))

    # -- saving ---------------------------------------------------------------------------

    def save(self) -> None:
        docked = [self._tab_at(i) for i in range(self.count())]
        order = [t for t in docked if t is not None] + [
            t for k, t in self.tabs.items() if k in self.floating
        ]
        saved = [{"host": t.key[0], "id": t.key[1], "floating": t.key in self.floating}
                 for t in order]  # fmt: skip
        self.settings.setValue(SETTINGS_TABS, json.dumps(saved + self._pending))

    def restore(self) -> None:
        """Remember the tabs saved last time; each opens when its host lists it."""
        try:
            saved = json.loads(str(self.settings.value(SETTINGS_TABS) or "[]"))
            self._pending = [
                s for s in saved
                if isinstance(s, dict) and isinstance(s.get("host"), str)
                and isinstance(s.get("id"), str)
            ]  # fmt: skip
        except ValueError:
            log.warning("the saved terminal tabs are not readable; starting with none")
            self._pending = []

    # -- internals -----------------------------------------------------------------------

    def log_lines(self) -> int:
        """How many lines each Logs page keeps (the setting; 100,000 by default)."""
        try:
            n = int(str(self.settings.value(SETTINGS_LOG_LINES) or DEFAULT_LOG_LINES))
        except ValueError:
            n = DEFAULT_LOG_LINES
        return max(MIN_LOG_LINES, min(MAX_LOG_LINES, n))

    def choose_log_lines(self) -> QInputDialog:
        """View → Log lines to keep…: every Logs page takes the new bound."""
        dialog = QInputDialog(self.window())
        dialog.setObjectName("log-lines-dialog")
        dialog.setWindowTitle("Log lines to keep")
        dialog.setLabelText("Lines each Logs page keeps (the oldest go first):")
        dialog.setInputMode(QInputDialog.InputMode.IntInput)
        dialog.setIntRange(MIN_LOG_LINES, MAX_LOG_LINES)
        dialog.setIntStep(10_000)
        dialog.setIntValue(self.log_lines())
        dialog.intValueSelected.connect(self._log_lines_chosen)
        dialog.open()
        return dialog

    def _log_lines_chosen(self, n: int) -> None:
        self.settings.setValue(SETTINGS_LOG_LINES, n)
        for tab in self.tabs.values():
            if tab.log_viewer is not None:
                tab.log_viewer.set_max_lines(n)

    def _tab_at(self, index: int) -> SandboxTab | None:
        widget = self.widget(index)
        return widget if isinstance(widget, SandboxTab) else None

    def _dock(self, tab: SandboxTab) -> None:
        tab.set_floating(False)
        self.addTab(tab, "")
        self._retitle(tab)
        if self.count() == 1:
            self.emptied.emit(False)

    def _float(self, tab: SandboxTab) -> None:
        tab.set_floating(True)
        window = FloatingTab(tab, lambda: self.close_tab(tab))
        self.floating[tab.key] = window
        window.resize(max(tab.width(), 800), max(tab.height(), 500))
        window.show()

    def _show(self, tab: SandboxTab) -> None:
        window = self.floating.get(tab.key)
        if window is not None:
            window.raise_()
            window.activateWindow()
        else:
            self.setCurrentWidget(tab)
        tab.page_focus()

    def _focus_current(self) -> None:
        tab = self._tab_at(self.currentIndex())
        if tab is not None:
            tab.page_focus()

    def _retitle(self, tab: SandboxTab) -> None:
        index = self.indexOf(tab)
        if index >= 0:
            self.setTabText(index, tab.title.replace("&", "&&"))  # & would take an Alt+key
            self.setTabToolTip(index, tab.tooltip)
        window = self.floating.get(tab.key)
        if window is not None:
            window.setWindowTitle(f"{tab.title} — Claude Sandbox")

    def _tab_menu(self, pos: QPoint) -> None:
        tab = self._tab_at(self.tabBar().tabAt(pos))
        if tab is None:
            return
        menu = popup_menu(self)
        menu.addAction("Move to its own window", lambda: self.toggle_floating(tab))
        menu.addAction("Close (the sandbox keeps running)", lambda: self.close_tab(tab))
        menu.popup(self.tabBar().mapToGlobal(pos))

    def _saved_font(self) -> QFont:
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        family = self.settings.value(SETTINGS_FONT)
        if isinstance(family, str) and family:
            font.setFamily(family)
        try:
            size = int(str(self.settings.value(SETTINGS_FONT_SIZE) or 0))
        except ValueError:
            size = 0
        if MIN_FONT <= size <= MAX_FONT:
            font.setPointSize(size)
        return font

    def choose_font(self) -> QFontDialog:
        """View → Terminal font…: monospace fonts only; every terminal takes it."""
        dialog = QFontDialog(self.term_font, self.window())
        dialog.setObjectName("terminal-font-dialog")
        dialog.setOption(QFontDialog.FontDialogOption.MonospacedFonts)
        dialog.setWindowTitle("Terminal font")
        dialog.fontSelected.connect(self._font_chosen)
        dialog.open()
        return dialog

    def _font_chosen(self, font: QFont) -> None:
        self.term_font = QFont(font)
        self.settings.setValue(SETTINGS_FONT, font.family())
        self.settings.setValue(SETTINGS_FONT_SIZE, font.pointSize())
        for tab in self.tabs.values():
            tab.set_font(self.term_font)

    def _zoomed(self, size: int) -> None:
        """Ctrl +/- in one terminal: every terminal takes the size, and it is kept."""
        self.term_font.setPointSize(max(MIN_FONT, min(MAX_FONT, size)))
        self.settings.setValue(SETTINGS_FONT_SIZE, self.term_font.pointSize())
        for tab in self.tabs.values():
            tab.set_font(self.term_font)

    async def _dispose(self, tab: SandboxTab) -> None:
        try:
            await tab.shut()
        finally:
            tab.deleteLater()


class FloatingTab(QMainWindow):
    """A torn-off tab: a window of its own. Closing it closes the terminal."""

    def __init__(self, tab: SandboxTab, on_close: Callable[[], None]) -> None:
        super().__init__()
        self._on_close: Callable[[], None] | None = on_close
        self.tab = tab
        self.setWindowTitle(f"{tab.title} — Claude Sandbox")
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(tab)
        tab.show()
        self.setCentralWidget(holder)

    def discard(self) -> None:
        """Close without closing the terminal (it is going back, or already closed)."""
        self._on_close = None
        self.tab.setParent(None)
        self.close()
        self.deleteLater()

    def closeEvent(self, event: QCloseEvent) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()
        super().closeEvent(event)

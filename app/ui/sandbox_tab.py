"""A sandbox's own tab: its pages (the terminal, attached to its tmux; its
screen; its log; its details and metrics) under a one-line header.

The tab lives in the window's work area or, torn off, in a window of its own;
either way it is the same widget with the same attached terminal. The pages
sit side by side as tabs of their own: each wants the room (a terminal of 100
columns, a screen shown large), and a page that is not shown costs nothing
(the screen asks for large frames only while it shows, the log subscribes
when first opened). Ctrl+Shift+PgDown and PgUp go to the next and previous
page (Ctrl+Shift keys are the ones the terminal leaves to the window).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.remote.client import Client

from .attach import Phase, TerminalLink
from .hub import label_of
from .logview.link import LogLink
from .logview.viewer import LogViewer
from .model import Key
from .screen.link import ScreenLink
from .screen.pane import ScreenPane
from .tasks import Tasks
from .terminal.widget import TerminalWidget


class SandboxTab(QWidget):
    title_changed = Signal()  # the tab's title or tooltip changed
    float_requested = Signal()  # "its own window" / "put back" was clicked

    def __init__(
        self,
        key: Key,
        name: str,
        client_of: Callable[[], Client | None],
        status_of: Callable[[], str | None],
        tasks: Tasks,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.key = key
        self.name = name
        self.program_title = ""  # what the terminal's program set (OSC 0/2)
        self.details: QWidget | None = None  # the pages the work area adds
        self.screen_pane: ScreenPane | None = None
        self.screen_link: ScreenLink | None = None
        self.log_viewer: LogViewer | None = None
        self.log_link: LogLink | None = None
        self.terminal = TerminalWidget(self)
        self.link = TerminalLink(self.terminal, key[0], key[1], client_of, status_of, tasks)
        self.terminal.title_changed.connect(self._program_title)
        self.link.phase_changed.connect(self._phase)

        self.header = QLabel()
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.float_button = QToolButton()
        self.float_button.setAutoRaise(True)
        self.float_button.clicked.connect(self.float_requested)
        self.set_floating(False)
        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 2, 2)
        top.addWidget(self.header, 1)
        top.addWidget(self.float_button)
        self.pages = QTabWidget()
        self.pages.setObjectName("sandbox-pages")
        self.pages.setDocumentMode(True)
        self.pages.setTabPosition(QTabWidget.TabPosition.South)
        self.pages.addTab(self.terminal, "Terminal")
        self.pages.currentChanged.connect(self._page_shown)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        for keys, step in (("Ctrl+Shift+PgDown", 1), ("Ctrl+Shift+PgUp", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda step=step: self.step_page(step))
        self.setFocusProxy(self.terminal)
        self._phase(self.link.phase)

    @property
    def title(self) -> str:
        return f"{self.name}: {self.program_title}" if self.program_title else self.name

    @property
    def tooltip(self) -> str:
        return f"{self.name} on {label_of(self.key[0])} ({self.link.phase.value})"

    def set_floating(self, floating: bool) -> None:
        self.float_button.setText("Put back" if floating else "Own window")
        self.float_button.setToolTip(
            "Put this terminal back in the main window"
            if floating
            else "Move this terminal to a window of its own"
        )

    def set_font(self, font: QFont) -> None:
        self.terminal.set_font(font.family(), font.pointSize())

    def add_page(self, widget: QWidget, title: str, tooltip: str = "") -> None:
        index = self.pages.addTab(widget, title)
        self.pages.setTabToolTip(index, tooltip)

    def show_page(self, widget: QWidget) -> None:
        self.pages.setCurrentWidget(widget)
        self.page_focus()

    def step_page(self, step: int) -> None:
        count = self.pages.count()
        self.pages.setCurrentIndex((self.pages.currentIndex() + step) % count)
        self.page_focus()

    def page_focus(self) -> None:
        """Give the shown page the keyboard (the terminal, or what the page prefers)."""
        page = self.pages.currentWidget()
        if page is not None:
            (page.focusProxy() or page).setFocus()

    # -- internals -----------------------------------------------------------------------

    def _page_shown(self, _index: int) -> None:
        page = self.pages.currentWidget()
        self.setFocusProxy(page if page is not None else self.terminal)

    def _program_title(self, title: str) -> None:
        self.program_title = title.strip()
        self.title_changed.emit()

    def _phase(self, phase: Phase) -> None:
        where = label_of(self.key[0])
        state = "attaches when shown" if self.link.deferred else phase.value
        self.header.setText(f"<b>{html.escape(self.name)}</b> on {html.escape(where)} · "
                            f"terminal {state}")  # fmt: skip
        self.title_changed.emit()

"""A sandbox's own tab: its pages (the terminal, attached to its tmux; its
screen; its log; its details and metrics) under a one-line header.

The tab lives in the window's work area or, torn off, in a window of its own;
either way it is the same widget with the same attached terminal. The pages
sit side by side as tabs of their own: each wants the room (a terminal of 100
columns, a screen shown large), and a page that is not shown costs nothing
(the screen asks for large frames only while it shows, the log subscribes
when first opened). Ctrl+Shift+PgDown and PgUp go to the next and previous
page (Ctrl+Shift keys are the ones the terminal leaves to the window).

While the agent waits on a permission, a bar under the header says what it
wants to do, with Allow, Deny and Deny with a message… (Yes and No for a y/n
question in its terminal); the window's sandbox actions answer, as for the
tile's buttons.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.remote.client import Client

from .attach import Phase, TerminalLink
from .details import DetailsPage
from .hub import Hub, label_of
from .logview.link import LogLink
from .logview.viewer import LogViewer
from .model import ANSWERABLE, Key, Tile, request_text
from .plain import tip
from .screen.link import ScreenLink
from .screen.pane import ScreenPane
from .tasks import Tasks
from .terminal.widget import TerminalWidget
from .waiting_band import answer_labels

# A tab's keys for its pages (Help → Keyboard shortcuts lists them, tab or not).
PAGE_KEYS = (
    ("Ctrl+Shift+PgDown", 1, "Next page of the tab"),
    ("Ctrl+Shift+PgUp", -1, "Previous page of the tab"),
)


class SandboxTab(QWidget):
    title_changed = Signal()  # the tab's title or tooltip changed
    float_requested = Signal()  # "its own window" / "put back" was clicked

    def __init__(
        self,
        key: Key,
        name: str,
        hub: Hub,
        tasks: Tasks,
        log_lines: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.key = key
        self.name = name
        self.hub = hub
        self.program_title = ""  # what the terminal's program set (OSC 0/2)
        self.terminal = TerminalWidget(self)
        self.link = TerminalLink(self.terminal, key[0], key[1], self._client, self.status, tasks)
        self.screen_pane = ScreenPane()
        self.screen_link = ScreenLink(self.screen_pane, key, hub, tasks)
        self.log_viewer = LogViewer(log_lines)
        self.log_viewer.set_save_name(f"{name}.log")
        self.log_link = LogLink(self.log_viewer, key[1], self._client, tasks)
        self.details = DetailsPage(key, lambda: hub.model.tile(key), hub.history)
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
        self.waiting_bar = WaitingBar(key, hub, self)
        self.pages = QTabWidget()
        self.pages.setObjectName("sandbox-pages")
        self.pages.setDocumentMode(True)
        self.pages.setTabPosition(QTabWidget.TabPosition.South)
        self.add_page(self.terminal, "Terminal", "Its tmux, attached: type to the agent")
        self.add_page(self.screen_pane, "Screen", "Its display, large; scrub back the last minute")
        self.add_page(self.log_viewer, "Logs", "Everything the agent printed: search, follow, save")
        self.add_page(self.details, "Details", "What it is, what it has used, its last minutes")
        self.pages.currentChanged.connect(self._page_shown)
        self.screen_link.sandbox_status(self.status())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.waiting_bar)
        layout.addWidget(self.pages, 1)
        for keys, step, what in PAGE_KEYS:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setWhatsThis(what)
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

    def status(self) -> str | None:
        tile = self.hub.model.tile(self.key)
        return tile.status if tile is not None else None

    def host_connected(self, connected: bool) -> None:
        self.link.host_connected(connected)
        self.screen_link.host_connected(connected)
        if connected:
            self._page_shown(self.pages.currentIndex())  # a log that could not start, starts

    def sandbox_status(self, status: str | None) -> None:
        self.link.sandbox_status(status)
        self.screen_link.sandbox_status(status)

    async def shut(self) -> None:
        """The tab closes: the terminal detaches, the log and the large frames stop."""
        self.screen_link.close()
        try:
            await self.log_link.close()
        finally:
            await self.link.close()

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
        if page is self.log_viewer:
            self.log_link.start()  # the log is asked for when first looked at

    def _client(self) -> Client | None:
        session = self.hub.sessions.get(self.key[0])
        return session.client if session is not None else None

    def _program_title(self, title: str) -> None:
        self.program_title = title.strip()
        self.title_changed.emit()

    def _phase(self, phase: Phase) -> None:
        where = label_of(self.key[0])
        state = "attaches when shown" if self.link.deferred else phase.value
        self.header.setText(f"<b>{html.escape(self.name)}</b> on {html.escape(where)} · "
                            f"terminal {state}")  # fmt: skip
        self.title_changed.emit()


# The bar shows this much of the request; its tooltip has all of it.
BAR_CHARS = 300


class WaitingBar(QFrame):
    """ "Claude wants to run: Bash: rm -rf build/"  [Allow] [Deny] [Deny with a message…]"""

    def __init__(self, key: Key, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.hub = hub
        self.setObjectName("waiting-bar")
        self.setStyleSheet(
            "#waiting-bar { background: #fff3d6; border-top: 2px solid #f5a623;"
            " border-bottom: 1px solid #e0c070; } #waiting-bar QLabel { color: #3a2a00; }"
        )
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # the agent's words, never HTML
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.allow = QPushButton("Allow")
        self.deny = QPushButton("Deny")
        self.deny_message = QPushButton("Deny with a message…")
        for button, decision in (
            (self.allow, "allow"),
            (self.deny, "deny"),
            (self.deny_message, "deny-message"),
        ):
            button.clicked.connect(lambda _c=False, d=decision: self._answer(d))
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.text, 1)
        row.addWidget(self.note)
        row.addWidget(self.allow)
        row.addWidget(self.deny)
        row.addWidget(self.deny_message)
        self._shown: tuple[Any, ...] | None = None
        # A method of this widget, not a lambda: Qt lets go of the connection
        # when the bar is deleted with its tab (a lambda would outlive it).
        hub.model.dataChanged.connect(self._model_changed)
        self.refresh()

    def refresh(self) -> None:
        """Show what the tile says now (called on every change of the model)."""
        tile = self.hub.model.tile(self.key)
        req = tile.request if tile is not None else None
        if tile is None or req is None or req.get("kind") not in ANSWERABLE:
            self._shown = None
            self.hide()
            return
        shown = (req.get("id"), tile.reason, tile.busy, tile.error, tile.answered)
        if shown == self._shown and not self.isHidden():
            return
        self._shown = shown
        self.text.setText(_said(tile, req))
        self.text.setToolTip(tip(request_text(req) or tile.reason))
        pending = tile.answerable is not None
        open_ = pending and not tile.busy and tile.stale_since is None
        labels = dict(answer_labels(req))
        for button, name in ((self.allow, "allow"), (self.deny, "deny")):
            button.setText(labels[name])
            button.setEnabled(open_)
            button.setVisible(pending)
        self.deny_message.setVisible(pending and req.get("via") == "hooks")
        self.deny_message.setEnabled(open_)
        if tile.busy:
            self.note.setText(tile.busy)
        elif tile.error:
            self.note.setText(tile.error)
        elif tile.answer_given is not None:
            self.note.setText("Allowed" if tile.answer_given == "allow" else "Denied")
        else:
            self.note.setText("")
        self.note.setVisible(bool(self.note.text()))
        self.show()

    def _model_changed(self, *_args: Any) -> None:
        self.refresh()

    def _answer(self, decision: str) -> None:
        self.hub.answer_requested.emit(self.key, decision, self)


def _said(tile: Tile, req: dict[str, Any]) -> str:
    what = tile.reason or str(req.get("tool") or "")
    if len(what) > BAR_CHARS:
        what = what[: BAR_CHARS - 1] + "…"
    if req.get("tool"):
        return f"Claude wants to run: {what}"
    return f"It asks: {what}" if what else "It asks for your answer"

"""Telling the person that an agent waits: the tray icon with the count of
waiting sandboxes, one desktop notification for each new wait, and the
settings that turn notifications off (altogether, or for one host).

The decisions (how many wait, which wait is new) are made from the tile
model alone and kept in :attr:`Notifier.notified`, whether or not there is a
tray to show them: some desktops have none (and offscreen tests never do).

A wait is new when its request id was never seen for that sandbox, or, for a
wait without a request (an end of turn, a question in the pane), when the
sandbox was not waiting for that same reason just before. A metrics tick or
a repaint that says the same again is not news.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from .hub import label_of
from .model import Index, Key, SandboxModel, Tile, TileRole

log = logging.getLogger(__name__)

SETTING_ON = "notify/enabled"
SETTING_OFF_HOSTS = "notify/off_hosts"
# A desktop notification stays this long (Qt's default is 10 s); a person
# away from the screen still has the tray's count and the window's title.
MESSAGE_MS = 15_000
# One desktop notification per sandbox at most this often: an agent that keeps
# changing what it says would otherwise flood the desktop (the tray's count and
# the tile stay exact).
NOTIFY_GAP_S = 10.0
# The tray's menu lists this many waiting sandboxes; more would not fit a screen.
MENU_WAITING = 12
# Request ids remembered per sandbox so one is never announced twice; a
# sandbox asks a few a minute, and ids are never reused (stamp and pid).
REMEMBERED_REQUESTS = 200
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128)  # what trays and window managers ask for


@dataclass(frozen=True)
class Notice:
    """One desktop notification: which sandbox waits, and why."""

    key: Key  # (host, sandbox id)
    name: str
    reason: str
    wait: str  # "request:<id>" or "reason:<text>": what makes it this wait

    @property
    def title(self) -> str:
        return f"{self.name} on {label_of(self.key[0])} is waiting"

    @property
    def text(self) -> str:
        return self.reason or "It waits for you."


def wait_of(tile: Tile) -> str | None:
    """What a waiting tile waits on (None if it does not wait)."""
    if not tile.waiting:
        return None
    req = tile.request
    if req is not None:
        return f"request:{req['id']}"
    return f"reason:{tile.reason}"


class Notifier(QObject):
    count_changed = Signal(int)  # how many sandboxes wait now
    noticed = Signal(object)  # a Notice: one notification decided (shown if there is a tray)
    open_requested = Signal(object)  # the key whose notification (or menu item) was clicked
    show_requested = Signal()  # the tray icon was clicked: raise the window
    quit_requested = Signal()

    def __init__(self, model: SandboxModel, settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        self.settings = settings
        self.notified: list[Notice] = []  # every notification decided, in order
        self._waits: dict[Key, str] = {}  # what each waiting sandbox waits on now
        self._requests: dict[Key, list[str]] = {}  # request ids already announced
        self._last: Notice | None = None  # what a click on the notification opens
        self._shown_at: dict[Key, float] = {}  # when each sandbox's last one was shown
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = self._make_tray()
        model.dataChanged.connect(self._rows_changed)
        model.rowsInserted.connect(lambda _p, first, last: self._consider(range(first, last + 1)))
        model.rowsRemoved.connect(lambda *_: self._resync())
        model.modelReset.connect(self._resync)
        self._resync()

    # -- what the window asks -------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self._waits)

    def waiting(self) -> list[Tile]:
        tiles = [self.model.tile(key) for key in self._waits]
        return sorted((t for t in tiles if t is not None), key=lambda t: (t.name, t.host))

    def enabled(self) -> bool:
        return _bool(self.settings.value(SETTING_ON, True))

    def set_enabled(self, on: bool) -> None:
        self.settings.setValue(SETTING_ON, on)

    def host_enabled(self, host: str) -> bool:
        return host not in self._off_hosts()

    def set_host_enabled(self, host: str, on: bool) -> None:
        off = [h for h in self._off_hosts() if h != host]
        if not on:
            off.append(host)
        self.settings.setValue(SETTING_OFF_HOSTS, off)

    def close(self) -> None:
        """The app quits: the tray icon goes with it."""
        if self.tray is not None:
            self.tray.hide()

    def clicked(self) -> None:
        """The last notification was clicked: open that sandbox."""
        if self._last is not None and self.model.tile(self._last.key) is not None:
            self.open_requested.emit(self._last.key)
        else:
            self.show_requested.emit()

    # -- deciding ---------------------------------------------------------------------

    def _rows_changed(self, top: Index, bottom: Index, _roles: Any = None) -> None:
        self._consider(range(top.row(), bottom.row() + 1))

    def _consider(self, rows: range) -> None:
        before = self.count
        for row in rows:
            tile: Tile | None = self.model.index(row).data(TileRole)
            if tile is not None:
                self._look(tile)
        if self.count != before:
            self._count_changed()

    def _resync(self) -> None:
        """Rows went: forget the sandboxes that are gone, look at the rest again."""
        keys = {t.key for t in self.model.tiles()}
        for memory in (self._waits, self._requests):
            for key in [k for k in memory if k not in keys]:
                del memory[key]
        for tile in self.model.tiles():
            self._look(tile)
        self._count_changed()

    def _look(self, tile: Tile) -> None:
        if tile.stale_since is not None:
            return  # its host is unreachable: what it shows is old news
        key = tile.key
        wait = wait_of(tile)
        if wait is None:
            self._waits.pop(key, None)
            return
        if self._waits.get(key) == wait:
            return
        self._waits[key] = wait
        if wait.startswith("request:"):
            seen = self._requests.setdefault(key, [])
            if wait in seen:
                return
            seen.append(wait)
            del seen[:-REMEMBERED_REQUESTS]
        if self.enabled() and self.host_enabled(tile.host):
            self._notify(Notice(key, tile.name, tile.reason, wait))

    def _notify(self, notice: Notice) -> None:
        self.notified.append(notice)
        del self.notified[:-REMEMBERED_REQUESTS]
        self._last = notice
        log.info("notifying: %s: %s", notice.title, notice.text)
        now = time.monotonic()
        # An agent changing its reason fast gets no burst of notifications.
        quiet = now - self._shown_at.get(notice.key, -NOTIFY_GAP_S) < NOTIFY_GAP_S
        if self.tray is not None and not quiet:
            self._shown_at[notice.key] = now
            # Desktop notification servers read the body as markup (links,
            # images): the agent's words are escaped, shown as written.
            self.tray.showMessage(
                html.escape(notice.title), html.escape(notice.text),
                QSystemTrayIcon.MessageIcon.Information, MESSAGE_MS,
            )  # fmt: skip
        self.noticed.emit(notice)

    def _off_hosts(self) -> list[str]:
        saved = self.settings.value(SETTING_OFF_HOSTS)
        if saved is None or saved == "":
            return []
        return [saved] if isinstance(saved, str) else [str(h) for h in saved]

    # -- the tray ---------------------------------------------------------------------

    def _count_changed(self) -> None:
        if self.tray is not None:
            self.tray.setIcon(badged_icon(self.count))
            self.tray.setToolTip(tray_tooltip(self.count))
        self.count_changed.emit(self.count)

    def _make_tray(self) -> QSystemTrayIcon:
        tray = QSystemTrayIcon(badged_icon(0), self)
        tray.setToolTip(tray_tooltip(0))
        menu = QMenu()
        menu.aboutToShow.connect(lambda: self._fill_menu(menu))
        tray.setContextMenu(menu)
        self._menu = menu  # the tray does not own its menu
        tray.messageClicked.connect(self.clicked)
        tray.activated.connect(self._activated)
        tray.show()
        return tray

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_requested.emit()

    def _fill_menu(self, menu: QMenu) -> None:
        menu.clear()
        menu.addAction("Show Claude Sandbox", self.show_requested.emit)
        waiting = self.waiting()
        if waiting:
            menu.addSeparator()
        for tile in waiting[:MENU_WAITING]:
            label = f"{tile.name} on {label_of(tile.host)}: {tile.reason or 'waiting'}"
            action = QAction(label.replace("&", "&&")[:120], menu)
            action.triggered.connect(lambda _c=False, k=tile.key: self.open_requested.emit(k))
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction("Quit", self.quit_requested.emit)


def window_title(title: str, count: int, in_front: bool) -> str:
    """ "Claude Sandbox (2 waiting)" while the person is elsewhere and some wait."""
    return f"{title} ({count} waiting)" if count and not in_front else title


def in_front(window: QWidget, also: type[QWidget]) -> bool:
    """The person is in ``window``: it, a dialog of it, or a window of kind ``also``
    (a torn-off tab) is the active one."""
    active = QApplication.activeWindow()
    if active is None:
        return False
    if isinstance(active, also):
        return True
    widget: QWidget | None = active
    while widget is not None:
        if widget is window:
            return True
        widget = widget.parentWidget()
    return False


def bring_up(window: QWidget) -> None:
    """The window in front, unminimized (a notification or the tray was clicked)."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


def tray_tooltip(count: int) -> str:
    if count == 0:
        return "Claude Sandbox: no agent waiting"
    return f"Claude Sandbox: {count} waiting" if count > 1 else "Claude Sandbox: 1 waiting"


def app_pixmap(size: int = 64) -> QPixmap:
    """The app's icon, drawn (the project ships no image): a terminal prompt in a box."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64
    body = QPainterPath()
    body.addRoundedRect(QRectF(4 * s, 8 * s, 56 * s, 48 * s), 9 * s, 9 * s)
    p.fillPath(body, QColor(38, 50, 72))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(245, 166, 35))  # the waiting colour: this app is about that moment
    p.drawRoundedRect(QRectF(4 * s, 8 * s, 56 * s, 9 * s), 4 * s, 4 * s)
    p.fillRect(QRectF(4 * s, 13 * s, 56 * s, 4 * s), QColor(245, 166, 35))
    pen = p.pen()
    pen.setStyle(Qt.PenStyle.SolidLine)
    pen.setColor(QColor(235, 240, 245))
    pen.setWidthF(4.5 * s)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.drawPolyline([QPointF(15 * s, 27 * s), QPointF(25 * s, 35 * s), QPointF(15 * s, 43 * s)])
    p.drawLine(QPointF(30 * s, 45 * s), QPointF(46 * s, 45 * s))
    p.end()
    return pix


def app_icon() -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(app_pixmap(size))
    return icon


def badged_icon(count: int) -> QIcon:
    """The app's icon with the count of waiting sandboxes in a red disc (none at 0)."""
    if count <= 0:
        return app_icon()
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(_badged(count, size))
    return icon


def _badged(count: int, size: int) -> QPixmap:
    pix = app_pixmap(size)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    # A tray shows 16 to 24 pixels: there the disc takes most of the icon, or
    # its figure cannot be read.
    d = size * (0.56 if size >= 32 else 0.8)
    disc = QRectF(size - d, 0, d, d)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(211, 47, 47))
    p.drawEllipse(disc)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(7, round(d * (0.66 if count < 10 else 0.48))))
    p.setFont(font)
    p.setPen(Qt.GlobalColor.white)
    p.drawText(disc, Qt.AlignmentFlag.AlignCenter, str(count) if count < 100 else "99+")
    p.end()
    return pix


def _bool(value: Any) -> bool:
    """A QSettings value as a bool (an INI file gives back the string "false")."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off", "")
    return bool(value)

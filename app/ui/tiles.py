"""A tile of the grid, painted by one delegate (the view is :mod:`.tile_view`).

Painting (rather than a widget per tile) keeps forty live tiles cheap: a new
frame repaints one tile's rectangle, nothing is laid out again. The actions
on a tile (start or stop, delete) are drawn on it while the pointer is over
it, and clicked through the delegate's editorEvent.

A tile waiting for the person says why in a band over the bottom of its
picture, with Allow and Deny for a request (:mod:`.waiting_band`).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from .model import Index, Tile, TileRole
from .plain import tip
from .theme import activity_colour, status_colour
from .tile_text import (
    exit_detail,
    exit_headline,
    exit_tooltip,
    fit_row,
    row_parts,
    tokens_tooltip,
)
from .waiting_band import WaitingBand, band_layout, paint_band

PAD = 6
GAP = 8  # between tiles
BUTTON = 24
SEP = 14  # the "·" between the parts of the status row
ELIDE = Qt.TextElideMode.ElideRight
THUMB_ASPECT = 9 / 16
MIN_TILE, MAX_TILE, DEFAULT_TILE = 200, 640, 320


@dataclass(frozen=True)
class TileAction:
    name: str  # "start", "stop", "delete"
    label: str


def actions_for(tile: Tile) -> list[TileAction]:
    if tile.stale_since is not None or tile.busy:
        return []
    first = TileAction("stop", "Stop") if tile.status == "running" else TileAction("start", "Start")
    shown = [first, TileAction("sync", "Sync"), TileAction("delete", "Delete")]
    if tile.status in ("running", "exited"):  # what sandbox.attach_command allows
        shown.insert(0, TileAction("terminal", "Terminal"))
    return shown


# Which buttons a narrow tile leaves out first (all are in the tile's menu too).
_DROP_FIRST = ("sync", "start", "stop")


class TileDelegate(QStyledItemDelegate):
    action = Signal(object, str)  # (key, action name)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tile_width = DEFAULT_TILE
        self.hover_row = -1
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.mono = QFont(mono)

    # -- geometry ----------------------------------------------------------------------

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(self.tile_width, self._height(option.fontMetrics))

    def _height(self, fm: QFontMetrics) -> int:
        return PAD + self._thumb_h() + PAD + 2 * fm.height() + PAD

    def _thumb_h(self) -> int:
        return round((self.tile_width - 2 * PAD) * THUMB_ASPECT)

    def thumb_rect(self, rect: QRect) -> QRect:
        return QRect(rect.x() + PAD, rect.y() + PAD, rect.width() - 2 * PAD, self._thumb_h())

    def button_rects(self, rect: QRect, tile: Tile) -> list[tuple[TileAction, QRect]]:
        """Where each action's button is, laid out from the thumbnail's top right."""
        thumb = self.thumb_rect(rect)
        fm = QFontMetrics(QFont())
        acts = actions_for(tile)
        widths = {a.name: max(BUTTON, fm.horizontalAdvance(a.label) + 16) for a in acts}
        room = thumb.width() - 2 * PAD
        for name in _DROP_FIRST:
            if sum(widths[a.name] + 4 for a in acts) - 4 <= room:
                break
            acts = [a for a in acts if a.name != name]
        out = []
        x = thumb.right() - PAD
        for act in reversed(acts):
            width = widths[act.name]
            x -= width
            out.append((act, QRect(x, thumb.y() + PAD, width, BUTTON)))
            x -= 4
        return list(reversed(out))

    def waiting_band(self, rect: QRect, tile: Tile, font: QFont) -> WaitingBand | None:
        """The band of a waiting tile (why, and Allow and Deny), or None."""
        return band_layout(self.thumb_rect(rect), tile, font, PAD, BUTTON)

    # -- painting ----------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        tile: Tile = index.data(TileRole)
        pal: QPalette = option.palette
        rect: QRect = option.rect
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        card = QRectF(rect).adjusted(1.5, 1.5, -1.5, -1.5)
        path = QPainterPath()
        path.addRoundedRect(card, 6, 6)
        painter.fillPath(path, pal.color(QPalette.ColorRole.AlternateBase))
        # A sandbox waiting for the person is framed in the waiting colour:
        # the one thing a glance over forty tiles must catch.
        # Selected, it keeps that frame, with the selection's colour inside it.
        if tile.waiting:
            painter.setPen(QPen(activity_colour("waiting", pal), 3))
        elif selected:
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 3))
        else:
            painter.setPen(pal.color(QPalette.ColorRole.Mid))
        painter.drawPath(path)
        if tile.waiting and selected:
            inner = QPainterPath()
            inner.addRoundedRect(card.adjusted(2.5, 2.5, -2.5, -2.5), 4, 4)
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            painter.drawPath(inner)

        thumb = self.thumb_rect(rect)
        band = self.waiting_band(rect, tile, option.font)
        free = thumb if band is None else thumb.adjusted(0, 0, 0, -band.rect.height())
        self._paint_screen(painter, thumb, tile, free)
        self._paint_text(painter, option, rect, thumb, tile)
        bottom = thumb.bottom()
        if band is not None:
            paint_band(painter, band, tile, option.font, pal)
            bottom = band.rect.top() - 1
        if tile.busy and band is None:
            self._banner(painter, thumb, tile.busy, QColor(0, 0, 0, 150), Qt.GlobalColor.white)
        elif tile.error:
            red = QColor(183, 28, 28, 220)
            self._banner(painter, thumb, tile.error, red, Qt.GlobalColor.white, bottom)
        if index.row() == self.hover_row:
            self._paint_buttons(painter, rect, tile, pal)
        if tile.stale_since is not None:
            painter.fillPath(path, QColor(128, 128, 128, 160))
            bold = QFont(option.font)
            bold.setBold(True)
            painter.setFont(bold)
            label = f"stale since {tile.stale_since:%H:%M}"
            bfm = QFontMetrics(bold)
            pill = QRect(0, 0, bfm.horizontalAdvance(label) + 20, bfm.height() + 10)
            pill.moveCenter(thumb.center())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(50, 50, 50, 235))
            painter.drawRoundedRect(pill, 4, 4)
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()

    def _paint_screen(self, painter: QPainter, box: QRect, tile: Tile, free: QRect) -> None:
        """The picture (or the terminal) in ``box``; a message in what a band leaves ``free``."""
        painter.fillRect(box, QColor(24, 24, 24))
        # A blank display (one flat colour) says little: the terminal says
        # more, when it has something on it.
        show_terminal = tile.blank and bool((tile.pane_text or "").strip())
        if tile.status == "exited":  # why it ended says more than its last picture
            show_terminal = False
        elif tile.frame is not None and not show_terminal:
            img = tile.frame
            scale = min(box.width() / img.width(), box.height() / img.height())
            w, h = img.width() * scale, img.height() * scale
            target = QRectF(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2, w, h)
            painter.drawImage(target, img)
            return
        if show_terminal:
            self._paint_terminal(painter, box, tile.pane_text or "")
            return
        if tile.stale_since is not None:
            return  # the stale label goes there
        if tile.status == "exited":
            self._paint_exited(painter, self.exit_rect(free), tile)
            return
        painter.setPen(QColor(160, 160, 160))
        message = {
            "running": "nothing on its screen yet",
            "stopped": "stopped",
            "dead": "its processes are gone",
        }.get(tile.status, tile.status)
        painter.drawText(free, Qt.AlignmentFlag.AlignCenter, message)

    def exit_rect(self, free: QRect) -> QRect:
        """Where an exited tile says why: the picture's free part below the
        row of hover buttons (which would hide it)."""
        top = free.y() + PAD + BUTTON + PAD
        return QRect(free.x() + PAD, top, free.width() - 2 * PAD, free.bottom() - PAD - top)

    def _paint_exited(self, painter: QPainter, box: QRect, tile: Tile) -> None:
        """ "exited CODE" and the pane's last line, wrapped to two lines at most."""
        bold = QFont()
        bold.setBold(True)
        bfm = QFontMetrics(bold)
        detail = exit_detail(tile, QFont(), box.width())
        height = bfm.height() + len(detail) * QFontMetrics(QFont()).height()
        y = box.y() + max(0, (box.height() - height) // 2)
        painter.setFont(bold)
        painter.setPen(status_colour("exited"))
        painter.drawText(QRect(box.x(), y, box.width(), bfm.height()),
                         Qt.AlignmentFlag.AlignHCenter, exit_headline(tile))  # fmt: skip
        y += bfm.height()
        painter.setFont(QFont())
        painter.setPen(QColor(200, 200, 200))
        fm = QFontMetrics(QFont())
        for line in detail:
            painter.drawText(QRect(box.x(), y, box.width(), fm.height()),
                             Qt.AlignmentFlag.AlignHCenter, line)  # fmt: skip
            y += fm.height()

    def _paint_terminal(self, painter: QPainter, box: QRect, text: str) -> None:
        font = QFont(self.mono)
        # Small enough that a useful part of a 200-column pane fits a tile.
        font.setPixelSize(max(7, min(12, box.height() // 14)))
        painter.setFont(font)
        fm = QFontMetrics(font)
        lines = terminal_lines(text)
        fit = max(1, (box.height() - 4) // fm.height())
        shown = lines[-fit:]
        painter.setPen(QColor(220, 220, 220))
        painter.save()
        painter.setClipRect(box)
        y = box.y() + 2 + fm.ascent()
        for line in shown:
            painter.drawText(box.x() + 4, y, line)
            y += fm.height()
        painter.restore()

    def _paint_text(
        self, painter: QPainter, option: QStyleOptionViewItem, rect: QRect, thumb: QRect, tile: Tile
    ) -> None:
        pal: QPalette = option.palette
        fm = option.fontMetrics
        y = thumb.bottom() + PAD
        x = rect.x() + PAD
        right = rect.right() - PAD
        # Line 1: status dot, name; backend badge on the right.
        dot = fm.height() // 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(status_colour(tile.status))
        painter.drawEllipse(QRect(x, y + (fm.height() - dot) // 2, dot, dot))
        badge_text = (
            "NO ISOLATION"
            if tile.sandbox.get("backend") == "none"
            else str(tile.sandbox.get("backend", ""))
        )
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.8))
        sfm = QFontMetrics(small)
        bw = sfm.horizontalAdvance(badge_text) + 10
        badge = QRect(right - bw, y + 1, bw, fm.height() - 2)
        if tile.sandbox.get("backend") == "none":
            painter.setBrush(QColor(198, 40, 40))
            painter.drawRoundedRect(badge, 3, 3)
            painter.setPen(Qt.GlobalColor.white)
        else:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        painter.setFont(small)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, badge_text)
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        name_rect = QRect(x + dot + 6, y, badge.left() - x - dot - 12, fm.height())
        painter.drawText(
            name_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(bold).elidedText(
                tile.name, Qt.TextElideMode.ElideRight, name_rect.width()
            ),
        )
        # Line 2: status, activity, sync, tokens, host.
        y += fm.height()
        painter.setFont(option.font)
        sep = pal.color(QPalette.ColorRole.PlaceholderText)
        for i, (_kind, text, colour, box) in enumerate(self.status_row(option, rect, tile)):
            if i:
                painter.setPen(sep)
                dot_box = QRect(box.x() - SEP, y, SEP, fm.height())
                painter.drawText(dot_box, Qt.AlignmentFlag.AlignCenter, "·")
            painter.setPen(colour)
            painter.drawText(box, Qt.AlignmentFlag.AlignVCenter, text)

    def status_row(
        self, option: QStyleOptionViewItem, rect: QRect, tile: Tile
    ) -> list[tuple[str, str, QColor, QRect]]:
        """Line 2 as painted: (kind, text as shown, colour, where) for each part.

        The status and the token figure are shown whole; the host, then the
        sync badge, then the activity are shortened (and left out) first."""
        fm = option.fontMetrics
        parts = row_parts(tile, option.palette)
        room = rect.width() - 2 * PAD
        natural = [fm.horizontalAdvance(text) for _kind, text, _colour in parts]
        order = [i for k in ("host", "sync", "activity") for i, p in enumerate(parts) if p[0] == k]
        widths = fit_row(natural, order, room, SEP, fm.horizontalAdvance("ab…"))
        y = self.thumb_rect(rect).bottom() + PAD + fm.height()
        x = rect.x() + PAD
        out: list[tuple[str, str, QColor, QRect]] = []
        for (kind, text, colour), whole, width in zip(parts, natural, widths, strict=True):
            if width is None:
                continue
            if out:
                x += SEP
            width = min(width, rect.right() - PAD - x)
            if width <= 0:
                break
            # elidedText cuts a text given exactly its own advance: give it room.
            shown = text if width >= whole else fm.elidedText(text, ELIDE, width)
            out.append((kind, shown, colour, QRect(x, y, width + 1, fm.height())))
            x += fm.horizontalAdvance(shown)
        return out

    def helpEvent(
        self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem, index: Index
    ) -> bool:
        """The token figure's tooltip breaks it down; an exited tile's message
        has the pane's last lines in full; elsewhere, the tile's own tooltip."""
        if event.type() == QEvent.Type.ToolTip:
            tile: Tile = index.data(TileRole)
            text = self.tooltip_at(option, tile, event.pos())
            if text is not None:
                QToolTip.showText(event.globalPos(), text, view)
                return True
        return super().helpEvent(event, view, option, index)

    def tooltip_at(self, option: QStyleOptionViewItem, tile: Tile, pos: QPoint) -> str | None:
        """The tooltip of what is at ``pos`` on the tile, if it has its own."""
        for kind, _text, _colour, box in self.status_row(option, option.rect, tile):
            if kind == "tokens" and box.contains(pos) and tile.token_counts is not None:
                return tip(tokens_tooltip(tile.token_counts))
        thumb = self.thumb_rect(option.rect)
        if tile.status == "exited" and self.exit_rect(thumb).contains(pos):
            return tip(exit_tooltip(tile))
        return None

    def _paint_buttons(self, painter: QPainter, rect: QRect, tile: Tile, pal: QPalette) -> None:
        for act, r in self.button_rects(rect, tile):
            painter.setPen(Qt.PenStyle.NoPen)
            colour = QColor(198, 40, 40, 230) if act.name == "delete" else QColor(40, 40, 40, 220)
            painter.setBrush(colour)
            painter.drawRoundedRect(r, 4, 4)
            painter.setPen(Qt.GlobalColor.white)
            painter.setFont(QFont())
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, act.label)

    @staticmethod
    def _banner(
        painter: QPainter,
        box: QRect,
        text: str,
        bg: QColor,
        fg: Qt.GlobalColor,
        bottom: int | None = None,
    ) -> None:
        fm = painter.fontMetrics()
        low = box.bottom() if bottom is None else bottom
        band = QRect(box.x(), low - fm.height() - 8, box.width(), fm.height() + 8)
        painter.fillRect(band, bg)
        painter.setPen(fg)
        painter.drawText(
            band.adjusted(6, 0, -6, 0),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(text, Qt.TextElideMode.ElideRight, band.width() - 12),
        )

    # -- clicks ------------------------------------------------------------------------

    def editorEvent(
        self, event: QEvent, model: object, option: QStyleOptionViewItem, index: Index
    ) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            tile: Tile = index.data(TileRole)
            pos = event.position().toPoint()
            band = self.waiting_band(option.rect, tile, option.font)
            for name, _label, r in band.buttons if band is not None else []:
                if r.contains(pos):
                    self.action.emit(tile.key, name)
                    return True
            for act, r in self.button_rects(option.rect, tile):
                if r.contains(pos):
                    self.action.emit(tile.key, act.name)
                    return True
        return False


def terminal_lines(text: str) -> list[str]:
    """A pane's lines for a thumbnail: trailing blanks dropped, long blank runs
    cut to one, so a little text at the top and a status line at the bottom of
    a tall pane both fit."""
    out: list[str] = []
    for line in (line.rstrip() for line in text.splitlines()):
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out

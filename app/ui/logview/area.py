"""The scrolling view of a LineStore: painting, following, selection, keys.

Only the rows in sight are painted, straight from the store, so the cost
of a repaint does not grow with the lines held. The view remembers the
*number* of its top line (see :mod:`store`), not a row index, so while the
person reads (following paused) the text in sight stays put as lines are
appended, dropped off the top by the bound, or prepended above.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, QRectF, Qt, Signal
from PySide6.QtGui import (
    QClipboard,
    QColor,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QPushButton, QScrollBar, QWidget

from app.ui.logview.paint import LinePainter, fixed_font
from app.ui.logview.store import LineStore

MARGIN = 4  # pixels left of the text, so the first column is not on the frame
WORD_DELIMITERS = " \t()[]{}<>'\"`,;|&=:"
# Search highlights: translucent, so they read on light and dark palettes alike.
MATCH = QColor(255, 200, 0, 110)
CURRENT_MATCH = QColor(255, 120, 0, 220)
SELECTION_ALPHA = 110

Pos = tuple[int, int]  # (line number, column)


class LogArea(QAbstractScrollArea):
    follow_changed = Signal(bool)
    escape_pressed = Signal()

    def __init__(self, store: LineStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._following = True
        self._top = 0  # the number of the top line, while following is paused
        self._new = 0  # lines appended since following paused
        self._syncing = False  # the scroll bars are being set to the store, not by the person
        self._anchor: Pos | None = None
        self._end: Pos | None = None
        self._selecting = False
        self._current: Pos | None = None  # the current search match (line number, start)
        self._painter = LinePainter(fixed_font(), self.palette())

        self._indicator = QPushButton(self.viewport())
        self._indicator.setCursor(Qt.CursorShape.PointingHandCursor)
        self._indicator.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._indicator.clicked.connect(lambda: self.set_following(True))
        self._indicator.hide()

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self.viewport().setAutoFillBackground(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.viewport().update())

    # -- the public API ----------------------------------------------------------

    @property
    def following(self) -> bool:
        return self._following

    @property
    def indicator(self) -> QPushButton:
        return self._indicator

    def set_following(self, on: bool) -> None:
        if not on:
            self._top = self._store.first + self.top_row()
        self._set_following(on)
        self.sync()

    @property
    def painter(self) -> LinePainter:
        return self._painter

    def visible_rows(self) -> int:
        """Whole rows that fit in the viewport."""
        return max(int(self.viewport().height() // self._painter.lh), 1)

    def top_row(self) -> int:
        """The row at the top of the view (0 is the first held line)."""
        rows = self._store.rows()
        bottom = max(rows - self.visible_rows(), 0)
        if self._following:
            return bottom
        return min(max(self._top - self._store.first, 0), bottom)

    def sync(self, added: int = 0) -> None:
        """Bring the scroll bars and the indicator up to the store; ``added``
        lines were appended since the last sync. Then a repaint."""
        store = self._store
        if not self._following:
            self._new += added
        vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
        vis = self.visible_rows()
        top = self.top_row()
        if not self._following:
            self._top = store.first + top  # lines dropped from under it: the new first
        width = self.viewport().width()
        painter = self._painter
        self._syncing = True
        try:
            vbar.setRange(0, max(store.rows() - vis, 0))
            vbar.setPageStep(vis)
            vbar.setSingleStep(1)
            vbar.setValue(top)
            hbar.setRange(0, max(math.ceil(store.max_chars * painter.cw) + 2 * MARGIN - width, 0))
            hbar.setPageStep(max(width, 1))
            hbar.setSingleStep(max(round(painter.cw * 4), 1))
        finally:
            self._syncing = False
        self._update_indicator()
        self.viewport().update()

    def reveal(self, number: int, start: int, end: int) -> None:
        """Scroll so line ``number``'s columns [start, end) are in sight (pausing
        following if it must move up); centred when it was out of sight."""
        store = self._store
        row = number - store.first
        vis = self.visible_rows()
        top = self.top_row()
        if not top <= row < top + vis:
            self._top = store.first + max(row - vis // 2, 0)
            self._set_following(self._top + vis >= store.end)
            self.sync()
        line = store.row(row)
        x0, x1 = self._painter.x(line, start), self._painter.x(line, end)
        hbar, width = self.horizontalScrollBar(), self.viewport().width() - 2 * MARGIN
        if x0 < hbar.value() or x1 > hbar.value() + width:
            hbar.setValue(max(int(x0 - width / 3), 0))
        self.viewport().update()

    def set_current_match(self, pos: Pos | None) -> None:
        self._current = pos
        self.viewport().update()

    def selected_text(self) -> str:
        sel = self._selection()
        if sel is None:
            return ""
        (a_num, a_col), (b_num, b_col) = sel
        store = self._store
        first = max(a_num, store.first)
        out = []
        for num in range(first, min(b_num, store.end - 1) + 1):
            text = store.row(num - store.first)[0]
            lo = a_col if num == a_num else 0
            hi = b_col if num == b_num else len(text)
            out.append(text[lo:hi])
        return "\n".join(out)

    def select_all(self) -> None:
        store = self._store
        if store.rows():
            self._anchor = (store.first, 0)
            self._end = (store.end - 1, len(store.row(store.rows() - 1)[0]))
            self.viewport().update()

    def clear_selection(self) -> None:
        self._anchor = self._end = None
        self.viewport().update()

    def copy(self, mode: QClipboard.Mode = QClipboard.Mode.Clipboard) -> None:
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text, mode)

    def new_lines(self) -> int:
        """Lines appended since following paused."""
        return 0 if self._following else self._new

    # -- handlers ----------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        store, vp = self._store, self.viewport()
        p = QPainter(vp)
        painter = self._painter
        p.fillRect(vp.rect(), painter.colours.bg)
        top, rows = self.top_row(), store.rows()
        hx = self.horizontalScrollBar().value()
        width = vp.width()
        sel = self._selection()
        sel_colour = QColor(self.palette().highlight().color())
        sel_colour.setAlpha(SELECTION_ALPHA)
        qlen = store.query_length
        visible = math.ceil(vp.height() / painter.lh) + 1
        for r in range(min(visible, rows - top)):
            line = store.row(top + r)
            num = store.first + top + r
            y = r * painter.lh
            left = MARGIN - hx
            for col in store.matches_on(num):
                colour = CURRENT_MATCH if self._current == (num, col) else MATCH
                x0, x1 = painter.x(line, col), painter.x(line, col + qlen)
                p.fillRect(QRectF(left + x0, y, x1 - x0, painter.lh), colour)
            painter.paint(p, line, left, y, hx, width)
            if sel is not None and sel[0][0] <= num <= sel[1][0]:
                lo = sel[0][1] if num == sel[0][0] else 0
                hi = sel[1][1] if num == sel[1][0] else len(line[0])
                x0 = painter.x(line, lo)
                x1 = painter.x(line, hi) + (painter.cw if num != sel[1][0] else 0)  # the newline
                p.fillRect(QRectF(left + x0, y, x1 - x0, painter.lh), sel_colour)
        p.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.sync()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._painter.set_palette(self.palette())
            self.viewport().update()
        super().changeEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, vbar, hbar = event.key(), self.verticalScrollBar(), self.horizontalScrollBar()
        K = Qt.Key
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif key == K.Key_PageUp:
            vbar.triggerAction(QScrollBar.SliderAction.SliderPageStepSub)
        elif key == K.Key_PageDown:
            vbar.triggerAction(QScrollBar.SliderAction.SliderPageStepAdd)
        elif key == K.Key_Up:
            vbar.triggerAction(QScrollBar.SliderAction.SliderSingleStepSub)
        elif key == K.Key_Down:
            vbar.triggerAction(QScrollBar.SliderAction.SliderSingleStepAdd)
        elif key == K.Key_Left:
            hbar.triggerAction(QScrollBar.SliderAction.SliderSingleStepSub)
        elif key == K.Key_Right:
            hbar.triggerAction(QScrollBar.SliderAction.SliderSingleStepAdd)
        elif key == K.Key_Home:
            vbar.setValue(0)
            hbar.setValue(0)
        elif key == K.Key_End:
            hbar.setValue(0)
            self.set_following(True)
        elif key == K.Key_Escape:
            self.clear_selection()
            self.escape_pressed.emit()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = self._hit(event.position().toPoint())
        self._anchor = self._end = pos
        self._selecting = True
        self.viewport().update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not (self._selecting and event.buttons() & Qt.MouseButton.LeftButton):
            return
        point = event.position().toPoint()
        vbar = self.verticalScrollBar()
        if point.y() < 0:  # dragged above or below: scroll along, a row per move
            vbar.triggerAction(QScrollBar.SliderAction.SliderSingleStepSub)
        elif point.y() > self.viewport().height():
            vbar.triggerAction(QScrollBar.SliderAction.SliderSingleStepAdd)
        self._end = self._hit(point)
        self.viewport().update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._selecting:
            self._selecting = False
            if self._anchor == self._end:
                self.clear_selection()
            elif QGuiApplication.clipboard().supportsSelection():
                self.copy(QClipboard.Mode.Selection)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        num, col = self._hit(event.position().toPoint())
        store = self._store
        if not store.first <= num < store.end:
            return
        text = store.row(num - store.first)[0]
        lo = hi = min(col, len(text))
        while lo > 0 and text[lo - 1] not in WORD_DELIMITERS:
            lo -= 1
        while hi < len(text) and text[hi] not in WORD_DELIMITERS:
            hi += 1
        self._anchor, self._end = (num, lo), (num, hi)
        self._selecting = False
        self.viewport().update()

    # -- internals ---------------------------------------------------------------

    def _scrolled(self, value: int) -> None:
        if self._syncing:
            return
        self._top = self._store.first + value
        self._set_following(value >= self.verticalScrollBar().maximum())
        self._update_indicator()
        self.viewport().update()

    def _set_following(self, on: bool) -> None:
        if on == self._following:
            return
        self._following = on
        self._new = 0
        self.follow_changed.emit(on)

    def _update_indicator(self) -> None:
        ind = self._indicator
        if self._following:
            ind.hide()
            return
        n = self._new
        text = (
            f"Paused: {n:,} new line{'s' if n != 1 else ''} — End to follow"
            if n
            else "Paused — End to follow"
        )
        if ind.text() != text:
            ind.setText(text)
            ind.adjustSize()
        vp = self.viewport()
        ind.move(vp.width() - ind.width() - 8, vp.height() - ind.height() - 8)
        ind.show()

    def _selection(self) -> tuple[Pos, Pos] | None:
        if self._anchor is None or self._end is None or self._anchor == self._end:
            return None
        return (self._anchor, self._end) if self._anchor < self._end else (self._end, self._anchor)

    def _hit(self, point: QPoint) -> Pos:
        """The (line number, column) nearest a point of the viewport."""
        store = self._store
        rows = store.rows()
        if not rows:
            return (store.first, 0)
        row = min(max(self.top_row() + int(point.y() // self._painter.lh), 0), rows - 1)
        line = store.row(row)
        x = point.x() - MARGIN + self.horizontalScrollBar().value()
        return (store.first + row, self._painter.col_at(line, x))

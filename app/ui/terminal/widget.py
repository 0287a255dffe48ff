"""TerminalWidget: a terminal drawn from the emulator, with keys, mouse, paste and copy.

The widget does no I/O: bytes for the program come out of ``send`` and
bytes from it go into :meth:`TerminalWidget.feed`; whoever attaches it (a
PTY, an SSH channel running ``tmux attach``) joins the two. It keeps no
scrollback: the wheel asks for it with ``scroll_requested`` (tmux has it).

Speed. ``feed`` only queues; the bytes are parsed in slices with a time
budget per event-loop turn, so a burst of megabytes never freezes the
window, and the grid is repainted at most once a frame, only the lines
pyte marked dirty, into a backing image that ``paintEvent`` blits.
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections import deque

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QClipboard,
    QColor,
    QFocusEvent,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QImage,
    QInputMethodEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.terminal import mouse
from app.ui.terminal.emulator import Char, Emulator
from app.ui.terminal.keys import key_bytes, widget_action
from app.ui.terminal.render import Renderer, is_monospace
from app.ui.terminal.selection import Selection, word_at

SLICE_BYTES = 16 * 1024  # one emulator feed: ~5 ms at the emulator's ~2-3 MB/s
PARSE_BUDGET_S = 0.008  # parsing per event-loop turn: half a 60 Hz frame
FRAME_MS = 16  # at most one repaint per 60 Hz frame
SYNC_HOLD_S = 0.150  # synchronized output (?2026) may hold repaints this long, as in kitty/foot
# A hidden tab or a pane dragged shut has a grid of a column or two; telling
# the program (tmux, and so the agent's terminal) would squeeze it to that.
MIN_GRID = (20, 4)
RESIZE_DEBOUNCE_MS = 50  # a window drag resizes many times; tell the program once it settles
BLINK_MS = 530  # xterm's and GTK's cursor blink half-period
WHEEL_LINES = 3  # lines per wheel notch, as most desktops scroll
WHEEL_NOTCH = 120  # angleDelta units per notch (Qt's documented eighths of a degree x 15)
BRACKET_START, BRACKET_END = "\x1b[200~", "\x1b[201~"


class TerminalWidget(QWidget):
    """A terminal screen. Everything for the program leaves through ``send``."""

    send = Signal(bytes)
    resized = Signal(int, int)  # cols, rows
    title_changed = Signal(str)
    scroll_requested = Signal(int)  # lines back into history (negative: forward)
    font_zoomed = Signal(int)  # the new point size
    drained = Signal()  # every byte fed has been parsed

    def __init__(self, parent: QWidget | None = None, cols: int = 80, rows: int = 24) -> None:
        super().__init__(parent)
        self._emu = Emulator(cols, rows, on_reply=self._reply, on_title=self.title_changed.emit)
        self._hint_grid = (cols, rows)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if not is_monospace(font):
            # Some platforms (offscreen, minimal desktops) answer a proportional font.
            font = _monospace(QFont("monospace", max(font.pointSize(), 10)))
        self._default_size = max(font.pointSize(), 1)  # Ctrl+0 goes back to it
        self._renderer = Renderer(font, self.palette())
        self._queue: deque[bytes] = deque()
        self._offset = 0  # into the first queued chunk
        self._pending = 0
        self._image = QImage()
        self._status: str | None = None
        self._sync_since: float | None = None
        self._painted_at = 0.0  # monotonic time of the last repaint of dirty lines
        self._announced: tuple[int, int] | None = None  # the last size resized told
        self._cursor_drawn: QRect | None = None
        self._blink_on = True
        self._wheel = 0
        self._mouse_cell: tuple[int, int] | None = None  # last reported, for motion
        self._buttons = 0  # buttons held, for drag motion
        self._selection = Selection()
        self._last_double = 0.0
        self._selecting = False  # a local drag selection is under way

        self._parse_timer = self._timer(0, self._parse_some)
        self._frame_timer = self._timer(FRAME_MS, self._frame)
        self._resize_timer = self._timer(RESIZE_DEBOUNCE_MS, self._announce_size)
        self._blink_timer = QTimer(self)
        self._blink_timer.setInterval(BLINK_MS)
        self._blink_timer.timeout.connect(self._blink)

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)  # any-motion reporting (?1003)
        self._rebuild_image()

    # -- the public API ----------------------------------------------------------

    @property
    def emulator(self) -> Emulator:
        return self._emu

    def feed(self, data: bytes) -> None:
        """Queue bytes from the program (on the GUI thread); parsed on later event-loop turns."""
        if not data:
            return
        self._queue.append(bytes(data))
        self._pending += len(data)
        if not self._parse_timer.isActive():
            self._parse_timer.start()

    def pending(self) -> int:
        """Bytes fed and not parsed yet."""
        return self._pending

    def grid_size(self) -> tuple[int, int]:
        return self._emu.cols, self._emu.rows

    def screen_lines(self) -> list[str]:
        return self._emu.display()

    def cell(self, x: int, y: int) -> Char:
        return self._emu.cell(x, y)

    def set_status(self, text: str | None) -> None:
        """A banner over the terminal (a lost connection, say); None takes it away."""
        self._status = text
        self.update()

    def usable_size(self) -> tuple[int, int] | None:
        """The grid, if it is one to tell the program: shown, and not squeezed
        below MIN_GRID (a hidden tab, a collapsed pane); else None."""
        cols, rows = self.grid_size()
        if not self.isVisible() or cols < MIN_GRID[0] or rows < MIN_GRID[1]:
            return None
        return cols, rows

    def status_text(self) -> str | None:
        return self._status

    def cell_rect(self, x: int, y: int) -> QRectF:
        """Where cell (x, y) is drawn, in the widget's coordinates."""
        return self._renderer.cell_rect(x, y)

    def reset(self) -> None:
        """A fresh terminal at the current size, for a new attach; queued bytes are dropped."""
        self._queue.clear()
        self._offset = self._pending = 0
        self._emu.reset()
        self._clear_selection()
        self._rebuild_image()

    def set_font(self, family: str, size: int) -> None:
        font = _monospace(QFont(family, max(size, 1)))
        self._apply_font(font)

    def zoom(self, step: int) -> None:
        """Grow (positive) or shrink the font by ``step`` points; 0 goes back to the
        system's fixed font size."""
        font = QFont(self._renderer.fonts[0])
        size = self._default_size if step == 0 else max(font.pointSize() + step, 4)
        font.setPointSize(size)
        self._apply_font(font)
        self.font_zoomed.emit(size)

    def paste(self, text: str) -> None:
        """Send text as pasted: newlines as Enter, bracketed when the program asked for it."""
        text = text.replace("\r\n", "\r").replace("\n", "\r")
        if self._emu.bracketed_paste:
            # A pasted end marker would end the bracket early and type the rest.
            text = BRACKET_START + text.replace(BRACKET_END, "") + BRACKET_END
        if text:
            self.send.emit(text.encode())

    def selected_text(self) -> str:
        return self._selection.text(self._emu.screen)

    def sizeHint(self) -> QSize:
        """The size for the grid asked for at construction, in the current font."""
        r = self._renderer
        cols, rows = self._hint_grid
        return QSize(math.ceil(cols * r.cell_width), math.ceil(rows * r.cell_height))

    # -- Qt event handlers -------------------------------------------------------

    def event(self, e: QEvent) -> bool:
        # Tab and Shift+Tab are the program's, not focus moves.
        tab = (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
        if e.type() == QEvent.Type.KeyPress and isinstance(e, QKeyEvent) and e.key() in tab:
            self.keyPressEvent(e)
            return True
        if e.type() == QEvent.Type.ShortcutOverride and isinstance(e, QKeyEvent):
            # Keys are the program's, not the window's shortcuts (Ctrl+N, Ctrl+F,
            # F5, Delete...): a person typing to an agent must not create a
            # sandbox. Ctrl+Shift combinations stay the window's (as in
            # gnome-terminal), except the terminal's own copy and paste.
            mods = e.modifiers()
            app_combo = mods & Qt.KeyboardModifier.ControlModifier and (
                mods & Qt.KeyboardModifier.ShiftModifier
            )
            emu = self._emu
            mine = widget_action(e.key(), mods) is not None or (
                not app_combo
                and key_bytes(e.key(), mods, e.text(), emu.app_cursor, emu.app_keypad) is not None
            )
            if mine:
                e.accept()
                return True
        if e.type() == QEvent.Type.DevicePixelRatioChange:
            # The window moved to a screen of another pixel density: a sharp image again.
            self._rebuild_image()
        return super().event(e)

    def showEvent(self, e: QShowEvent) -> None:
        super().showEvent(e)
        # Told again once shown, changed or not: a terminal that waited while
        # hidden attaches on it.
        self._announced = None
        self._resize_timer.start()

    def focusNextPrevChild(self, next: bool) -> bool:
        return False

    def keyPressEvent(self, e: QKeyEvent) -> None:
        action = widget_action(e.key(), e.modifiers())
        if action == "copy":
            self._copy(QClipboard.Mode.Clipboard)
        elif action == "paste":
            self.paste(QGuiApplication.clipboard().text(QClipboard.Mode.Clipboard))
        elif action in ("zoom_in", "zoom_out", "zoom_reset"):
            self.zoom({"zoom_in": 1, "zoom_out": -1}.get(action, 0))
        else:
            emu = self._emu
            data = key_bytes(e.key(), e.modifiers(), e.text(), emu.app_cursor, emu.app_keypad)
            if data is None:
                super().keyPressEvent(e)
                return
            self.send.emit(data)
            self._restart_blink()
        e.accept()

    def inputMethodEvent(self, e: QInputMethodEvent) -> None:
        if e.commitString():
            self.send.emit(e.commitString().encode())
        e.accept()

    def inputMethodQuery(self, query: Qt.InputMethodQuery) -> object:
        if query == Qt.InputMethodQuery.ImCursorRectangle:
            return self._cursor_rect().toAlignedRect()
        return super().inputMethodQuery(query)

    def mousePressEvent(self, e: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        button = mouse.button_code(e.button())
        if self._reporting(e):
            if button != mouse.NO_BUTTON:
                self._buttons |= 1 << button
                self._report(button, e, press=True)
            return
        if e.button() == Qt.MouseButton.MiddleButton:
            clipboard = QGuiApplication.clipboard()
            mode = QClipboard.Mode.Selection if clipboard.supportsSelection() else None
            self.paste(clipboard.text(mode or QClipboard.Mode.Clipboard))
        elif e.button() == Qt.MouseButton.LeftButton:
            row, col = self._cell_at(e.position().x(), e.position().y())
            interval = QApplication.doubleClickInterval() / 1000
            if time.monotonic() - self._last_double < interval:
                self._select((row, 0), (row, self._emu.cols - 1))  # triple click: the line
            else:
                # A drag from here selects, whatever the modifiers on the way.
                self._selecting = True
                self._selection.start((row, col))
                self.update()

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:
        if self._reporting(e):
            self.mousePressEvent(e)  # a second press, as xterm reports it
            return
        if e.button() == Qt.MouseButton.LeftButton:
            self._last_double = time.monotonic()
            row, col = self._cell_at(e.position().x(), e.position().y())
            start, end = word_at(self._emu.screen, row, col)
            self._select((row, start), (row, end))

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self._selecting and e.buttons() & Qt.MouseButton.LeftButton:
            self._selection.extend(self._cell_at(e.position().x(), e.position().y()))
            self.update()
            return
        if self._reporting(e):
            mode = self._emu.mouse_mode
            held = [b for b in range(3) if self._buttons & (1 << b)]
            if (held and mode in (1002, 1003)) or mode == 1003:
                code = (held[0] if held else mouse.NO_BUTTON) + mouse.MOTION
                self._report(code, e, press=True, motion=True)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        button = mouse.button_code(e.button())
        selecting, self._selecting = self._selecting, False
        if self._reporting(e) and button != mouse.NO_BUTTON and not selecting:
            self._buttons &= ~(1 << button)
            if self._emu.mouse_mode != 9:  # X10 mode reports presses only
                self._report(button, e, press=False)
            return
        if e.button() == Qt.MouseButton.LeftButton and self._selection.span() is not None:
            self._selection.finish(self._emu.screen)
            self._copy(QClipboard.Mode.Selection)

    def wheelEvent(self, e: QWheelEvent) -> None:
        self._wheel += e.angleDelta().y()
        notches = int(self._wheel / WHEEL_NOTCH)
        if not notches:
            return
        self._wheel -= notches * WHEEL_NOTCH
        if self._emu.mouse_mode and not (e.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            for _ in range(abs(notches)):
                self._report(mouse.WHEEL_UP if notches > 0 else mouse.WHEEL_DOWN, e, press=True)
        else:
            self.scroll_requested.emit(notches * WHEEL_LINES)
        e.accept()

    def focusInEvent(self, e: QFocusEvent) -> None:
        self._restart_blink()
        super().focusInEvent(e)

    def focusOutEvent(self, e: QFocusEvent) -> None:
        self._blink_timer.stop()
        self._blink_on = True
        self._update_cursor()
        super().focusOutEvent(e)

    def changeEvent(self, e: QEvent) -> None:
        if e.type() == QEvent.Type.PaletteChange:  # the system went dark or light
            self._renderer.set_palette(self.palette())
            self._rebuild_image()
        super().changeEvent(e)

    def resizeEvent(self, e: QResizeEvent) -> None:
        cols, rows = self._renderer.grid_for(self.width(), self.height())
        if (cols, rows) != self.grid_size():
            self._emu.resize(cols, rows)
            self._clear_selection()
            self._rebuild_image()
            self._resize_timer.start()

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        r = self._renderer
        p.fillRect(e.rect(), r.bg)  # the margin the grid does not fill
        p.drawImage(0, 0, self._image)
        self._paint_selection(p)
        self._paint_cursor(p)
        if self._status:
            self._paint_status(p, self._status)
        p.end()

    # -- internals: parsing and repainting ---------------------------------------

    def _timer(self, interval: int, slot: object) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(interval)
        timer.timeout.connect(slot)
        return timer

    def _reply(self, data: bytes) -> None:
        self.send.emit(data)

    def _parse_some(self) -> None:
        deadline = time.monotonic() + PARSE_BUDGET_S
        queue = self._queue
        while queue:
            chunk = queue[0]
            piece = chunk[self._offset : self._offset + SLICE_BYTES]
            self._offset += len(piece)
            if self._offset >= len(chunk):
                queue.popleft()
                self._offset = 0
            self._pending -= len(piece)
            self._emu.feed(piece)
            if time.monotonic() >= deadline:
                break
        if queue:
            self._parse_timer.start()  # the rest on the next turn: input and paints go first
        else:
            self.drained.emit()
        if self._frame_timer.isActive():
            return
        # At most one repaint per frame, but not a frame late: an echo that
        # comes after a quiet spell is painted at once (keystroke latency).
        wait_ms = FRAME_MS - (time.monotonic() - self._painted_at) * 1000
        if wait_ms <= 0 and not queue:
            self._frame()
        else:
            self._frame_timer.start(max(1, min(FRAME_MS, round(wait_ms))))

    def _frame(self) -> None:
        if self._emu.synchronized:
            now = time.monotonic()
            if self._sync_since is None:
                self._sync_since = now
            if now - self._sync_since < SYNC_HOLD_S:
                self._frame_timer.start()
                return
        self._sync_since = None
        self._painted_at = time.monotonic()
        self._repaint_dirty()

    def _repaint_dirty(self) -> None:
        screen = self._emu.screen
        rows, cols = self._emu.rows, self._emu.cols
        dirty = sorted(y for y in screen.dirty if 0 <= y < rows)
        screen.dirty.clear()
        if dirty:
            p = QPainter(self._image)
            for y in dirty:
                self._renderer.paint_line(p, y, screen.buffer[y], cols)  # type: ignore[arg-type]
            p.end()
            top = self._renderer.cell_rect(0, dirty[0], cols)
            bottom = self._renderer.cell_rect(0, dirty[-1], cols)
            self.update(top.united(bottom).toAlignedRect().adjusted(0, 0, 1, 1))
            if self._selection.changed_by(screen, dirty):
                self._clear_selection()
        self._update_cursor()

    def _rebuild_image(self) -> None:
        r = self._renderer
        cols, rows = self.grid_size()
        dpr = self.devicePixelRatioF()
        w = max(math.ceil(cols * r.cell_width * dpr), 1)
        h = max(math.ceil(rows * r.cell_height * dpr), 1)
        self._image = QImage(w, h, QImage.Format.Format_RGB32)
        self._image.setDevicePixelRatio(dpr)
        self._image.fill(r.bg)
        self._emu.screen.dirty.update(range(rows))
        self._repaint_dirty()
        self.update()

    def _apply_font(self, font: QFont) -> None:
        self._renderer.set_font(font)
        self.updateGeometry()
        self.resizeEvent(QResizeEvent(self.size(), self.size()))
        self._rebuild_image()

    def _announce_size(self) -> None:
        size = self.usable_size()
        if size is not None and size != self._announced:
            self._announced = size
            self.resized.emit(*size)

    # -- internals: the cursor ---------------------------------------------------

    def _cursor_rect(self) -> QRectF:
        screen = self._emu.screen
        x = min(screen.cursor.x, self._emu.cols - 1)
        return self._renderer.cell_rect(x, screen.cursor.y, 2 if self._cursor_wide() else 1)

    def _cursor_wide(self) -> bool:
        screen = self._emu.screen
        x, y = min(screen.cursor.x, self._emu.cols - 1), screen.cursor.y
        data = screen.buffer[y][x].data
        return (
            bool(data) and unicodedata.east_asian_width(data[0]) in "WF" and x + 1 < self._emu.cols
        )

    def _update_cursor(self) -> None:
        # The program may have turned blinking on or off (?12, DECSCUSR) since.
        blinking = self.hasFocus() and self._emu.cursor_blink
        if blinking != self._blink_timer.isActive():
            self._blink_on = True
            if blinking:
                self._blink_timer.start()
            else:
                self._blink_timer.stop()
        rect = self._cursor_rect().toAlignedRect().adjusted(-1, -1, 1, 1)
        if self._cursor_drawn != rect:
            if self._cursor_drawn is not None:
                self.update(self._cursor_drawn)
            self._cursor_drawn = rect
        self.update(rect)

    def _paint_cursor(self, p: QPainter) -> None:
        emu = self._emu
        if not emu.cursor_visible:
            return
        focused = self.hasFocus()
        if focused and emu.cursor_blink and not self._blink_on:
            return
        screen = emu.screen
        x, y = min(screen.cursor.x, emu.cols - 1), screen.cursor.y
        cell = emu.cell(x, y)
        self._renderer.paint_cursor(p, x, y, cell, self._cursor_wide(), emu.cursor_shape, focused)

    def _restart_blink(self) -> None:
        self._blink_on = True
        if self.hasFocus() and self._emu.cursor_blink:
            self._blink_timer.start()
        else:
            self._blink_timer.stop()
        self._update_cursor()

    def _blink(self) -> None:
        if not (self.hasFocus() and self._emu.cursor_blink):
            self._blink_timer.stop()
            self._blink_on = True
        else:
            self._blink_on = not self._blink_on
        self._update_cursor()

    # -- internals: mouse reporting ----------------------------------------------

    def _reporting(self, e: QMouseEvent) -> bool:
        """Whether the program gets the mouse; Shift keeps it for selecting, as in xterm."""
        shift = bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        return bool(self._emu.mouse_mode) and not shift

    def _report(
        self, button: int, e: QMouseEvent | QWheelEvent, press: bool, motion: bool = False
    ) -> None:
        row, col = self._cell_at(e.position().x(), e.position().y())
        if motion and self._mouse_cell == (row, col):
            return  # report motion only when it reaches another cell
        self._mouse_cell = (row, col)
        code = button
        if self._emu.mouse_mode != 9:  # X10 compatibility mode (?9) sends no modifiers
            code += mouse.modifier_bits(e.modifiers())
        self.send.emit(mouse.encode(code, col, row, press, self._emu.mouse_sgr))

    def _cell_at(self, px: float, py: float) -> tuple[int, int]:
        r = self._renderer
        col = min(max(int(px // r.cell_width), 0), self._emu.cols - 1)
        row = min(max(int(py // r.cell_height), 0), self._emu.rows - 1)
        return row, col

    # -- internals: selection and clipboard --------------------------------------

    def _select(self, first: tuple[int, int], last: tuple[int, int]) -> None:
        self._selection.set(first, last, self._emu.screen)
        self._copy(QClipboard.Mode.Selection)
        self.update()

    def _clear_selection(self) -> None:
        if self._selection.clear():
            self.update()

    def _copy(self, mode: QClipboard.Mode) -> None:
        text = self.selected_text()
        clipboard = QGuiApplication.clipboard()
        if not text or (mode == QClipboard.Mode.Selection and not clipboard.supportsSelection()):
            return
        clipboard.setText(text, mode)

    def _paint_selection(self, p: QPainter) -> None:
        colour = QColor(self.palette().color(self.palette().ColorRole.Highlight))
        colour.setAlpha(110)  # the text under it stays readable
        for y, first, last in self._selection.rows(self._emu.cols):
            p.fillRect(self._renderer.cell_rect(first, y, last - first + 1), colour)

    def _paint_status(self, p: QPainter, text: str) -> None:
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        room = QRect(0, 0, max(self.width() - 56, 40), 10_000)
        text_rect = p.fontMetrics().boundingRect(room, flags, text)
        w, h = text_rect.width() + 32, text_rect.height() + 16
        box = QRect((self.width() - w) // 2, 12, w, h)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(40, 40, 40, 220))
        p.drawRoundedRect(box, 6, 6)
        p.setPen(QColor(250, 250, 250))
        p.drawText(box.adjusted(16, 8, -16, -8), flags, text)


def _monospace(font: QFont) -> QFont:
    """The font, told to fall back to a monospace family when it is not one."""
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setFixedPitch(True)
    return font

"""The terminal widget and its emulator, driven by feeding bytes.

Feeding bytes to ``TerminalWidget.feed`` stands in for the byte stream a
PTY or an SSH channel running ``tmux attach`` delivers: the widget does no
I/O of its own, so this is the whole of its input. What comes out is
checked as a person sees it: the cells, the pixels of ``widget.grab()``,
and the bytes ``send`` carries to the program.
"""

from __future__ import annotations

import ast
import itertools
import math
import random
import time
from pathlib import Path
from typing import Any

import pyte
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QImage, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.terminal import emulator as emulator_module
from app.ui.terminal import mouse
from app.ui.terminal import screen as screen_module
from app.ui.terminal.emulator import Emulator
from app.ui.terminal.keys import key_bytes
from app.ui.terminal.widget import SYNC_HOLD_S, TerminalWidget

K = Qt.Key
M = Qt.KeyboardModifier


@pytest.fixture
def term(qtbot: Any) -> TerminalWidget:
    w = TerminalWidget(cols=40, rows=12)
    w.set_font("monospace", 16)  # big cells, so pixel checks have room
    qtbot.addWidget(w)
    w.resize(w.sizeHint())
    w.show()
    qtbot.waitExposed(w)
    return w


def fed(qtbot: Any, w: TerminalWidget, data: bytes) -> None:
    """Feed and wait until parsed and painted (a frame after the last parse)."""
    w.feed(data)
    qtbot.waitUntil(lambda: w.pending() == 0 and not w._frame_timer.isActive(), timeout=5000)


def sent(w: TerminalWidget) -> list[bytes]:
    out: list[bytes] = []
    w.send.connect(out.append)
    return out


def cell_pixels(w: TerminalWidget, x: int, y: int, image: QImage | None = None) -> list[QColor]:
    image = image or w.grab().toImage()
    rect = w._renderer.cell_rect(x, y).toAlignedRect().adjusted(1, 0, -1, 0)
    return [
        QColor(image.pixel(px, py))
        for py in range(rect.top(), rect.bottom() + 1)
        for px in range(rect.left(), rect.right() + 1)
    ]


def inner_pixels(w: TerminalWidget, x: int, y: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels wholly inside a cell (cells are fractional)."""
    r = w._renderer.cell_rect(x, y)
    return (
        math.ceil(r.left()), math.ceil(r.top()),
        math.floor(r.right()) - 1, math.floor(r.bottom()) - 1,
    )  # fmt: skip


def reddish(c: QColor) -> bool:
    return c.red() > 150 and c.green() < 100 and c.blue() < 100


# -- what lands in the cells -----------------------------------------------------


def test_text_lands_in_cells_and_the_cursor_follows(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"hello\r\nworld")
    assert term.screen_lines()[0].startswith("hello ")
    assert term.screen_lines()[1].startswith("world ")
    assert term.cell(4, 1).data == "d"
    assert (term.emulator.screen.cursor.x, term.emulator.screen.cursor.y) == (5, 1)


def test_red_text_is_red_in_its_cells_and_pixels_only(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"ab\x1b[31mred\x1b[0mcd")
    assert [term.cell(x, 0).fg for x in range(7)] == ["default"] * 2 + ["red"] * 3 + ["default"] * 2
    image = term.grab().toImage()
    for x in (2, 3, 4):
        assert any(reddish(c) for c in cell_pixels(term, x, 0, image)), f"cell {x} has no red"
    for x in (0, 1, 5, 6):
        assert not any(reddish(c) for c in cell_pixels(term, x, 0, image)), f"cell {x} is red"


def test_dim_256_and_true_colour(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"\x1b[2mD\x1b[22mN\x1b[38;5;196mP\x1b[38;2;0;0;255;48;2;0;255;0mT\x1b[m")
    dim, normal, p256, true = (term.cell(x, 0) for x in range(4))
    assert (dim.dim, normal.dim, p256.dim) == (True, False, False)
    assert p256.fg == "ff0000"
    assert (true.fg, true.bg) == ("0000ff", "00ff00")
    image = term.grab().toImage()
    fg = term._renderer.fg

    def darkest(x: int) -> int:  # ink of the glyph: the colour farthest from the background
        return min(c.lightness() for c in cell_pixels(term, x, 0, image))

    # Dim ink sits between the text colour and the background; normal ink reaches the text colour.
    assert darkest(1) <= fg.lightness() + 40 < darkest(0)
    assert any(c.red() > 200 and c.green() < 60 for c in cell_pixels(term, 2, 0, image))
    true_pixels = cell_pixels(term, 3, 0, image)
    assert any(c.green() > 200 and c.red() < 60 and c.blue() < 60 for c in true_pixels)  # bg
    assert any(c.blue() > 150 and c.green() < 150 for c in true_pixels)  # fg


def test_wide_characters_take_two_cells(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, "漢a😀b".encode())
    cells = [term.cell(x, 0).data for x in range(6)]
    assert cells == ["漢", "", "a", "😀", "", "b"]
    assert term.screen_lines()[0].startswith("漢a😀b ")


@pytest.mark.parametrize(
    ("ch", "edges"),
    [
        ("─", "lr"),
        ("│", "tb"),
        ("╭", "rb"),
        ("╮", "lb"),
        ("╰", "rt"),
        ("╯", "lt"),
    ],
)
def test_box_drawing_reaches_the_cell_edges(
    qtbot: Any, term: TerminalWidget, ch: str, edges: str
) -> None:
    fed(qtbot, term, f"\x1b[?25l {ch}".encode())
    image = term.grab().toImage()
    left, top, right, bottom = inner_pixels(term, 1, 0)
    bg = term._renderer.bg

    def inked(xs: range, ys: range) -> bool:
        return any(QColor(image.pixel(x, y)) != bg for x in xs for y in ys)

    cx, cy = (left + right) // 2, (top + bottom) // 2
    mid_x, mid_y = range(cx - 2, cx + 3), range(cy - 2, cy + 3)
    reaches = {
        "l": inked(range(left, left + 1), mid_y),
        "r": inked(range(right, right + 1), mid_y),
        "t": inked(mid_x, range(top, top + 1)),
        "b": inked(mid_x, range(bottom, bottom + 1)),
    }
    assert {e for e, hit in reaches.items() if hit} == set(edges)


def test_a_frame_of_box_characters_joins_across_cells(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, "\x1b[?25l╭──╮\r\n│  │\r\n╰──╯".encode())
    image = term.grab().toImage()
    bg = term._renderer.bg

    def ink(x: int, y: int) -> bool:
        return QColor(image.pixel(x, y)) != bg

    # The top line's rows of pixels, found in the middle of its second cell.
    left, top, right, bottom = inner_pixels(term, 1, 0)
    rows = [y for y in range(top, bottom + 1) if ink((left + right) // 2, y)]
    assert rows
    # Unbroken from where the corner ╭ meets its right edge to where ╮ meets its left.
    start, end = inner_pixels(term, 0, 0)[2], inner_pixels(term, 3, 0)[0]
    assert all(any(ink(x, y) for y in rows) for x in range(start, end + 1))
    # And the left side, from the corner's bottom edge down through │ into ╰.
    left, top, right, bottom = inner_pixels(term, 0, 1)
    columns = [x for x in range(left, right + 1) if ink(x, (top + bottom) // 2)]
    assert columns
    start, end = inner_pixels(term, 0, 0)[3], inner_pixels(term, 0, 2)[1]
    assert all(any(ink(x, y) for x in columns) for y in range(start, end + 1))


def test_dashed_lines_are_drawn_solid_and_shades_evenly(qtbot: Any, term: TerminalWidget) -> None:
    """A font draws ┄ with gaps and ░ as a dot pattern; drawn as geometry, a
    dashed line is one unbroken line across cells and a shade one even tint."""
    fed(qtbot, term, "\x1b[?25l┄┄┄ ░".encode())
    image = term.grab().toImage()
    bg = term._renderer.bg
    left, top, _, bottom = inner_pixels(term, 0, 0)
    right = inner_pixels(term, 2, 0)[2]
    rows = [y for y in range(top, bottom + 1) if QColor(image.pixel(left + 1, y)) != bg]
    assert rows
    assert all(any(QColor(image.pixel(x, y)) != bg for y in rows) for x in range(left, right + 1))
    shade = {QColor(image.pixel(x, y)).rgb() for x, y in pixel_coords(term, 4, 0)}
    assert len(shade) == 1
    assert shade != {bg.rgb()} and shade != {term._renderer.fg.rgb()}


def pixel_coords(w: TerminalWidget, x: int, y: int) -> list[tuple[int, int]]:
    left, top, right, bottom = inner_pixels(w, x, y)
    return [(px, py) for px in range(left, right + 1) for py in range(top, bottom + 1)]


def test_block_elements_fill_their_part_of_the_cell(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, "\x1b[?25l▀▄█".encode())
    image = term.grab().toImage()
    bg = term._renderer.bg
    for x, (top_inked, bottom_inked) in enumerate([(True, False), (False, True), (True, True)]):
        rect = term._renderer.cell_rect(x, 0).toAlignedRect()
        cx = rect.center().x()
        assert (QColor(image.pixel(cx, rect.top() + 1)) != bg) == top_inked
        assert (QColor(image.pixel(cx, rect.bottom() - 1)) != bg) == bottom_inked


def test_hidden_cursor_is_not_drawn(qtbot: Any, term: TerminalWidget) -> None:
    term.setFocus()
    fed(qtbot, term, b"\x1b[2;3H")
    bg = term._renderer.bg
    assert any(c != bg for c in cell_pixels(term, 2, 1))  # the block cursor
    fed(qtbot, term, b"\x1b[?25l")
    assert all(c == bg for c in cell_pixels(term, 2, 1))


def test_cursor_blinks_when_asked_and_only_while_focused(qtbot: Any, term: TerminalWidget) -> None:
    term.activateWindow()
    qtbot.waitActive(term)
    term.setFocus()
    qtbot.waitUntil(term.hasFocus)
    bg = term._renderer.bg

    def cursor_inked() -> bool:
        return any(c != bg for c in cell_pixels(term, 0, 0))

    fed(qtbot, term, b"\x1b[?12h")
    qtbot.waitUntil(lambda: not cursor_inked(), timeout=3000)
    qtbot.waitUntil(cursor_inked, timeout=3000)
    # Unfocused: a hollow block that stays (its centre is background).
    term.clearFocus()
    qtbot.waitUntil(lambda: not term.hasFocus())
    assert not term._blink_timer.isActive()
    pixels = cell_pixels(term, 0, 0)
    assert any(c != bg for c in pixels)
    left, top, right, bottom = inner_pixels(term, 0, 0)
    centre = QColor(term.grab().toImage().pixel((left + right) // 2, (top + bottom) // 2))
    assert centre == bg


def test_osc_title_is_signalled(qtbot: Any, term: TerminalWidget) -> None:
    with qtbot.waitSignal(term.title_changed, timeout=5000) as blocker:
        term.feed(b"\x1b]2;claude: fixing tests\x07")
    assert blocker.args == ["claude: fixing tests"]
    assert term.emulator.title == "claude: fixing tests"


def test_cursor_position_report_goes_to_send(qtbot: Any, term: TerminalWidget) -> None:
    out = sent(term)
    fed(qtbot, term, b"\x1b[5;7H\x1b[6n")
    assert out == [b"\x1b[5;7R"]


def test_modes_are_read_back(qtbot: Any, term: TerminalWidget) -> None:
    emu = term.emulator
    assert (emu.app_cursor, emu.app_keypad, emu.bracketed_paste, emu.mouse_mode) == (
        False, False, False, 0,
    )  # fmt: skip
    fed(qtbot, term, b"\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[5 q\x1b[?25l")
    assert (emu.app_cursor, emu.app_keypad, emu.bracketed_paste) == (True, True, True)
    assert (emu.mouse_mode, emu.mouse_sgr, emu.cursor_shape, emu.cursor_blink) == (
        1002, True, "bar", True,
    )  # fmt: skip
    assert not emu.cursor_visible
    fed(qtbot, term, b"\x1b[?1l\x1b>\x1b[?1002l\x1b[2 q\x1b[?25h")
    assert (emu.app_cursor, emu.app_keypad, emu.mouse_mode) == (False, False, 0)
    assert (emu.cursor_shape, emu.cursor_blink, emu.cursor_visible) == ("block", False, True)


def test_secondary_device_attributes_are_answered_and_not_misread(
    qtbot: Any, term: TerminalWidget
) -> None:
    out = sent(term)
    # pyte alone would take "CSI > 4;1m" for SGR 4;1 and "CSI > c" for primary DA.
    fed(qtbot, term, b"\x1b[>c\x1b[>4;1mA\x1b[>q")
    assert out == [b"\x1b[>1;10;0c"]
    a = term.cell(0, 0)
    assert (a.data, a.bold, a.underscore) == ("A", False, False)


# -- keys --------------------------------------------------------------------------


def test_typing_sends_what_xterm_sends(qtbot: Any, term: TerminalWidget) -> None:
    out = sent(term)
    QTest.keyClicks(term, "ls")
    QTest.keyClick(term, K.Key_Return)
    QTest.keyClick(term, K.Key_Backspace)
    QTest.keyClick(term, K.Key_Up)
    QTest.keyClick(term, K.Key_C, M.ControlModifier)
    QTest.keyClick(term, K.Key_X, M.AltModifier)
    QTest.keyClick(term, K.Key_F5)
    QTest.keyClick(term, K.Key_Tab)
    QTest.keyClick(term, K.Key_Backtab, M.ShiftModifier)
    QTest.keyClick(term, K.Key_Right, M.ControlModifier)
    assert out == [
        b"l", b"s", b"\r", b"\x7f", b"\x1b[A", b"\x03", b"\x1bx", b"\x1b[15~", b"\t", b"\x1b[Z",
        b"\x1b[1;5C",
    ]  # fmt: skip


def test_arrows_follow_application_cursor_mode(qtbot: Any, term: TerminalWidget) -> None:
    out = sent(term)
    fed(qtbot, term, b"\x1b[?1h")
    QTest.keyClick(term, K.Key_Up)
    QTest.keyClick(term, K.Key_Home)
    fed(qtbot, term, b"\x1b[?1l")
    QTest.keyClick(term, K.Key_Up)
    assert out == [b"\x1bOA", b"\x1bOH", b"\x1b[A"]


def test_tab_stays_in_the_terminal(qtbot: Any, term: TerminalWidget) -> None:
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    box = QWidget()
    qtbot.addWidget(box)
    layout = QVBoxLayout(box)
    inner = TerminalWidget()
    layout.addWidget(inner)
    layout.addWidget(QLineEdit())
    box.show()
    box.activateWindow()
    qtbot.waitActive(box)
    inner.setFocus()
    qtbot.waitUntil(inner.hasFocus)
    out = sent(inner)
    QTest.keyClick(inner, K.Key_Tab)
    assert out == [b"\t"]
    assert inner.hasFocus()


def test_the_windows_shortcuts_do_not_take_the_programs_keys(qtbot: Any) -> None:
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    inner = TerminalWidget()
    window.setCentralWidget(inner)
    fired: list[str] = []
    for keys in ("Ctrl+N", "F5", "Delete", "Ctrl+Shift+W"):
        action = QAction(keys, window)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _c=False, k=keys: fired.append(k))
        window.addAction(action)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    inner.setFocus()
    qtbot.waitUntil(inner.hasFocus)
    out = sent(inner)
    QTest.keyClick(inner, K.Key_N, M.ControlModifier)
    QTest.keyClick(inner, K.Key_F5)
    QTest.keyClick(inner, K.Key_Delete)
    assert out == [b"\x0e", b"\x1b[15~", b"\x1b[3~"] and fired == []
    # Ctrl+Shift combinations other than the terminal's own stay the window's.
    QTest.keyClick(inner, K.Key_W, M.ControlModifier | M.ShiftModifier)
    assert fired == ["Ctrl+Shift+W"]


@pytest.mark.parametrize(
    ("key", "mods", "text", "app_cursor", "app_keypad", "expected"),
    [
        (K.Key_Space, M.ControlModifier, " ", False, False, b"\x00"),
        (K.Key_BracketRight, M.ControlModifier, "]", False, False, b"\x1d"),
        (K.Key_Backslash, M.ControlModifier, "\\", False, False, b"\x1c"),
        (K.Key_Delete, M.NoModifier, "", False, False, b"\x1b[3~"),
        (K.Key_PageUp, M.ShiftModifier, "", False, False, b"\x1b[5;2~"),
        (K.Key_F1, M.NoModifier, "", False, False, b"\x1bOP"),
        (K.Key_F12, M.NoModifier, "", False, False, b"\x1b[24~"),
        (K.Key_End, M.NoModifier, "", False, False, b"\x1b[F"),
        (K.Key_5, M.KeypadModifier, "5", False, True, b"\x1bOu"),
        (K.Key_5, M.KeypadModifier, "5", False, False, b"5"),
        (K.Key_Enter, M.KeypadModifier, "\r", False, True, b"\x1bOM"),
        (K.Key_Escape, M.NoModifier, "\x1b", False, False, b"\x1b"),
        (K.Key_Shift, M.ShiftModifier, "", False, False, None),
        (K.Key_A, M.NoModifier, "é", False, False, "é".encode()),
    ],
)
def test_key_table(
    key: int, mods: Any, text: str, app_cursor: bool, app_keypad: bool, expected: bytes | None
) -> None:
    assert key_bytes(key, mods, text, app_cursor, app_keypad) == expected


def test_zoom_keys_are_the_widgets(qtbot: Any, term: TerminalWidget) -> None:
    out = sent(term)
    size = term._renderer.fonts[0].pointSize()
    with qtbot.waitSignal(term.font_zoomed) as blocker:
        QTest.keyClick(term, K.Key_Equal, M.ControlModifier)
    assert blocker.args == [size + 1]
    with qtbot.waitSignal(term.font_zoomed) as blocker:
        QTest.keyClick(term, K.Key_0, M.ControlModifier)
    # Back to the size a new terminal has (the system's), not the one set (16).
    fresh = TerminalWidget()
    assert blocker.args == [fresh._renderer.fonts[0].pointSize()] != [16]
    assert out == []


# -- paste, copy, selection ----------------------------------------------------------


def test_paste_is_bracketed_only_when_asked(qtbot: Any, term: TerminalWidget) -> None:
    out = sent(term)
    term.paste("one\ntwo")
    fed(qtbot, term, b"\x1b[?2004h")
    term.paste("rm -rf /\x1b[201~\nthree")
    assert out == [b"one\rtwo", b"\x1b[200~rm -rf /\rthree\x1b[201~"]


def test_ctrl_shift_v_pastes_the_clipboard(qtbot: Any, term: TerminalWidget) -> None:
    QGuiApplication.clipboard().setText("from clipboard")
    out = sent(term)
    QTest.keyClick(term, K.Key_V, M.ControlModifier | M.ShiftModifier)
    assert out == [b"from clipboard"]


def test_middle_click_pastes_the_selection_or_the_clipboard(
    qtbot: Any, term: TerminalWidget
) -> None:
    clipboard = QGuiApplication.clipboard()
    mode = clipboard.Mode.Selection if clipboard.supportsSelection() else clipboard.Mode.Clipboard
    clipboard.setText("picked", mode)
    fed(qtbot, term, b"\x1b[?2004h")
    out = sent(term)
    QTest.mouseClick(term, Qt.MouseButton.MiddleButton, M.NoModifier, QPoint(5, 5))
    assert out == [b"\x1b[200~picked\x1b[201~"]


def test_drag_selects_and_ctrl_shift_c_copies(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"first line\r\nsecond line")
    r = term._renderer
    start = r.cell_rect(6, 0).center().toPoint()
    end = r.cell_rect(5, 1).center().toPoint()
    QTest.mousePress(term, Qt.MouseButton.LeftButton, M.NoModifier, start)
    QTest.mouseMove(term, end)
    QTest.mouseRelease(term, Qt.MouseButton.LeftButton, M.NoModifier, end)
    assert term.selected_text() == "line\nsecond"
    QGuiApplication.clipboard().setText("")
    QTest.keyClick(term, K.Key_C, M.ControlModifier | M.ShiftModifier)
    assert QGuiApplication.clipboard().text() == "line\nsecond"
    # The selection goes when its lines change.
    fed(qtbot, term, b"\x1b[1;1Hchanged")
    assert term.selected_text() == ""


def test_double_click_selects_a_word(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"git commit -m wip")
    at = term._renderer.cell_rect(6, 0).center().toPoint()
    QTest.mouseDClick(term, Qt.MouseButton.LeftButton, M.NoModifier, at)
    assert term.selected_text() == "commit"


# -- mouse reporting and the wheel ------------------------------------------------------


def wheel(w: TerminalWidget, at: QPoint, notches: int) -> None:
    event = QWheelEvent(
        QPointF(at), QPointF(w.mapToGlobal(at)), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, M.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(w, event)


def test_mouse_reporting_sends_sgr_reports(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"\x1b[?1000h\x1b[?1006h")
    out = sent(term)
    at = term._renderer.cell_rect(3, 2).center().toPoint()
    QTest.mouseClick(term, Qt.MouseButton.LeftButton, M.NoModifier, at)
    wheel(term, at, 1)
    wheel(term, at, -1)
    assert out == [b"\x1b[<0;4;3M", b"\x1b[<0;4;3m", b"\x1b[<64;4;3M", b"\x1b[<65;4;3M"]


def test_mouse_reporting_without_sgr_uses_x10_bytes(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"\x1b[?1000h")
    out = sent(term)
    at = term._renderer.cell_rect(3, 2).center().toPoint()
    QTest.mouseClick(term, Qt.MouseButton.RightButton, M.ControlModifier, at)
    assert out == [
        b"\x1b[M" + bytes([32 + 2 + 16, 32 + 4, 32 + 3]),
        b"\x1b[M" + bytes([32 + 3 + 16, 36, 35]),
    ]


def test_x10_coordinates_stop_at_223() -> None:
    assert mouse.encode(0, 400, 9, press=True, sgr=False) == b"\x1b[M" + bytes([32, 255, 42])
    assert mouse.encode(0, 400, 9, press=True, sgr=True) == b"\x1b[<0;401;10M"


def test_wheel_without_reporting_asks_for_history(qtbot: Any, term: TerminalWidget) -> None:
    out = sent(term)
    asked: list[int] = []
    term.scroll_requested.connect(asked.append)
    at = term._renderer.cell_rect(3, 2).center().toPoint()
    wheel(term, at, 1)
    wheel(term, at, -2)
    assert asked == [3, -6]
    assert out == []


def test_shift_drag_selects_even_when_reporting(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"\x1b[?1000h\x1b[?1006hselect me")
    out = sent(term)
    r = term._renderer
    start, end = r.cell_rect(0, 0).center().toPoint(), r.cell_rect(5, 0).center().toPoint()
    QTest.mousePress(term, Qt.MouseButton.LeftButton, M.ShiftModifier, start)
    QTest.mouseMove(term, end)
    QTest.mouseRelease(term, Qt.MouseButton.LeftButton, M.ShiftModifier, end)
    assert term.selected_text() == "select"
    assert out == []


# -- size, speed, synchronized output ----------------------------------------------------


def test_resizing_the_widget_resizes_the_grid(qtbot: Any, term: TerminalWidget) -> None:
    r = term._renderer
    with qtbot.waitSignal(term.resized, timeout=5000) as blocker:
        term.resize(int(r.cell_width * 30.5), int(r.cell_height * 7.5))
    assert blocker.args == [30, 7]
    assert term.grid_size() == (30, 7)
    assert len(term.screen_lines()) == 7


def test_a_big_burst_is_parsed_in_slices_without_freezing(qtbot: Any, term: TerminalWidget) -> None:
    burst = b"".join(b"\x1b[3%dmline %d of the burst\x1b[K\r\n" % (i % 8, i) for i in range(70_000))
    assert len(burst) > 2_000_000
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(0)
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    heartbeat.start()
    started = time.monotonic()
    term.feed(burst)
    assert time.monotonic() - started < 0.05  # feed only queues
    assert term.pending() == len(burst)
    qtbot.waitUntil(lambda: term.pending() == 0, timeout=60_000)
    heartbeat.stop()
    # The loop ran between slices: other events got turns all along.
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20
    assert max(gaps) < 0.25
    assert term.screen_lines()[-2].startswith("line 69999 of the burst")


def test_synchronized_output_holds_the_repaint_for_a_while(
    qtbot: Any, term: TerminalWidget
) -> None:
    bg = term._renderer.bg
    fed(qtbot, term, b"\x1b[?25l")
    started = time.monotonic()
    term.feed(b"\x1b[?2026hXXXX")
    qtbot.waitUntil(lambda: any(c != bg for c in cell_pixels(term, 1, 0)), timeout=5000)
    assert time.monotonic() - started >= SYNC_HOLD_S - 0.02


def test_status_banner_is_drawn_and_cleared(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"\x1b[?25l")
    blank = term.grab().toImage()
    term.set_status("Disconnected")
    assert term.grab().toImage() != blank
    term.set_status(None)
    assert term.grab().toImage() == blank


def test_reset_starts_a_fresh_screen(qtbot: Any, term: TerminalWidget) -> None:
    fed(qtbot, term, b"\x1b[31mold\x1b[?1h")
    term.feed(b"never parsed")
    term.reset()
    assert term.pending() == 0
    assert term.screen_lines()[0].strip() == ""
    assert not term.emulator.app_cursor
    fed(qtbot, term, b"new")
    assert term.cell(0, 0).fg == "default"


# -- the emulator against pyte ---------------------------------------------------------


def tmux_like_stream(seed: int, lines: int, with_additions: bool) -> bytes:
    """What tmux sends a client, condensed: CUPs, SGR colours, EL/ED, scroll regions,
    wrapped lines, wide characters, tabs, insert mode; SU/SD and dim only when
    ``with_additions`` (plain pyte does not know them)."""
    rng = random.Random(seed)
    words = ["seq", "claude", "╭──╮", "│ ok │", "漢字", "😀", "tab\there", "x" * 150, "é"]
    out = ["\x1b[?1049h\x1b[H\x1b[2J"]
    for _ in range(lines):
        r = rng.random()
        if r < 0.08:
            out.append(f"\x1b[{rng.randint(1, 30)};{rng.randint(1, 100)}H")
        elif r < 0.12:
            top = rng.randint(1, 10)
            out.append(f"\x1b[{top};{rng.randint(top + 1, 30)}r")
        elif r < 0.14:
            out.append("\x1b[r")
        elif r < 0.16 and with_additions:
            out.append(f"\x1b[{rng.randint(1, 5)}{rng.choice('ST')}")
        elif r < 0.18:
            out.append(f"\x1b[{rng.choice([0, 1, 2])}J")
        elif r < 0.20:
            out.append("\x1b[4h" + rng.choice(words) + "\x1b[4l")
        elif r < 0.22:
            out.append(f"\x1b[{rng.randint(1, 4)}{rng.choice('LMP@X')}")
        elif r < 0.24:
            out.append("\x1bM" if rng.random() < 0.5 else "\x1bD")
        sgr = [str(rng.choice([0, 1, 3, 4, 7, 9, 22, 31, 42, 91, 39, 49]))]
        if rng.random() < 0.2:
            sgr.append(f"38;5;{rng.randint(0, 255)}")
        if rng.random() < 0.1:
            sgr.append(f"48;2;{rng.randint(0, 255)};{rng.randint(0, 255)};{rng.randint(0, 255)}")
        if with_additions and rng.random() < 0.2:
            sgr.append("2")
        out.append(f"\x1b[{';'.join(sgr)}m{rng.choice(words)} {rng.randint(0, 10**6)}")
        out.append(f"\x1b[{rng.choice(['', '0', '1', '2'])}K")
        out.append(rng.choice(["\r\n", "\n", "\r\n\r\n", "\x08\x08", ""]))
    return "".join(out).encode()


def cells(screen: pyte.Screen, fields: int) -> list[list[tuple[object, ...]]]:
    return [
        [tuple(screen.buffer[y][x])[:fields] for x in range(screen.columns)]
        for y in range(screen.lines)
    ]


def feed_in_pieces(emu: Emulator, data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    i = 0
    while i < len(data):  # pieces that split escapes and UTF-8 sequences
        n = rng.randint(1, 700)
        emu.feed(data[i : i + n])
        i += n


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_screen_equals_pyte_on_a_tmux_like_stream(seed: int) -> None:
    data = tmux_like_stream(seed, 3000, with_additions=False)
    plain = pyte.Screen(120, 40)
    pyte.ByteStream(plain).feed(data)
    fast = Emulator(120, 40)
    feed_in_pieces(fast, data, seed)
    assert cells(fast.screen, 9) == cells(plain, 9)
    assert (fast.screen.cursor.x, fast.screen.cursor.y) == (plain.cursor.x, plain.cursor.y)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_fast_emulator_equals_the_reference_with_the_additions(seed: int) -> None:
    data = tmux_like_stream(seed, 3000, with_additions=True)
    reference = Emulator(120, 40, fast=False)
    reference.feed(data)
    fast = Emulator(120, 40)
    feed_in_pieces(fast, data, seed)
    assert cells(fast.screen, 10) == cells(reference.screen, 10)
    assert any(fast.cell(x, y).dim for y in range(40) for x in range(120))  # dim was there


@pytest.mark.parametrize("piece", [1, 2, 3, 1000])
def test_control_strings_and_marked_csi_are_not_drawn_even_when_split(piece: int) -> None:
    """pyte alone draws a DCS body as text; here it is dropped, split anywhere."""
    replies: list[bytes] = []
    emu = Emulator(40, 3, on_reply=replies.append)
    data = b"a\x1bP+q544e\x1b\\b\x1b_apc\x18c\x1bPabort\x1b[1md\x1b[>c\x1b[>4;1me"
    for i in range(0, len(data), piece):
        emu.feed(data[i : i + piece])
    assert emu.display()[0].rstrip() == "abcde"
    assert emu.cell(3, 0).bold and not emu.cell(4, 0).underscore  # the ESC [ 1 m after "abort"
    assert replies == [b"\x1b[>1;10;0c"]


def test_scroll_up_moves_the_region_only() -> None:
    emu = Emulator(10, 5)
    emu.feed(b"0\r\n1\r\n2\r\n3\r\n4\x1b[2;4r\x1b[1S")
    assert [line.strip() for line in emu.display()] == ["0", "2", "3", "", "4"]
    emu.feed(b"\x1b[2T")
    assert [line.strip() for line in emu.display()] == ["0", "", "", "2", "4"]


@pytest.mark.parametrize("module", [emulator_module, screen_module])
def test_the_emulator_does_not_import_qt(module: Any) -> None:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported  # the walk saw the imports
    assert not {m for m in imported if m.split(".")[0] in ("PySide6", "shiboken6", "qasync")}

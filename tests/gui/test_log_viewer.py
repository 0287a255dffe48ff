"""The log viewer and its decoder, driven by feeding text.

Text given to ``LogViewer.append`` (and ``prepend``) stands in for the
byte stream of a sandbox's pane output: the widget does no I/O of its own,
so this is the whole of its input, split wherever a test likes. What comes
out is checked as a person sees it: the lines' text and colours, the pixels
of ``grab()``, the line at the top of the view, the clipboard, the file
saved. The first tests drive the decoder alone, without Qt.
"""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.logview import ansi
from app.ui.logview.ansi import (
    BOLD,
    DIM,
    LINE_CAP,
    REVERSE,
    UNDERLINE,
    Decoder,
    Line,
    Style,
    runs,
    unpack,
)
from app.ui.logview.store import LineStore
from app.ui.logview.viewer import LogViewer

K = Qt.Key
M = Qt.KeyboardModifier

# Output as a TUI, a shell prompt and a progress bar write it: every kind of
# escape the decoder must remove, around text that must survive.
NOISY = (
    "\x1b]0;claude: ~/proj\x07\x1b[?1049h\x1b[?25l\x1b[>4;2m\x1b[2J\x1b[H"
    "\x1b[1;31mred bold\x1b[0m then \x1b[38;5;70m256\x1b[39m and \x1b[38;2;1;2;3mrgb\x1b[m\r\n"
    "\x1bP+q544e\x1b\\\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\\x1b(B\x1b)0\x1b7\x1b8\x1b=\x1b>"
    "\x1b[3;5Hmoved\x1b[K\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2 q\x07\x0e\x0f end\n"
    "get 10%\rget 55%\rget 100%\n"
)
NOISY_TEXT = ["red bold then 256 and rgb", "movedlink  end", "get 100%"]


def decode(*chunks: str) -> list[str]:
    d = Decoder()
    lines = [line for chunk in chunks for line in d.feed(chunk)]
    partial = d.partial()[0]
    return [text for text, _ in lines] + ([partial] if partial else [])


# -- the decoder, no Qt -------------------------------------------------------------


def test_the_decoder_module_imports_no_qt() -> None:
    tree = ast.parse(Path(ansi.__file__).read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] in ("PySide6", "shiboken6", "qasync")]


def test_every_escape_is_removed_whole() -> None:
    assert decode(NOISY) == NOISY_TEXT


def test_escapes_split_at_any_point_leave_no_fragment() -> None:
    for i in range(len(NOISY) + 1):
        assert decode(NOISY[:i], NOISY[i:]) == NOISY_TEXT, f"split at {i}: {NOISY[:i]!r}"
    # Three pieces, split around each escape's introducer and parameters.
    for i in range(0, len(NOISY), 3):
        for j in range(i, min(i + 12, len(NOISY))):
            assert decode(NOISY[:i], NOISY[i:j], NOISY[j:]) == NOISY_TEXT, (i, j)
    assert decode(*NOISY) == NOISY_TEXT  # a character at a time


def test_sgr_sets_colours_and_attributes_that_carry_across_lines() -> None:
    d = Decoder()
    lines = d.feed(
        "\x1b[31mred\x1b[91mbright\x1b[38;5;200mi200\x1b[38;2;10;20;30mrgb"
        "\x1b[38:2::40:50:60mcolon\x1b[44;1;2;4;7mall\n"
        "still\x1b[22;24;27;39;49mreset\x1b[0m again\n"
    )
    got = [[(line[0][s:e], unpack(st)) for s, e, st in runs(line)] for line in lines]
    everything = BOLD | DIM | UNDERLINE | REVERSE
    assert got[0] == [
        ("red", Style(1)),
        ("bright", Style(9)),
        ("i200", Style(200)),
        ("rgb", Style((10, 20, 30))),
        ("colon", Style((40, 50, 60))),
        ("all", Style((40, 50, 60), 4, everything)),
    ]
    assert got[1] == [("still", Style((40, 50, 60), 4, everything)), ("reset again", Style())]


def test_private_and_unknown_sgr_change_no_style() -> None:
    d = Decoder()
    (line,) = d.feed("\x1b[>4;2mkeys\x1b[?1mstill\x1b[5;8;53mblink\n")
    assert line == ("keysstillblink", ())


def test_carriage_return_overwrites_and_backspace_steps_back() -> None:
    assert decode("Downloading 10%\rDownloading 75%\r\n") == ["Downloading 75%"]
    assert decode("long status text\rshort\n") == ["shortstatus text"]  # as a terminal shows it
    assert decode("long status text\rshort\x1b[K\n") == ["short"]
    assert decode("⠋ work\x1b[2K\x1b[1G⠙ work\x1b[2K\x1b[1G✔ done\n") == ["✔ done"]
    assert decode("abc\b\bXY\n") == ["aXY"]
    assert decode("a\tb\n", "1234567890\tc\n") == ["a       b", "1234567890      c"]


def test_overwriting_keeps_the_style_of_each_character() -> None:
    d = Decoder()
    (line,) = d.feed("\x1b[32mgreen\x1b[0m plain\r\x1b[31mRE\x1b[0m\n")
    assert [(line[0][s:e], unpack(st).fg) for s, e, st in runs(line)] == [
        ("RE", 1),
        ("een", 2),
        (" plain", None),
    ]


class CellModel:
    """The decoder's line model the slow, obvious way: a list of (char, style) cells."""

    def __init__(self) -> None:
        self.cells: list[tuple[str, Style]] = []
        self.col = 0
        self.lines: list[list[tuple[str, Style]]] = []

    def write(self, text: str, style: Style) -> None:
        for ch in text:
            if self.col < len(self.cells):
                self.cells[self.col] = (ch, style)
            else:
                self.cells.append((ch, style))
            self.col += 1

    def move_to(self, col: int) -> None:
        while len(self.cells) < col:
            self.cells.append((" ", Style()))
        self.col = col

    def erase(self, mode: int) -> None:
        if mode == 0:
            del self.cells[self.col :]
        elif mode == 1:
            end = min(self.col + 1, len(self.cells))
            self.cells[:end] = [(" ", Style())] * end
        else:
            self.cells, self.col = [], 0

    def newline(self) -> None:
        self.lines.append(self.cells)
        self.cells, self.col = [], 0


def cells_of(line: Line) -> list[tuple[str, Style]]:
    return [(line[0][i], unpack(st)) for s, e, st in runs(line) for i in range(s, e)]


def test_overwrites_erases_and_moves_match_a_cell_by_cell_model() -> None:
    rnd = random.Random(15)
    styles = {
        "0": Style(),
        "0;31": Style(1),
        "0;1;42": Style(None, 2, BOLD),
        "0;7": Style(flags=REVERSE),
    }
    for _ in range(300):
        model, d, out, style = CellModel(), Decoder(), [], Style()
        for _ in range(rnd.randint(1, 25)):
            op = rnd.randrange(7)
            if op == 0:
                code = rnd.choice(list(styles))
                style = styles[code]
                out.append(f"\x1b[{code}m")
            elif op in (1, 2):
                text = "".join(rnd.choice("ab ") for _ in range(rnd.randint(1, 6)))
                model.write(text, style)
                out.append(text)
            elif op == 3:
                model.col = 0
                out.append("\r")
            elif op == 4:
                model.col = max(model.col - 1, 0)
                out.append("\b")
            elif op == 5:
                mode = rnd.randrange(3)
                model.erase(mode)
                out.append(f"\x1b[{mode}K")
            else:
                col = rnd.randint(1, 12)
                model.move_to(col - 1)
                out.append(f"\x1b[{col}G")
        model.newline()
        (line,) = d.feed("".join(out) + "\n")
        assert cells_of(line) == model.lines[0], repr("".join(out))
        spans = line[1]
        assert spans == () or (spans[0] == 0 and spans != (0, 0)), spans  # kept minimal
        assert all(spans[i] < spans[i + 2] for i in range(0, len(spans) - 2, 2))
        assert all(spans[i + 1] != spans[i + 3] for i in range(0, len(spans) - 2, 2))


def test_a_pathological_line_is_cut_at_the_cap() -> None:
    d = Decoder()
    lines = d.feed("\x1b[33m" + "y" * (2 * LINE_CAP + 5) + "\x1b[0m tail\n")
    assert [len(text) for text, _ in lines] == [LINE_CAP, LINE_CAP, 10]
    assert all(unpack(spans[1]).fg == 3 for _, spans in lines)
    assert lines[2][0] == "yyyyy tail"


def test_an_unterminated_string_swallows_only_itself() -> None:
    d = Decoder()
    assert d.feed("before\x1b]0;" + "t" * 100_000) == []
    assert d.partial()[0] == "before"
    assert [text for text, _ in d.feed("itle\x07 after\n")] == ["before after"]


def test_a_search_stays_right_as_lines_are_dropped_and_prepended() -> None:
    store = LineStore(max_lines=50)
    decoder = Decoder()

    def lines(start: int, stop: int) -> list[Line]:
        return decoder.feed("".join(f"n{i} a{'a' * (i % 3)}\n" for i in range(start, stop)))

    def expected() -> list[tuple[int, int]]:
        found = []
        for i in range(store.rows()):
            text = store.row(i)[0]
            found += [(store.first + i, m.start()) for m in re.finditer("A", text, re.I)]
        return found

    store.extend(lines(0, 40), decoder.partial())
    assert store.set_query("A") == len(expected())
    for start in range(40, 400, 7):  # drops at every step: the dead keys pile up, then go
        store.extend(lines(start, start + 7), decoder.partial())
        got = [store.match(i) for i in range(store.match_count)]
        assert got == expected(), start
    store.set_max_lines(80)
    store.prepend(Decoder().feed("old a\n" * 40))
    assert store.rows() == 80 and store.row(0)[0] == "old a"
    assert [store.match(i) for i in range(store.match_count)] == expected()
    assert store.match_index(store.first + 30, 0) == 30  # 30 old lines, one match each


# -- the widget --------------------------------------------------------------------


@pytest.fixture
def viewer(qtbot: Any) -> LogViewer:
    return make_viewer(qtbot)


def make_viewer(qtbot: Any, max_lines: int = 100_000) -> LogViewer:
    v = LogViewer(max_lines=max_lines)
    qtbot.addWidget(v)
    v.resize(700, 320)
    v.show()
    qtbot.waitExposed(v)
    return v


def numbered(start: int, stop: int) -> str:
    return "".join(f"line {i}\n" for i in range(start, stop))


def settle(qtbot: Any, v: LogViewer) -> None:
    """Wait as the person would: until the widget has decoded and repainted."""
    qtbot.waitUntil(lambda: v.pending() == 0 and not v._frame_timer.isActive(), timeout=5000)


def view_top(v: LogViewer) -> str:
    return v.line_text(v.first_visible_line())


def wheel(v: LogViewer, notches: int) -> None:
    vp = v._area.viewport()
    at = QPoint(vp.width() // 2, vp.height() // 2)
    event = QWheelEvent(
        QPointF(at), QPointF(vp.mapToGlobal(at)), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, M.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(vp, event)


def reddish(c: QColor) -> bool:
    return c.red() > 150 and c.green() < 90 and c.blue() < 90


def test_red_text_is_shown_red_not_as_escape_text(qtbot: Any, viewer: LogViewer) -> None:
    viewer.append("ok \x1b[31mfailed\x1b[0m here\n")
    assert viewer.line_text(0) == "ok failed here"
    runs = viewer.line_runs(0)
    assert [r.text for r in runs] == ["ok ", "failed", " here"]
    assert runs[1].fg == viewer._area.painter.colours.ansi[1] and runs[0].fg is None
    settle(qtbot, viewer)
    image = viewer._area.viewport().grab().toImage()
    area = viewer._area
    y = int(area.painter.lh / 2)
    red_x = [x for x in range(image.width()) if reddish(QColor(image.pixel(x, y)))]
    x_failed = area.painter.x(viewer._store.row(0), 3) + 4
    assert red_x and min(red_x) >= x_failed - 1 and max(red_x) <= x_failed + 6 * area.painter.cw


def test_escapes_split_across_appends_never_show(qtbot: Any, viewer: LogViewer) -> None:
    for i in range(0, len(NOISY) + 1):
        viewer.clear()
        viewer.append(NOISY[:i])
        viewer.append(NOISY[i:])
        texts = [viewer.line_text(k) for k in range(viewer.line_count())]
        assert texts == NOISY_TEXT, f"split at {i}"
    assert not any("\x1b" in t or "[" in t for t in texts)


def test_a_progress_bar_shows_its_last_state(qtbot: Any, viewer: LogViewer) -> None:
    for pct in range(0, 101, 5):
        viewer.append(f"\rpull layer: {'#' * (pct // 10):<10} {pct:3d}%")
        assert viewer.line_count() == 1
    assert viewer.line_text(0) == "pull layer: ########## 100%"
    viewer.append("\r\ndone\n")
    assert [viewer.line_text(i) for i in range(2)] == ["pull layer: ########## 100%", "done"]


def test_a_partial_line_shows_and_is_completed_by_the_next_append(
    qtbot: Any, viewer: LogViewer
) -> None:
    viewer.append("first\nhalf of a li")
    assert viewer.line_count() == 2 and viewer.line_text(1) == "half of a li"
    viewer.append("ne\x1b[3")
    assert viewer.line_text(1) == "half of a line"
    viewer.append("2mgreen\n")
    assert viewer.line_count() == 2
    assert [r.text for r in viewer.line_runs(1)] == ["half of a line", "green"]


def test_the_newest_max_lines_are_kept(qtbot: Any) -> None:
    v = make_viewer(qtbot, max_lines=100_000)
    line = "x" * 70
    for start in range(0, 150_000, 10_000):
        v.append("".join(f"{i + 1:08d} {line}\n" for i in range(start, start + 10_000)))
    assert v.line_count() == 100_000
    assert v.line_text(0).startswith("00050001 ")
    assert v.line_text(99_999).startswith("00150000 ")
    assert len(v._store.lines) == 100_000  # nothing else is held
    v.set_max_lines(10)
    assert v.line_count() == 10 and v.line_text(0).startswith("00149991 ")


def test_search_counts_highlights_and_wraps(qtbot: Any, viewer: LogViewer) -> None:
    viewer.resize(700, 600)  # room for two matches in sight
    viewer.append("".join(f"row {i} {'Error' if i % 10 == 3 else 'fine'}\n" for i in range(50)))
    assert viewer.search("error") == 5  # case-insensitive by default
    assert viewer._search.count.text().endswith("of 5")
    viewer._search.case.click()
    assert viewer.match_count == 0 and viewer._search.count.text() == "No matches"
    viewer._search.case.click()
    first = viewer.current_match()
    assert first is not None and viewer.line_text(first[0])[first[1] : first[2]] == "Error"
    seen = [first[0]]
    for _ in range(5):
        m = viewer.find_next()
        assert m is not None
        seen.append(m[0])
    assert sorted(set(seen)) == [3, 13, 23, 33, 43] and seen[-1] == seen[0]  # round, and back
    col = viewer.line_text(seen[-2]).index("Error")
    assert viewer.find_previous() == (seen[-2], col, col + 5)
    assert viewer._search.count.text() == f"{[3, 13, 23, 33, 43].index(seen[-2]) + 1} of 5"

    # The current match is in sight, and drawn apart from the others.
    settle(qtbot, viewer)
    line = (viewer.current_match() or (0, 0, 0))[0]
    top, rows = viewer.first_visible_line(), viewer._area.visible_rows()
    assert top <= line < top + rows
    other = next(n for n in range(top, top + rows) if "Error" in viewer.line_text(n) and n != line)
    image = viewer._area.viewport().grab().toImage()
    area = viewer._area

    def shade(n: int) -> int:
        """The colour just inside the left edge of the match on line n, above the letters."""
        x = area.painter.x(viewer._store.row(n), viewer.line_text(n).index("Error")) + 4 + 1
        return QColor(image.pixel(int(x), int((n - top) * area.painter.lh + 1))).rgb()

    plain = next(n for n in range(top, top + rows) if "Error" not in viewer.line_text(n))
    background = QColor(
        image.pixel(int(4 + 7 * area.painter.cw), int((plain - top) * area.painter.lh + 1))
    )
    assert len({shade(line), shade(other), background.rgb()}) == 3
    viewer.search("")
    assert viewer.match_count == 0 and viewer.current_match() is None


def test_search_keys_from_the_field(qtbot: Any, viewer: LogViewer) -> None:
    viewer.append("alpha\nbeta\nalpha beta\n")
    viewer._area.setFocus()
    QTest.keyClick(viewer._area, K.Key_F, M.ControlModifier)
    assert viewer._search.field.hasFocus()
    QTest.keyClicks(viewer._search.field, "beta")
    QTest.keyClick(viewer._search.field, K.Key_Return)  # before the typing pause: searched at once
    assert viewer.match_count == 2
    now = viewer.current_match()
    QTest.keyClick(viewer._search.field, K.Key_Return)
    assert viewer.current_match() != now
    QTest.keyClick(viewer._search.field, K.Key_Return, M.ShiftModifier)
    assert viewer.current_match() == now
    QTest.keyClick(viewer._area, K.Key_F3)
    assert viewer.current_match() != now
    QTest.keyClick(viewer._area, K.Key_F3, M.ShiftModifier)
    assert viewer.current_match() == now
    QTest.keyClick(viewer._search.field, K.Key_Escape)
    assert viewer._search.field.text() == "" and viewer.match_count == 0
    assert viewer._area.hasFocus()


def test_a_search_keeps_up_with_lines_coming_and_going(qtbot: Any) -> None:
    v = make_viewer(qtbot, max_lines=100)
    v.append(numbered(0, 100))
    assert v.search("line 9") == 11  # 9, 90-99
    v.append(numbered(100, 150))  # drops 0-49, so "line 9"; adds none
    assert v.match_count == 10
    v.append("line 9 again, unfinished")
    assert v.match_count == 11


def test_following_keeps_the_newest_line_in_sight(qtbot: Any, viewer: LogViewer) -> None:
    viewer.append(numbered(0, 500))
    settle(qtbot, viewer)
    assert viewer.following
    rows = viewer._area.visible_rows()
    assert viewer.first_visible_line() == 500 - rows
    viewer.append(numbered(500, 600))
    settle(qtbot, viewer)
    assert viewer.first_visible_line() == 600 - rows
    assert viewer._area.verticalScrollBar().value() == viewer._area.verticalScrollBar().maximum()


def test_scrolled_up_the_text_in_sight_stays_put(qtbot: Any) -> None:
    v = make_viewer(qtbot, max_lines=1000)
    v.append(numbered(0, 1000))
    settle(qtbot, v)
    changes: list[bool] = []
    v.follow_changed.connect(changes.append)
    wheel(v, 5)  # up, as a person reads back
    assert not v.following and changes == [False]
    top = view_top(v)
    v.append(numbered(1000, 1200))  # 200 more: the oldest 200 dropped by the bound
    settle(qtbot, v)
    assert v.line_text(0) == "line 200"
    assert view_top(v) == top
    assert v._area.indicator.isVisible()
    assert "200 new lines" in v._area.indicator.text()
    # The scroll bar moved with it, so dragging it does not jump.
    bar = v._area.verticalScrollBar()
    assert v.line_text(bar.value()) == top
    QTest.keyClick(v._area, K.Key_End)
    assert v.following and changes == [False, True]
    assert not v._area.indicator.isVisible()
    settle(qtbot, v)
    assert v.first_visible_line() == 1000 - v._area.visible_rows()


def test_dragging_the_scroll_bar_pauses_and_the_indicator_resumes(
    qtbot: Any, viewer: LogViewer
) -> None:
    viewer.append(numbered(0, 300))
    settle(qtbot, viewer)
    bar = viewer._area.verticalScrollBar()
    bar.setValue(100)  # as a drag of the slider sets it
    assert not viewer.following and view_top(viewer) == "line 100"
    viewer.append(numbered(300, 310))
    settle(qtbot, viewer)
    assert view_top(viewer) == "line 100"
    assert "10 new lines" in viewer._area.indicator.text()
    qtbot.mouseClick(viewer._area.indicator, Qt.MouseButton.LeftButton)
    assert viewer.following
    bar.setValue(50)
    bar.setValue(bar.maximum())  # dragged back to the bottom
    assert viewer.following
    wheel(viewer, 2)
    assert not viewer.following
    wheel(viewer, -3)  # down past the bottom
    assert viewer.following


def test_keys_scroll(qtbot: Any, viewer: LogViewer) -> None:
    viewer.append(numbered(0, 300))
    settle(qtbot, viewer)
    area = viewer._area
    rows = area.visible_rows()
    QTest.keyClick(area, K.Key_PageUp)
    assert viewer.first_visible_line() == 300 - 2 * rows and not viewer.following
    QTest.keyClick(area, K.Key_Up)
    assert viewer.first_visible_line() == 300 - 2 * rows - 1
    QTest.keyClick(area, K.Key_Home)
    assert viewer.first_visible_line() == 0
    QTest.keyClick(area, K.Key_PageDown)
    QTest.keyClick(area, K.Key_Down)
    assert viewer.first_visible_line() == rows + 1
    QTest.keyClick(area, K.Key_End)
    assert viewer.following


def test_prepending_keeps_the_view_put_and_the_bound(qtbot: Any) -> None:
    v = make_viewer(qtbot, max_lines=300)
    v.append(numbered(1000, 1200))
    settle(qtbot, v)
    v._area.verticalScrollBar().setValue(20)
    assert view_top(v) == "line 1020" and not v.following
    v.prepend(numbered(900, 1000))
    settle(qtbot, v)
    assert v.line_count() == 300 and v.line_text(0) == "line 900"
    assert view_top(v) == "line 1020"
    v.prepend(numbered(0, 900))  # no room left: nothing of it is kept
    assert v.line_count() == 300 and v.line_text(0) == "line 900"
    v.append(numbered(1200, 1210))  # the newest are never the ones dropped
    assert v.line_text(v.line_count() - 1) == "line 1209" and v.line_text(0) == "line 910"
    assert view_top(v) == "line 1020"

    w = make_viewer(qtbot, max_lines=150)
    w.append(numbered(100, 200))
    w.prepend(numbered(0, 100) + "unterminated")  # only the newest 50 fit, as whole lines
    assert w.line_count() == 150
    assert [w.line_text(i) for i in (0, 48, 49, 50)] == [
        "line 51",
        "line 99",
        "unterminated",
        "line 100",
    ]


def test_save_writes_the_plain_text(qtbot: Any, viewer: LogViewer, tmp_path: Path) -> None:
    viewer.append("\x1b]0;t\x07\x1b[1;32mgreen ✓\x1b[0m\r\nplain\npartial")
    out = tmp_path / "log.txt"
    viewer.save_to(out)
    assert out.read_bytes() == "green ✓\nplain\npartial\n".encode()


def test_the_earlier_button(qtbot: Any, viewer: LogViewer) -> None:
    button = viewer._earlier
    assert not button.isVisible()
    viewer.set_earlier_available(True)
    assert button.isVisible()
    with qtbot.waitSignal(viewer.earlier_requested, timeout=1000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    viewer.set_earlier_busy(True)
    assert button.text() == "Loading…" and not button.isEnabled()
    viewer.set_earlier_busy(False)
    assert button.isEnabled()
    viewer.set_earlier_available(False)
    assert not button.isVisible()


def test_a_selection_copies_plain_text(qtbot: Any, viewer: LogViewer) -> None:
    viewer.append("\x1b[31mfirst line\x1b[0m\nsecond line\nthird\n")
    settle(qtbot, viewer)
    area = viewer._area
    vp = area.viewport()
    lh, cw = area.painter.lh, area.painter.cw

    def at(col: int, row: int) -> QPoint:
        return QPoint(int(4 + col * cw), int(row * lh + lh / 2))

    QTest.mousePress(vp, Qt.MouseButton.LeftButton, M.NoModifier, at(6, 0))
    QTest.mouseMove(vp, at(6, 1))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, M.NoModifier, at(6, 1))
    assert viewer.selected_text() == "line\nsecond"
    QGuiApplication.clipboard().setText("")
    QTest.keyClick(area, K.Key_C, M.ControlModifier)
    assert QGuiApplication.clipboard().text() == "line\nsecond"


def test_a_flood_is_decoded_over_many_turns(qtbot: Any, viewer: LogViewer) -> None:
    flood = "".join(f"\x1b[2m{i}\x1b[0m \x1b[32mINFO\x1b[0m request done\n" for i in range(60_000))
    viewer.append(flood)
    assert viewer.pending() == len(flood)  # append only queued it
    qtbot.waitUntil(lambda: 0 < viewer.pending() < len(flood), timeout=5000)
    settle(qtbot, viewer)
    assert viewer.line_count() == 60_000 and viewer.line_text(59_999) == "59999 INFO request done"


def test_absurd_numbers_in_escapes_lose_no_line(viewer: LogViewer) -> None:
    """A program in the sandbox may print anything: 5,000 digits in an SGR (Python
    refuses to convert over 4,300), or a byte that is not a parameter, cost no line."""
    viewer.append("line one\nline two\n\x1b[" + "1" * 5000 + "m bad\n\x1b[38;5;" + "9" * 5000)
    viewer.append("m worse\n\x1b[²m odd\n\x1b[" + "7" * 20 + "G far\nline after\n")
    texts = [viewer.line_text(i) for i in range(viewer.line_count())]
    assert texts[:5] == ["line one", "line two", " bad", " worse", "²m odd"]
    assert texts[-1] == "line after"
    assert not any("\x1b" in t for t in texts)


def test_the_store_is_bounded_by_characters_too() -> None:
    store = LineStore(max_lines=1000, max_total_chars=1000)
    store.extend([("x" * 100, ()) for _ in range(50)], ("", ()))
    assert store.rows() == 10 and store.total_chars == 1000  # the newest ten
    assert store.first == 40
    # Older lines fetched later take only the room the characters leave.
    store2 = LineStore(max_lines=1000, max_total_chars=1000)
    store2.extend([("y" * 100, ()) for _ in range(8)], ("", ()))
    assert store2.prepend([("z" * 100, ()) for _ in range(5)]) == 2
    assert store2.total_chars == 1000

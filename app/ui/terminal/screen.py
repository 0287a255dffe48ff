"""The emulator's screen: pyte's Screen with what tmux needs, and a fast one.

No Qt here. :class:`ReferenceScreen` is pyte's screen plus what it lacks
(dim, SU/SD, DECSCUSR, the keypad mode, replies and title changes to
callbacks), drawing and erasing with pyte's own methods. :class:`FastScreen`
replaces the hot ones, ``draw`` (``wcwidth`` and a namedtuple ``_replace``
per character in pyte) and ``erase_in_line``/``erase_in_display`` (a Python
loop per cell), with paths that write whole runs of cells, and must give
the same cells as :class:`ReferenceScreen` for any input; the tests check
that on tmux-like streams. ``emulator.py`` has the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

import pyte
from pyte import modes as mo
from pyte.screens import Char as PyteChar


class Char(NamedTuple):
    """One cell: pyte's fields in pyte's order, then ``dim`` (SGR 2)."""

    data: str
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False


# Private modes as pyte stores them in ``screen.mode`` (shifted by 5 bits).
APP_CURSOR = 1 << 5
CURSOR_BLINK = 12 << 5
CURSOR_VISIBLE = mo.DECTCEM
MOUSE_X10 = 9 << 5
MOUSE_CLICKS = 1000 << 5
MOUSE_DRAG = 1002 << 5
MOUSE_MOTION = 1003 << 5
MOUSE_UTF8 = 1005 << 5
MOUSE_SGR = 1006 << 5
BRACKETED_PASTE = 2004 << 5
SYNCHRONIZED = 2026 << 5

CURSOR_SHAPES = ("block", "underline", "bar")

_IDENTITY = pyte.charsets.LAT1_MAP  # str.translate with it changes nothing
_CELL_CACHE_LIMIT = 512  # attribute sets kept; true-colour output can make many


_BLANK = cast(PyteChar, Char(" "))
_BLANK_REVERSE = cast(PyteChar, Char(" ", reverse=True))


class _Cells(dict[str, PyteChar]):
    """The cells of one attribute set, by character; made on first use."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: Char) -> None:
        super().__init__()
        self.attrs = attrs

    def __missing__(self, data: str) -> PyteChar:
        cell = cast(PyteChar, self.attrs._replace(data=data))
        self[data] = cell
        return cell


class ReferenceScreen(pyte.Screen):
    """pyte's screen with what it lacks added, and pyte's own drawing and erasing.

    The fast screen below must give the same cells as this one.
    """

    def __init__(self, columns: int, lines: int) -> None:
        self.keypad_application = False
        self.cursor_shape = "block"
        self.reply: Callable[[str], None] = lambda _text: None
        self.title_changed: Callable[[str], None] = lambda _title: None
        super().__init__(columns, lines)

    @property
    def default_char(self) -> PyteChar:
        # Made per new line (pyte's buffer default), so two prebuilt ones.
        return _BLANK_REVERSE if mo.DECSCNM in self.mode else _BLANK

    def reset(self) -> None:
        super().reset()
        # pyte's Cursor() takes pyte's Char; ours carries ``dim``.
        self.cursor.attrs = self.default_char
        self.keypad_application = False
        self.cursor_shape = "block"

    def set_title(self, param: str) -> None:
        changed = param != self.title
        super().set_title(param)
        if changed:
            self.title_changed(param)

    def write_process_input(self, data: str) -> None:
        self.reply(data)

    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        """pyte's SGR plus dim: 2 sets it, 22 and 0 clear it, the last one wins."""
        if kwargs.get("private"):
            return  # ``CSI ? ... m`` is not SGR
        rest: list[int] = []
        dim: bool | None = None
        i, n = 0, len(attrs)
        while i < n:
            attr = attrs[i]
            if attr in (38, 48):  # 38;5;n and 38;2;r;g;b: their numbers are not SGRs
                kind = attrs[i + 1] if i + 1 < n else None
                take = 3 if kind == 5 else 5 if kind == 2 else 2
                rest.extend(attrs[i : i + take])
                i += take
                continue
            if attr == 2:
                dim = True
            else:
                if attr in (0, 22):
                    dim = False
                rest.append(attr)
            i += 1
        if rest or not attrs:  # an empty list means reset to pyte; a lone 2 must not
            super().select_graphic_rendition(*rest)
        if dim is not None:
            attrs_now = cast(Char, self.cursor.attrs)
            self.cursor.attrs = cast(PyteChar, attrs_now._replace(dim=dim))

    def report_device_status(self, mode: int = 0, **kwargs: Any) -> None:
        if kwargs.get("private"):
            return  # DECXCPR and friends: not answered
        if mode == 6 and self.cursor.x >= self.columns:
            # pyte would report the pending-wrap column (columns + 1); xterm the last one.
            x, self.cursor.x = self.cursor.x, self.columns - 1
            super().report_device_status(mode)
            self.cursor.x = x
            return
        super().report_device_status(mode)

    def set_keypad_application(self) -> None:
        self.keypad_application = True

    def set_keypad_numeric(self) -> None:
        self.keypad_application = False

    def set_cursor_style(self, style: int = 0, **kwargs: Any) -> None:
        """DECSCUSR: 0/1 blinking block, 2 steady block, 3/4 underline, 5/6 bar."""
        if kwargs.get("private") or style > 6:
            return
        self.cursor_shape = CURSOR_SHAPES[max(style - 1, 0) // 2]
        blink = style in (0, 1, 3, 5)
        (self.mode.add if blink else self.mode.discard)(CURSOR_BLINK)

    def scroll_up(self, count: int = 0, **kwargs: Any) -> None:
        """SU: the scroll region moves up ``count`` lines; blank lines come in at the bottom."""
        if kwargs.get("private"):
            return
        top, bottom = self.margins or (0, self.lines - 1)
        count = min(count or 1, bottom - top + 1)
        buffer = self.buffer
        for y in range(top, bottom + 1):
            if y + count <= bottom and y + count in buffer:
                buffer[y] = buffer.pop(y + count)
            else:
                buffer.pop(y, None)
        self.dirty.update(range(top, bottom + 1))

    def scroll_down(self, count: int = 0, *rest: int, **kwargs: Any) -> None:
        """SD: the region moves down; with five parameters it is mouse tracking, ignored."""
        if kwargs.get("private") or rest:
            return
        top, bottom = self.margins or (0, self.lines - 1)
        count = min(count or 1, bottom - top + 1)
        buffer = self.buffer
        for y in range(bottom, top - 1, -1):
            if y - count >= top and y - count in buffer:
                buffer[y] = buffer.pop(y - count)
            else:
                buffer.pop(y, None)
        self.dirty.update(range(top, bottom + 1))


class FastScreen(ReferenceScreen):
    """The same screen with the hot methods writing runs of cells at once."""

    def __init__(self, columns: int, lines: int) -> None:
        self._cells: dict[Char, _Cells] = {}
        super().__init__(columns, lines)

    def draw(self, data: str) -> None:
        # The fast path: printable ASCII (one cell each, no combining, no
        # wcwidth), no insert mode, no charset translation.
        charset = self.g1_charset if self.charset else self.g0_charset
        if not (data.isascii() and data.isprintable()) or charset is not _IDENTITY:
            super().draw(data)
            return
        mode = self.mode
        if mo.IRM in mode:
            super().draw(data)
            return
        cursor = self.cursor
        attrs = cast(Char, cursor.attrs)
        cells = self._cells.get(attrs)
        if cells is None:
            if len(self._cells) >= _CELL_CACHE_LIMIT:
                self._cells.clear()
            cells = self._cells[attrs] = _Cells(attrs)
        columns = self.columns
        x, n = cursor.x, len(data)
        if x + n <= columns:  # the common case: the text fits on the line
            self.buffer[cursor.y].update(
                zip(range(x, x + n), map(cells.__getitem__, data), strict=True)
            )
            cursor.x = x + n
            self.dirty.add(cursor.y)
            return
        wrap = mo.DECAWM in mode
        i = 0
        while i < n:
            if cursor.x >= columns:
                if not wrap:
                    # pyte writes each further character over the last column.
                    self.buffer[cursor.y][columns - 1] = cells[data[-1]]
                    cursor.x = columns
                    break
                self.dirty.add(cursor.y)
                self.carriage_return()
                self.linefeed()
            x = cursor.x
            take = min(n - i, columns - x)
            line = self.buffer[cursor.y]
            line.update(
                zip(range(x, x + take), map(cells.__getitem__, data[i : i + take]), strict=True)
            )
            cursor.x = x + take
            i += take
        self.dirty.add(cursor.y)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        x = self.cursor.x
        if how == 0:
            interval = range(x, self.columns)
        elif how == 1:
            interval = range(x + 1)
        elif how == 2:
            interval = range(self.columns)
        else:
            return  # pyte would fail on an unbound name
        self.dirty.add(self.cursor.y)
        line = self.buffer[self.cursor.y]
        attrs = self.cursor.attrs
        if attrs != line.default:
            line.update(dict.fromkeys(interval, attrs))
            return
        # Erasing to the line's default: a missing cell reads as that, so drop
        # the few cells written instead of writing every erased one. pyte
        # would hold those cells (a later erase-in-display rewrites the cells
        # a line holds), so the line remembers them as ghosts: see _Ghosts.
        for k in [k for k in line if k in interval]:
            del line[k]
        ghosts = _Ghosts.of(line)
        if interval.start == 0:
            ghosts.prefix_stop = max(ghosts.prefix_stop, interval.stop)
        if interval.stop == self.columns:
            if ghosts.suffix_stop:
                ghosts.suffix_start = min(ghosts.suffix_start, interval.start)
            else:
                ghosts.suffix_start = interval.start
            ghosts.suffix_stop = interval.stop

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        y = self.cursor.y
        if how == 0:
            interval = range(y + 1, self.lines)
        elif how == 1:
            interval = range(y)
        elif how in (2, 3):
            interval = range(self.lines)
        else:
            return
        self.dirty.update(interval)
        attrs = self.cursor.attrs
        for row in interval:
            # As pyte does: only cells the line holds take the cursor's
            # attributes; the others keep reading the line's default.
            line = self.buffer[row]
            _Ghosts.materialize(line)
            line.update(dict.fromkeys(line, attrs))
        if how in (0, 1):
            self.erase_in_line(how)

    # pyte's other methods that drop cells from a line: the ghosts become
    # real cells first, so they drop what pyte drops.

    def insert_characters(self, count: int | None = None) -> None:
        _Ghosts.materialize(self.buffer[self.cursor.y])
        super().insert_characters(count)

    def delete_characters(self, count: int | None = None) -> None:
        _Ghosts.materialize(self.buffer[self.cursor.y])
        super().delete_characters(count)

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        for line in self.buffer.values():
            _Ghosts.materialize(line)
        super().resize(lines, columns)


class _Ghosts:
    """Cells pyte would hold in a line that the fast erase dropped.

    Invariant: pyte's cells of a line are the line's own plus the ghost
    ranges, and a ghost cell's value is the line's default (it was erased
    to that; DECSCNM changes both alike). Erases of a line reach its end
    (``[x, columns)``) or start at 0 (``[0, x]``), and a resize turns ghosts
    into cells first, so two numbers describe them.
    """

    __slots__ = ("prefix_stop", "suffix_start", "suffix_stop")

    def __init__(self) -> None:
        self.prefix_stop = 0  # ghosts in [0, prefix_stop)
        self.suffix_start = self.suffix_stop = 0  # and in [suffix_start, suffix_stop)

    @staticmethod
    def of(line: Any) -> _Ghosts:
        ghosts: _Ghosts | None = line.__dict__.get("ghosts")
        if ghosts is None:
            ghosts = line.ghosts = _Ghosts()
        return ghosts

    @staticmethod
    def materialize(line: Any) -> None:
        ghosts: _Ghosts | None = line.__dict__.pop("ghosts", None)
        if ghosts is None:
            return
        default = line.default
        for k in range(ghosts.prefix_stop):
            line.setdefault(k, default)
        for k in range(ghosts.suffix_start, ghosts.suffix_stop):
            line.setdefault(k, default)

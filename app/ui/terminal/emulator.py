"""A terminal emulator: pyte's parser over a screen with fast paths and the modes tmux uses.

No Qt here: bytes in, a grid of :class:`Char` and a few callbacks out, so it
is tested by feeding bytes.

Speed. pyte 0.8.2 alone parses what tmux 3.3a sends to an attached 120x40
client during ``seq 1 700000`` (708 KB) at 0.54 MB/s; cProfile puts most of
the time in the screen: ``Screen.erase_in_line`` (a Python loop per erased
cell) and ``Screen.draw`` (``wcwidth`` and a namedtuple ``_replace`` per
character). :class:`FastScreen` replaces those two (and
``erase_in_display``) with paths that write whole runs of cells at once.
With the screen fixed the parser's generator, one ``send`` per character of
every escape sequence, was most of what remained, so :class:`Emulator` also
takes the commonest pieces in the ground state (text runs, plain CSI
sequences, CR/LF/BS) with one regex match each and hands them to the same
handlers; everything else still goes through pyte's parser. Results are
equal cell for cell to ``Emulator(fast=False)`` (pyte's own parser and
methods plus the additions below), which the tests check on tmux-like
streams. Best of 3 on that recording, 120x40: plain pyte 0.69 MB/s, this
1.73 MB/s (2.5x); ``tests/bench/bench_emulator.py`` measures it on a fresh
recording from tmux.

What pyte lacks and this adds (pyte's stream binds handlers from its class
dicts ``basic``/``escape``/``csi`` when a screen is attached, so the
subclass extends those dicts):

- SGR 2/22 (dim), kept in an extra ``dim`` field of :class:`Char`;
- SU/SD (``CSI n S``/``CSI n T``): tmux scrolls with them;
- DECSCUSR (``CSI Ps SP q``: pyte's parser drops the space), ESC = / ESC >;
- private modes read back as properties (cursor keys, cursor visibility and
  blinking, mouse reporting, bracketed paste, synchronized output);
- ``CSI > ...``, ``CSI = ...`` and ``CSI < ...``, which pyte's parser would
  take for the sequence without the ``>`` (``CSI > 4;1m`` for SGR 4;1),
  are taken out before the parser sees them; ``CSI > c`` is answered;
- replies (device attributes, cursor position) and title changes go to
  callbacks.

Not handled (pyte has no place for them, and tmux as the only client does
not need them): the alternate screen (?1049), scrollback, colon
sub-parameters in SGR (``38:2::r:g:b``), the DEC line-drawing charset in
UTF-8 mode.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import pyte
from pyte import modes as mo
from pyte.screens import Char as PyteChar

log = logging.getLogger(__name__)


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

# The secondary device attributes we answer to ``CSI > c``: a VT220 ("1"),
# firmware 10, no options: claims no extension, so tmux enables none.
SECONDARY_DA = "\x1b[>1;10;0c"

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


class TerminalStream(pyte.Stream):
    """pyte's text parser with the sequences it lacks bound to the screen's handlers."""

    # pyte declares these as plain class attributes; a ClassVar would not match.
    escape = {  # noqa: RUF012
        **pyte.Stream.escape,
        "=": "set_keypad_application",
        ">": "set_keypad_numeric",
    }
    csi = {  # noqa: RUF012
        **pyte.Stream.csi,
        "S": "scroll_up",
        "T": "scroll_down",
        "q": "set_cursor_style",
    }


# CSI with a leading <, = or >: pyte's parser drops (or chokes on) that byte.
_MARKED_CSI = re.compile(r"\x1b\[([<=>])([0-9;:]*)[ -/]*([@-~])")
# The start of one at the end of a chunk: kept until the rest arrives.
_MARKED_TAIL = re.compile(r"\x1b(?:\[(?:[<=>][0-9;: -/]*)?)?\Z")
_TAIL_LIMIT = 64  # a longer "sequence" is not one; let the parser have it

# The ground-state fast lane: a run of text (pyte's own pattern), a plain CSI
# (digits and semicolons, maybe "?"), or a cursor-moving control. pyte's
# generator takes these one character per ``send``; parsed here with one
# regex match each, they reach the same handlers with the same arguments.
_FAST = re.compile(
    "(" + pyte.Stream._text_pattern.pattern + r")|\x1b\[(\??)([0-9;]*)([@-~])|([\r\n\x08])"
)


class Emulator:
    """Bytes in, a screen out. ``on_reply`` gets what the terminal answers the program."""

    def __init__(
        self,
        cols: int = 80,
        rows: int = 24,
        *,
        on_reply: Callable[[bytes], None] | None = None,
        on_title: Callable[[str], None] | None = None,
        fast: bool = True,
    ) -> None:
        """``fast=False`` is pyte's own parsing and drawing (the reference the tests compare)."""
        self.on_reply = on_reply
        self.on_title = on_title
        self.fast = fast
        self._screen_class: type[ReferenceScreen] = FastScreen if fast else ReferenceScreen
        self._carry = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.screen = self._screen_class(max(cols, 1), max(rows, 1))
        self.stream = TerminalStream(self.screen)
        self._wire()

    # -- the public API ----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        text = self._carry + self._decoder.decode(data)
        self._carry = ""
        tail = _MARKED_TAIL.search(text, max(len(text) - _TAIL_LIMIT, 0))
        if tail:
            self._carry, text = text[tail.start() :], text[: tail.start()]
        start = 0
        for m in _MARKED_CSI.finditer(text):
            self._parse(text[start : m.start()])
            self._marked_csi(m.group(1), m.group(2), m.group(3))
            start = m.end()
        self._parse(text[start:] if start else text)

    def resize(self, cols: int, rows: int) -> None:
        screen = self.screen
        screen.resize(lines=max(rows, 1), columns=max(cols, 1))
        # pyte leaves the cursor where it was, possibly outside the new size.
        screen.cursor.x = min(screen.cursor.x, screen.columns)
        screen.cursor.y = min(screen.cursor.y, screen.lines - 1)
        screen.dirty.update(range(screen.lines))

    def reset(self) -> None:
        """A fresh terminal at the current size (for a new attach)."""
        self._carry = ""
        self._decoder.reset()
        self.screen = self._screen_class(self.screen.columns, self.screen.lines)
        self.stream = TerminalStream(self.screen)
        self._wire()

    @property
    def cols(self) -> int:
        return self.screen.columns

    @property
    def rows(self) -> int:
        return self.screen.lines

    @property
    def title(self) -> str:
        return self.screen.title

    def cell(self, x: int, y: int) -> Char:
        return cast(Char, self.screen.buffer[y][x])

    def display(self) -> list[str]:
        return self.screen.display

    @property
    def app_cursor(self) -> bool:
        return APP_CURSOR in self.screen.mode

    @property
    def app_keypad(self) -> bool:
        return self.screen.keypad_application

    @property
    def cursor_visible(self) -> bool:
        return not self.screen.cursor.hidden

    @property
    def cursor_blink(self) -> bool:
        return CURSOR_BLINK in self.screen.mode

    @property
    def cursor_shape(self) -> str:
        """``block``, ``underline`` or ``bar`` (DECSCUSR)."""
        return self.screen.cursor_shape

    @property
    def mouse_mode(self) -> int:
        """The mouse reporting the program asked for: 0, 9, 1000, 1002 or 1003 (the widest)."""
        mode = self.screen.mode
        for number, flag in ((1003, MOUSE_MOTION), (1002, MOUSE_DRAG), (1000, MOUSE_CLICKS)):
            if flag in mode:
                return number
        return 9 if MOUSE_X10 in mode else 0

    @property
    def mouse_sgr(self) -> bool:
        return MOUSE_SGR in self.screen.mode

    @property
    def bracketed_paste(self) -> bool:
        return BRACKETED_PASTE in self.screen.mode

    @property
    def synchronized(self) -> bool:
        return SYNCHRONIZED in self.screen.mode

    # -- internals ---------------------------------------------------------------

    def _wire(self) -> None:
        screen = self.screen
        screen.reply = self._reply
        screen.title_changed = self._title
        self._csi = {final: getattr(screen, name) for final, name in TerminalStream.csi.items()}
        self._basic = {char: getattr(screen, TerminalStream.basic[char]) for char in "\r\n\x08"}

    def _reply(self, text: str) -> None:
        if self.on_reply is not None:
            self.on_reply(text.encode())

    def _title(self, title: str) -> None:
        if self.on_title is not None:
            self.on_title(title)

    def _parse(self, text: str) -> None:
        if not self.fast:
            self._pyte(text)
            return
        stream, draw, csi, basic = self.stream, self.screen.draw, self._csi, self._basic
        match = _FAST.match
        pos, n = 0, len(text)
        while pos < n:
            m = match(text, pos) if stream._taking_plain_text else None
            if m is None:
                # Anything else (and whatever the parser is in the middle
                # of) goes to pyte's parser, up to the next escape.
                end = text.find("\x1b", pos + 1)
                end = n if end < 0 else end
                self._pyte(text[pos:end])
                pos = end
                continue
            pos = m.end()
            kind = m.lastindex
            try:
                if kind == 1:
                    draw(m[1])
                elif kind == 5:
                    basic[m[5]]()
                else:
                    handler = csi.get(m[4])
                    params = [min(int(p or 0), 9999) for p in m[3].split(";")]
                    if handler is None:
                        self.screen.debug(*params)
                    elif m[2]:
                        handler(*params, private=True)
                    else:
                        handler(*params)
            except Exception:
                log.debug("the emulator dropped a sequence", exc_info=True)

    def _pyte(self, text: str) -> None:
        if not text:
            return
        try:
            self.stream.feed(text)
        except Exception:
            # A pyte handler that fails on an odd sequence resets its parser
            # and loses the rest of this piece; the terminal carries on.
            log.debug("the emulator dropped a sequence", exc_info=True)

    def _marked_csi(self, marker: str, params: str, final: str) -> None:
        if marker == ">" and final == "c" and params in ("", "0"):
            self._reply(SECONDARY_DA)
        # Everything else (XTVERSION, modifyOtherKeys, kitty keyboard): not ours.

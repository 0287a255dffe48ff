"""A program's terminal output decoded into lines of styled plain text. No Qt.

:class:`Decoder` is fed text in chunks split anywhere (mid-line, mid-escape
sequence) and hands back the lines completed so far; the line still being
written is :meth:`Decoder.partial`. It is a log's model of a terminal, not
a terminal:

- SGR (``CSI ... m``) becomes :class:`Style`: the 16 colours and their bright
  forms, 256 colours (``38;5;n``), true colour (``38;2;r;g;b``, also with
  colons), bold, dim, italic, underline, reverse, strike, and their resets.
  The style carries on across lines, as a terminal's does.
- A line has a column. Text overwrites from the column on, so ``\\r`` (back
  to column 0) then new text shows a progress bar's last state, and
  backspace moves the column one left. Within the line, ``CSI G`` (column),
  ``CSI C``/``CSI D`` (right/left) and ``CSI K`` (erase) are followed,
  because spinners redraw with them (Node's readline writes ``CSI 2K CSI
  1G``); ``CSI 2K`` empties the line and goes to column 0 (a log line does
  not start with the blanks a terminal would leave there).
- Every other movement (up, down, to a row, scroll regions), mode and
  screen operation is dropped, not emulated: a full-screen redraw shows as
  its text, line after line. The terminal tab shows the screen; this shows
  what was written.
- All other escapes are removed whole: every CSI (private ``?``, ``>``,
  ``<``, ``=`` ones too), OSC up to BEL or ST, DCS/SOS/PM/APC up to ST,
  two-byte and charset escapes (``ESC 7``, ``ESC =``, ``ESC ( B``). Of the
  C0 controls only LF, CR, tab and backspace act; the rest, DEL and the C1
  range (U+0080-U+009F, which UTF-8 programs do not use as controls) are
  dropped. No escape character or fragment of a sequence reaches the text,
  however the input is split.
- A tab moves to the next multiple of 8 columns, written as spaces (so a
  copied or saved line looks as it did).
- A line longer than :data:`LINE_CAP` is cut there, the rest continuing on
  the next line, so one pathological line never stalls painting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

# 10,000 characters: two orders of magnitude over any line a person reads
# whole, and small enough that laying one out stays well under a frame.
# The viewer packs a column into 14 bits (16,384), so this must stay below.
LINE_CAP = 10_000
TAB = 8  # columns per tab stop, as every terminal sets them by default
# A CSI's parameters are a few numbers; past this many characters the
# sequence is garbage and is dropped as it comes, not held for its end.
CSI_HOLD_CAP = 1024

# Flags of a style.
BOLD, DIM, ITALIC, UNDERLINE, REVERSE, STRIKE = 1, 2, 4, 8, 16, 32

Colour = int | tuple[int, int, int] | None  # a palette index 0-255, an (r, g, b), or the default

# A style is one int: flags in bits 0-5, then the foreground and the
# background, 25 bits each (0 the default, 1-256 a palette index + 1,
# 2**24 + rgb a true colour). Lines are plain tuples of str and ints, which
# the garbage collector stops tracking: 100,000 lines held are then no
# work for its full collections (as tuples of NamedTuples they were ~400,000
# tracked objects, and a full collection took ~40 ms here).
StyleCode = int
DEFAULT = 0
_FLAG_BITS, _COLOUR_BITS = 6, 25
_TRUE = 1 << 24
_FLAG_MASK, _COLOUR_MASK = (1 << _FLAG_BITS) - 1, (1 << _COLOUR_BITS) - 1
# (text, spans). Spans are flat pairs (start, style, start, style, ...): each
# style holds from its start to the next start or the end. Empty when the
# whole line is in the default style, else the first start is 0.
Spans = tuple[int, ...]
Line = tuple[str, Spans]


class Style(NamedTuple):
    """A style code, unpacked."""

    fg: Colour = None
    bg: Colour = None
    flags: int = 0


def pack(style: Style) -> StyleCode:
    fg, bg, flags = style
    return flags | _pack_colour(fg) << _FLAG_BITS | _pack_colour(bg) << (_FLAG_BITS + _COLOUR_BITS)


@lru_cache(maxsize=4096)
def unpack(code: StyleCode) -> Style:
    fg = code >> _FLAG_BITS & _COLOUR_MASK
    bg = code >> (_FLAG_BITS + _COLOUR_BITS) & _COLOUR_MASK
    return Style(_unpack_colour(fg), _unpack_colour(bg), code & _FLAG_MASK)


def _pack_colour(c: Colour) -> int:
    if c is None:
        return 0
    if isinstance(c, tuple):
        r, g, b = c
        return _TRUE | r << 16 | g << 8 | b
    return c + 1


def _unpack_colour(v: int) -> Colour:
    if not v:
        return None
    if v & _TRUE:
        return (v >> 16 & 0xFF, v >> 8 & 0xFF, v & 0xFF)
    return v - 1


def runs(line: Line) -> list[tuple[int, int, StyleCode]]:
    """(start, end, style) of each stretch of one style of the line, in order."""
    return _runs(line[1], len(line[0]))


def _runs(spans: Sequence[int], length: int) -> list[tuple[int, int, StyleCode]]:
    if not spans:
        return [(0, length, DEFAULT)] if length else []
    starts = spans[0::2]
    ends = [*starts[1:], length]
    return [(s, e, st) for s, e, st in zip(starts, ends, spans[1::2], strict=True) if e > s]


_GROUND, _STRING, _CSI_IGNORE = 0, 1, 2
# What stops a stretch of plain text: every control but LF, DEL, C1. A whole
# SGR is found in the same search, as it is most of the escapes in a log.
_SPECIAL = re.compile(r"\x1b\[([0-9;:]*)m|[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_CSI_BODY = re.compile(r"([\x30-\x3f]*)([\x20-\x2f]*)")
_INTERMEDIATES = re.compile(r"[\x20-\x2f]*")
# A string (OSC, DCS, ...) ends at BEL, ST (ESC \ or its C1 form), or CAN/SUB;
# any ESC ends it, as in the VT500 parser: ESC \ is then a two-byte escape.
_STRING_END = re.compile(r"[\x07\x18\x1a\x1b\x9c]")
_CSI_IGNORE_END = re.compile(r"[^\x20-\x3f]")
_NUMBERS = re.compile(r"[0-9;:]*")


class Decoder:
    """Incremental: ``feed`` returns the lines completed by this chunk."""

    def __init__(self) -> None:
        self._out: list[Line] = []
        self._text = ""
        self._spans: list[int] = []  # flat (start, style) pairs, as in Line
        self._col = 0
        self._style = DEFAULT
        self._hold = ""  # an escape sequence cut off at the end of the last chunk
        self._state = _GROUND

    # -- the public API ----------------------------------------------------------

    @property
    def style(self) -> Style:
        """The style the next character is written in."""
        return unpack(self._style)

    def feed(self, text: str) -> list[Line]:
        out = self._out = []
        data = self._hold + text if self._hold else text
        self._hold = ""
        n = len(data)
        pos = self._resume(data, 0) if self._state else 0
        special = _SPECIAL.search
        while pos < n:
            m = special(data, pos)
            if m is None:
                self._write(data[pos:] if pos else data)
                break
            j = m.start()
            if j > pos:
                self._write(data[pos:j])
            sgr = m.group(1)
            if sgr is not None:
                self._style = apply_sgr(self._style, sgr)
                pos = m.end()
                continue
            c = data[j]
            if c == "\x1b":
                pos = self._escape(data, j)
                if self._state:
                    pos = self._resume(data, pos)
                continue
            if c == "\r":
                self._col = 0
            elif c == "\t":
                self._move_to((self._col // TAB + 1) * TAB)
            elif c == "\b":
                self._col = max(self._col - 1, 0)
            pos = j + 1  # other controls: dropped
        self._out = []
        return out

    def partial(self) -> Line:
        """The line being written (its text empty right after a newline)."""
        return (self._text, tuple(self._spans))

    def flush(self) -> list[Line]:
        """The unfinished line as a finished one (if it has text), and any
        cut-off escape dropped: the end of an input with no more to come."""
        self._hold, self._state = "", _GROUND
        if not self._text:
            return []
        self._out = []
        self._end_line()
        out, self._out = self._out, []
        return out

    # -- internals: escapes ------------------------------------------------------

    def _escape(self, data: str, j: int) -> int:
        """Consume the escape sequence at ``data[j]`` (an ESC); the position after it."""
        n = len(data)
        if j + 1 >= n:
            self._hold = data[j:]
            return n
        c = data[j + 1]
        if c == "[":
            m = _CSI_BODY.match(data, j + 2)
            assert m is not None  # both groups may be empty
            end = m.end()
            if end >= n:
                if n - j > CSI_HOLD_CAP:
                    self._state = _CSI_IGNORE
                else:
                    self._hold = data[j:]
                return n
            final = data[end]
            if "@" <= final <= "~":
                if not m.group(2):
                    self._csi(m.group(1), final)
                return end + 1
            # Not a CSI after all (a control or a letter beyond ASCII inside
            # it): drop what came so far and take that character on its own.
            return end
        if c in "]PX^_":  # OSC, DCS, SOS, PM, APC: a string up to its terminator
            self._state = _STRING
            return j + 2
        if " " <= c <= "/":  # ESC ( B and kin: intermediates, then one final
            mi = _INTERMEDIATES.match(data, j + 1)
            assert mi is not None
            end = mi.end()
            if end >= n:
                if n - j <= CSI_HOLD_CAP:
                    self._hold = data[j:]
                return n
            return end + 1 if "0" <= data[end] <= "~" else end
        if "0" <= c <= "~":  # ESC 7, ESC =, ESC M, ESC \ ...
            return j + 2
        return j + 1  # ESC before a control or past ASCII: the ESC alone goes

    def _resume(self, data: str, pos: int) -> int:
        """Skip the rest of a string or an over-long CSI; the position after it."""
        if self._state == _STRING:
            m = _STRING_END.search(data, pos)
            if m is None:
                return len(data)
            self._state = _GROUND
            return m.start() if m.group() == "\x1b" else m.end()
        m = _CSI_IGNORE_END.search(data, pos)
        if m is None:
            return len(data)
        self._state = _GROUND
        return m.end() if "@" <= m.group() <= "~" else m.start()

    def _csi(self, params: str, final: str) -> None:
        if not _NUMBERS.fullmatch(params):
            return  # private (?, >, <, =): modes, key reports; nothing for a log
        if final == "m":
            self._style = apply_sgr(self._style, params)
        elif final in "GCDK":
            first = params.split(";", 1)[0].split(":", 1)[0]
            num = _int(first) if first.isdigit() else 0
            if final == "K":
                self._erase(num)
            elif final == "G":
                self._move_to(min(max(num, 1) - 1, LINE_CAP))
            elif final == "C":
                self._move_to(min(self._col + max(num, 1), LINE_CAP))
            else:
                self._col = max(self._col - max(num, 1), 0)

    # -- internals: the line -----------------------------------------------------

    def _write(self, seg: str) -> None:
        """Text with no control but LF."""
        if "\n" not in seg:
            self._put(seg)
            return
        parts = seg.split("\n")
        if parts[0]:
            self._put(parts[0])
        self._end_line()
        if len(parts) > 2:
            # Whole lines, begun and ended here: made directly, the common case of a log.
            spans: Spans = (0, self._style) if self._style else ()
            out = self._out
            for p in parts[1:-1]:
                if len(p) > LINE_CAP:
                    self._put(p)
                    self._end_line()
                else:
                    out.append((p, spans if p else ()))
        if parts[-1]:
            self._put(parts[-1])

    def _put(self, s: str, style: StyleCode | None = None) -> None:
        """Write at the column, overwriting what is there."""
        style = self._style if style is None else style
        text, col = self._text, self._col
        n = len(text)
        if col == n:  # at the end: appending, the common case
            spans = self._spans
            if spans:
                if spans[-1] != style:
                    spans += (n, style)
            elif style:
                if n:
                    spans += (0, DEFAULT)
                spans += (n, style)
            self._text = text + s
        else:
            end = col + len(s)
            self._text = text[:col] + s + text[end:]
            if self._spans or style:  # else plain over plain: the text alone changes
                self._spans = _restyle(self._spans, n, col, end, style)
        self._col = col + len(s)
        if len(self._text) > LINE_CAP:
            self._cut_long()

    def _move_to(self, col: int) -> None:
        """The column to ``col``; past the end, the line is padded with blanks."""
        if col > len(self._text):
            self._col = len(self._text)
            self._put(" " * (col - len(self._text)), DEFAULT)  # a tab paints no cells
        else:
            self._col = col

    def _erase(self, mode: int) -> None:
        col = self._col
        n = len(self._text)
        if mode == 0:  # from the column to the end
            if col < n:
                spans = self._spans
                kept = [
                    v for i in range(0, len(spans), 2) if spans[i] < col for v in spans[i : i + 2]
                ]
                self._spans = [] if kept == [0, DEFAULT] else kept
                self._text = self._text[:col]
        elif mode == 1:  # from the start to the column, inclusive
            end = min(col + 1, n)
            self._text = " " * end + self._text[end:]
            self._spans = _restyle(self._spans, n, 0, end, DEFAULT)
        elif mode == 2:
            self._text, self._spans, self._col = "", [], 0

    def _end_line(self) -> None:
        self._out.append((self._text, tuple(self._spans)))
        self._text, self._spans, self._col = "", [], 0

    def _cut_long(self) -> None:
        """Cut the line at every LINE_CAP characters; the last piece stays open."""
        text, styles = self._text, self._styles()
        at = 0
        while len(text) - at > LINE_CAP:
            piece = _compress(styles[at : at + LINE_CAP])
            self._out.append((text[at : at + LINE_CAP], tuple(piece)))
            at += LINE_CAP
        self._text = text[at:]
        self._spans = _compress(styles[at:])
        self._col = max(self._col - at, 0)

    def _styles(self) -> list[StyleCode]:
        """The style of each character of the line (the slow path: overwrites, cuts)."""
        out = [DEFAULT] * len(self._text)
        for start, end, style in runs((self._text, tuple(self._spans))):
            out[start:end] = [style] * (end - start)
        return out


def _restyle(spans: list[int], length: int, col: int, end: int, style: StyleCode) -> list[int]:
    """Flat spans of a line ``length`` long with columns [col, end) now in ``style``
    (``end`` may be past the old end: the line grew). Work by runs, not characters,
    so a progress bar redrawn over a long line costs what it does over a short one."""
    pieces = [(s, min(e, col), st) for s, e, st in _runs(spans, length) if s < col]
    pieces.append((col, end, style))
    pieces += [(max(s, end), e, st) for s, e, st in _runs(spans, length) if e > end]
    flat: list[int] = []
    for s, e, st in pieces:
        if e > s and (not flat or flat[-1] != st):
            flat += (s, st)
    return [] if flat == [0, DEFAULT] else flat


def _compress(styles: list[StyleCode]) -> list[int]:
    """Flat spans of per-character styles."""
    spans: list[int] = []
    last = -1
    for i, st in enumerate(styles):
        if st != last:
            spans += (i, st)
            last = st
    return [] if spans == [0, DEFAULT] else spans


# -- SGR -------------------------------------------------------------------------

_SET = {1: BOLD, 2: DIM, 3: ITALIC, 4: UNDERLINE, 7: REVERSE, 9: STRIKE, 21: UNDERLINE}
_CLEAR = {22: BOLD | DIM, 23: ITALIC, 24: UNDERLINE, 27: REVERSE, 29: STRIKE}


# Logs repeat a handful of SGRs; a true-colour gradient can make many, hence the bound.
@lru_cache(maxsize=4096)
def apply_sgr(code: StyleCode, params: str) -> StyleCode:
    """The style after ``CSI params m``; parameters it does not know are skipped."""
    fg, bg, flags = unpack(code)
    parts = params.split(";") if params else ["0"]
    i = 0
    while i < len(parts):
        p = parts[i]
        i += 1
        if ":" in p:  # ITU T.416 form: 38:5:n, 38:2::r:g:b (or 38:2:r:g:b)
            sub = p.split(":")
            if sub[0] in ("38", "48"):
                ok, colour = _extended(sub[1:], colon=True)
                if ok and sub[0] == "38":
                    fg = colour
                elif ok:
                    bg = colour
            elif sub[0] == "4":  # 4:0 no underline, 4:n a kind of underline
                flags = flags & ~UNDERLINE if sub[1:2] == ["0"] else flags | UNDERLINE
            continue
        code = _int(p) if p.isdigit() else (0 if not p else -1)
        if code == 0:
            fg, bg, flags = None, None, 0
        elif code in _SET:
            flags |= _SET[code]
        elif code in _CLEAR:
            flags &= ~_CLEAR[code]
        elif 30 <= code <= 37:
            fg = code - 30
        elif 40 <= code <= 47:
            bg = code - 40
        elif 90 <= code <= 97:
            fg = code - 90 + 8
        elif 100 <= code <= 107:
            bg = code - 100 + 8
        elif code == 39:
            fg = None
        elif code == 49:
            bg = None
        elif code in (38, 48):
            kind = parts[i : i + 1]
            taken = 2 if kind == ["5"] else 4 if kind == ["2"] else 0
            ok, colour = _extended(parts[i : i + taken], colon=False)
            i += taken
            if ok and code == 38:
                fg = colour
            elif ok:
                bg = colour
    return pack(Style(fg, bg, flags))


def _int(digits: str) -> int:
    """A parameter's value; a number of absurd length (a program's garbage, or
    hostile: Python refuses to convert over 4,300 digits) is just too large."""
    if len(digits) > 9:
        return 1_000_000_000
    try:
        return int(digits)
    except ValueError:  # digits of another script (isdigit is true for "²")
        return 1_000_000_000


def _extended(args: list[str], colon: bool) -> tuple[bool, Colour]:
    """(ok, the colour) of ``5;n`` or ``2;r;g;b`` (colons: ``2:[id]:r:g:b``)."""
    if args[:1] == ["5"] and len(args) >= 2 and args[1].isdigit():
        n = _int(args[1])
        return n < 256, n
    if args[:1] == ["2"]:
        rgb = args[1:]
        if colon and len(rgb) >= 4:
            rgb = rgb[1:4]  # the colour-space id comes first
        rgb = rgb[:3]
        if len(rgb) == 3 and all(v.isdigit() for v in rgb):
            r, g, b = (min(_int(v), 255) for v in rgb)
            return True, (r, g, b)
    return False, None

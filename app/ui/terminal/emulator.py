"""A terminal emulator: pyte's parser over a screen with fast paths and the modes tmux uses.

No Qt here: bytes in, a grid of :class:`Char` and a few callbacks out, so it
is tested by feeding bytes.

Speed. pyte 0.8.2 alone parses what tmux 3.3a sends to an attached 120x40
client during ``seq 1 700000`` (708 KB) at 0.54 MB/s; cProfile puts most of
the time in the screen: ``Screen.erase_in_line`` (a Python loop per erased
cell) and ``Screen.draw`` (``wcwidth`` and a namedtuple ``_replace`` per
character). ``screen.FastScreen`` replaces those two (and
``erase_in_display``) with paths that write whole runs of cells at once.
With the screen fixed the parser's generator, one ``send`` per character of
every escape sequence, was most of what remained, so :class:`Emulator` also
takes the commonest pieces in the ground state (text runs, plain CSI
sequences, CR/LF/BS) with one regex match each and hands them to the same
handlers; everything else still goes through pyte's parser. Results are
equal cell for cell to ``Emulator(fast=False)`` (pyte's own parser and
methods plus the additions below), which the tests check on tmux-like
streams. ``tests/bench/bench_emulator.py`` (records tmux 3.3a at 120x40
during ``seq 1 700000``, feeds 16 KB slices, best of 5): on a fresh 608 KB
recording plain pyte 0.73 MB/s, this 1.63 MB/s (2.2x); on the 708 KB one
above (``--load``) 0.68 against 1.63 MB/s (2.4x). So a 5 MB burst costs
about 3 s of parsing, spread by the widget over event-loop turns.

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
- control strings (DCS, SOS, PM, APC), whose bodies pyte would draw as
  text, are dropped;
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
from typing import cast

import pyte

from app.ui.terminal.screen import (
    APP_CURSOR,
    BRACKETED_PASTE,
    CURSOR_BLINK,
    MOUSE_CLICKS,
    MOUSE_DRAG,
    MOUSE_MOTION,
    MOUSE_SGR,
    MOUSE_X10,
    SYNCHRONIZED,
    Char,
    FastScreen,
    ReferenceScreen,
)

__all__ = ["SECONDARY_DA", "Char", "Emulator", "TerminalStream"]

log = logging.getLogger(__name__)


# The secondary device attributes we answer to ``CSI > c``: a VT220 ("1"),
# firmware 10, no options: claims no extension, so tmux enables none.
SECONDARY_DA = "\x1b[>1;10;0c"


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


# What is taken out before pyte's parser sees it:
# - CSI with a leading <, = or >: pyte's parser drops (or chokes on) that byte;
# - the start of a control string (DCS, SOS, PM, APC: ESC P/X/^/_ ... ST), whose
#   body pyte would draw as text; none is ours to act on, so they are dropped;
# - the start of either at the end of a piece: kept until the rest arrives.
_SPECIAL = re.compile(
    r"(?P<csi>\x1b\[(?P<marker>[<=>])(?P<params>[0-9;:]*)[ -/]*(?P<final>[@-~]))"
    r"|(?P<string>\x1b[PX^_])"
    r"|(?P<tail>\x1b(?:\[(?:[<=>][0-9;: -/]*)?)?\Z)"
)
# Whether a piece has any of those (a tail that is not ESC or ESC [ alone has a marker).
_MARKERS = re.compile(r"\x1b(?:\[[<=>]|[PX^_])")
# A control string ends at ST; CAN or SUB abort it, and so does any other
# escape sequence (left to the parser), as in the VT500 state machine.
_STRING_END = re.compile(r"\x1b\\?|[\x18\x1a]")
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
        self._in_string = False  # inside a control string (DCS...) being dropped
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.screen = self._screen_class(max(cols, 1), max(rows, 1))
        self.stream = TerminalStream(self.screen)
        self._wire()

    # -- the public API ----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        text = self._carry + self._decoder.decode(data)
        self._carry = ""
        if not self._in_string and "\x1b" not in text[-2:] and not _MARKERS.search(text):
            self._parse(text)  # the usual case, found by one quick scan
            return
        pos: int | None = 0
        if self._in_string:
            pos = self._skip_string(text, 0)
        while pos is not None:
            m = _SPECIAL.search(text, pos)
            if m is None:
                self._parse(text[pos:] if pos else text)
                return
            self._parse(text[pos : m.start()])
            if m.lastgroup == "csi":
                self._marked_csi(m["marker"], m["params"], m["final"])
                pos = m.end()
            elif m.lastgroup == "string":
                pos = self._skip_string(text, m.end())
            else:
                tail = m.group()
                if len(tail) > _TAIL_LIMIT:
                    self._parse(tail)
                else:
                    self._carry = tail
                return

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
        self._in_string = False
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

    def _skip_string(self, text: str, pos: int) -> int | None:
        """Where parsing resumes after a control string's body; None: it goes on."""
        m = _STRING_END.search(text, pos)
        if m is None or (m.group() == "\x1b" and m.end() == len(text)):
            self._in_string = True
            self._carry = "\x1b" if m is not None else ""  # maybe the first half of ST
            return None
        self._in_string = False
        return m.start() if m.group() == "\x1b" else m.end()

    def _marked_csi(self, marker: str, params: str, final: str) -> None:
        if marker == ">" and final == "c" and params in ("", "0"):
            self._reply(SECONDARY_DA)
        # Everything else (XTVERSION, modifyOtherKeys, kitty keyboard): not ours.

"""A decoded Style as the colours and font a log line is painted in.

The 16 colours are the terminal's (Tango on dark backgrounds, GNOME
Terminal's darker tones on light ones, so yellow and cyan stay readable on
white); 16-255 are xterm's cube and grey ramp; the default foreground and
background are the widget palette's.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtGui import QColor, QPalette

from app.ui.logview.ansi import (
    BOLD,
    DEFAULT,
    DIM,
    ITALIC,
    REVERSE,
    STRIKE,
    UNDERLINE,
    Colour,
    Style,
    StyleCode,
    unpack,
)
from app.ui.terminal.render import DARK_ANSI, LIGHT_ANSI, blend
from app.ui.theme import is_dark

DIM_BLEND = 0.5  # how far dim text moves toward the background, as in the terminal
# xterm's 6x6x6 cube levels (256colres.h).
_CUBE = (0, 95, 135, 175, 215, 255)


class Look(NamedTuple):
    fg: QColor
    bg: QColor | None  # None: the default background, already painted
    font: int  # index into the viewer's fonts: bold 1, italic 2, underline 4, strike 8


def xterm_rgb(n: int) -> tuple[int, int, int]:
    """Colours 16-255 of xterm's 256."""
    if n >= 232:
        v = 8 + 10 * (n - 232)
        return v, v, v
    n -= 16
    return _CUBE[n // 36], _CUBE[n // 6 % 6], _CUBE[n % 6]


class Colours:
    """Looks for styles, for one palette; cached (a log has few styles)."""

    def __init__(self, palette: QPalette) -> None:
        self.fg = palette.color(QPalette.ColorRole.Text)
        self.bg = palette.color(QPalette.ColorRole.Base)
        self.ansi = [QColor(c) for c in (DARK_ANSI if is_dark(palette) else LIGHT_ANSI)]
        self._looks: dict[StyleCode, Look] = {}
        self._plain = Look(self.fg, None, 0)

    def colour(self, c: Colour) -> QColor | None:
        """The colour a Style's fg or bg names; None for the default."""
        if c is None:
            return None
        if isinstance(c, tuple):
            return QColor(*c)
        if c < 16:
            return self.ansi[c]
        return QColor(*xterm_rgb(c))

    def look(self, code: StyleCode) -> Look:
        if code == DEFAULT:
            return self._plain
        found = self._looks.get(code)
        if found is None:
            if len(self._looks) > 4096:  # a true-colour gradient makes many styles
                self._looks.clear()
            found = self._looks[code] = self._make(unpack(code))
        return found

    def _make(self, style: Style) -> Look:
        fg = self.colour(style.fg)
        bg = self.colour(style.bg)
        fg = self.fg if fg is None else fg
        bg = self.bg if bg is None else bg
        flags = style.flags
        if flags & REVERSE:
            fg, bg = bg, fg
        if flags & DIM:
            fg = blend(fg, bg, DIM_BLEND)
        font = (
            (1 if flags & BOLD else 0)
            | (2 if flags & ITALIC else 0)
            | (4 if flags & UNDERLINE else 0)
            | (8 if flags & STRIKE else 0)
        )
        return Look(fg, None if bg == self.bg else bg, font)

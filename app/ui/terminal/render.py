"""Painting the emulator's cells: colours, fonts, attributes, the cursor.

The widget keeps a backing image of the grid and asks :class:`Renderer` to
repaint only the lines pyte marked dirty; this module knows nothing of
which lines those are. A line is painted in runs of cells with the same
attributes: one background rectangle and one ``drawText`` per run of ASCII,
characters outside ASCII one by one at their own cell (a fallback font's
glyph may be wider than the cell and must not push the rest along), and box
drawing and block elements as geometry (:mod:`boxdraw`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette

from app.ui.terminal import boxdraw
from app.ui.terminal.screen import Char

# Tango's palette for dark backgrounds; GNOME Terminal's for light ones
# (darker tones, so yellow and cyan text stay readable on white).
DARK_ANSI = (
    "#2e3436", "#cc0000", "#4e9a06", "#c4a000", "#3465a4", "#75507b", "#06989a", "#d3d7cf",
    "#555753", "#ef2929", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#eeeeec",
)  # fmt: skip
LIGHT_ANSI = (
    "#171421", "#c01c28", "#26a269", "#a2734c", "#12488b", "#a347ba", "#2aa1b3", "#d0cfcc",
    "#5e5c64", "#f66151", "#33d17a", "#b58900", "#2a7bde", "#c061cb", "#1a9fb3", "#ffffff",
)  # fmt: skip
# pyte's names for the 16 colours (it calls yellow "brown").
_NAMES = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
NAMED = {name: i for i, name in enumerate(_NAMES)} | {
    "bright" + name: i + 8 for i, name in enumerate(_NAMES)
}
DIM_BLEND = 0.5  # how far dim text moves toward the background


class Style(NamedTuple):
    fg: QColor
    bg: QColor | None  # None: the default background, already there
    font: int  # index into Renderer.fonts: bold 1, italic 2
    underline: bool
    strike: bool


_SAMPLE = "iMW.0_ |#m"


def is_monospace(font: QFont) -> bool:
    """Whether every ASCII character of ``font`` takes the same advance.

    Measured, not asked: QFontInfo.fixedPitch() says False for some monospace
    fonts (Noto Sans Mono, the offscreen platform's fixed font), and a line
    drawn one cell at a time costs ~6x one drawn as runs (0.9 ms against
    0.15 ms for a full 120-column line, measured here).
    """
    metrics = QFontMetricsF(font)
    width = metrics.horizontalAdvance("M")
    return (
        all(abs(metrics.horizontalAdvance(c) - width) < 0.01 for c in _SAMPLE)
        and abs(metrics.horizontalAdvance(_SAMPLE) - width * len(_SAMPLE)) < 0.05
    )


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


class Renderer:
    """Cell geometry and painting for one font and one palette."""

    def __init__(self, font: QFont, palette: QPalette) -> None:
        self.fonts: list[QFont] = []
        self.cell_width = self.cell_height = self.ascent = 1.0
        self.fixed_pitch = True
        self.fg = self.bg = QColor()
        self.ansi: list[QColor] = []
        self._styles: dict[tuple[object, ...], Style] = {}
        self._colours: dict[str, QColor] = {}
        self.set_font(font)
        self.set_palette(palette)

    # -- the public API ----------------------------------------------------------

    def set_font(self, font: QFont) -> None:
        fonts = []
        for bold, italic in ((False, False), (True, False), (False, True), (True, True)):
            f = QFont(font)
            f.setBold(bold)
            f.setItalic(italic)
            f.setKerning(False)
            fonts.append(f)
        self.fonts = fonts
        # A proportional font cannot draw a run as one string: each character at its cell.
        self.fixed_pitch = is_monospace(font)
        metrics = QFontMetricsF(font)
        self.cell_width = max(metrics.horizontalAdvance("M"), 1.0)
        self.cell_height = float(max(math.ceil(metrics.height()), 1))
        self.ascent = metrics.ascent()

    def set_palette(self, palette: QPalette) -> None:
        self.fg = palette.color(QPalette.ColorRole.Text)
        self.bg = palette.color(QPalette.ColorRole.Base)
        self.ansi = [QColor(c) for c in (DARK_ANSI if is_dark(palette) else LIGHT_ANSI)]
        self._styles.clear()
        self._colours.clear()

    def grid_for(self, width: float, height: float) -> tuple[int, int]:
        """(cols, rows) that fit in a widget of that size."""
        cols = int(width // self.cell_width)
        rows = int(height // self.cell_height)
        return max(cols, 1), max(rows, 1)

    def cell_rect(self, x: int, y: int, span: int = 1) -> QRectF:
        w, h = self.cell_width, self.cell_height
        return QRectF(x * w, y * h, w * span, h)

    def colour(self, name: str, default: QColor) -> QColor:
        """pyte's colour: ``default``, one of the 16 names, or six hex digits."""
        if name == "default":
            return default
        found = self._colours.get(name)
        if found is None:
            if name in NAMED:
                found = self.ansi[NAMED[name]]
            elif len(name) == 6:
                found = QColor("#" + name)
            found = found if found is not None and found.isValid() else default
            self._colours[name] = found
        return found

    def style(self, cell: Char) -> Style:
        key = tuple(cell[1:])
        found = self._styles.get(key)
        if found is None:
            found = self._styles[key] = self._make_style(cell)
        return found

    def paint_line(self, p: QPainter, row: int, line: Mapping[int, Char], columns: int) -> None:
        """Paint one whole line of cells (its background included)."""
        w, h = self.cell_width, self.cell_height
        top = row * h
        p.fillRect(QRectF(0, top, columns * w, h), self.bg)
        x = 0
        while x < columns:
            first = line[x]
            key = first[1:]
            end = x + 1
            while end < columns and line[end][1:] == key:
                end += 1
            self._paint_run(p, x, row, [line[i].data for i in range(x, end)], self.style(first))
            x = end

    def paint_cursor(
        self, p: QPainter, x: int, y: int, cell: Char, wide: bool, shape: str, focused: bool
    ) -> None:
        style = self.style(cell)
        rect = self.cell_rect(x, y, 2 if wide else 1)
        colour = style.fg
        if not focused:
            p.setPen(colour)
            p.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))  # a hollow block
            return
        thick = max(2.0, round(self.cell_height / 10))
        if shape == "underline":
            p.fillRect(QRectF(rect.x(), rect.bottom() - thick, rect.width(), thick), colour)
        elif shape == "bar":
            p.fillRect(QRectF(rect.x(), rect.y(), thick, rect.height()), colour)
        else:
            inverse = Style(style.bg or self.bg, style.fg, style.font, style.underline, False)
            self._paint_run(p, x, y, [cell.data] + ([""] if wide else []), inverse)

    # -- internals ---------------------------------------------------------------

    def _make_style(self, cell: Char) -> Style:
        fg = self.colour(cell.fg, self.fg)
        bg = self.colour(cell.bg, self.bg)
        if cell.reverse:
            fg, bg = bg, fg
        if cell.dim:
            fg = blend(fg, bg, DIM_BLEND)
        font = (1 if cell.bold else 0) + (2 if cell.italics else 0)
        return Style(fg, None if bg == self.bg else bg, font, cell.underscore, cell.strikethrough)

    def _paint_run(self, p: QPainter, x: int, row: int, chars: list[str], style: Style) -> None:
        w, h = self.cell_width, self.cell_height
        left, top, n = x * w, row * h, len(chars)
        if style.bg is not None:
            p.fillRect(QRectF(left, top, n * w, h), style.bg)
        p.setFont(self.fonts[style.font])
        p.setPen(style.fg)
        baseline = top + self.ascent
        text = "".join(chars)
        if len(text) == n and text.isascii() and self.fixed_pitch:  # one string for the run
            if not text.isspace():
                p.drawText(QPointF(left, baseline), text)
        else:
            self._paint_cells(p, x, row, chars, style.fg, baseline)
        if style.underline:
            y = min(baseline + 2, top + h - 1)
            p.fillRect(QRectF(left, y, n * w, 1), style.fg)
        if style.strike:
            p.fillRect(QRectF(left, top + h / 2, n * w, 1), style.fg)

    def _paint_cells(
        self, p: QPainter, x: int, row: int, chars: list[str], fg: QColor, baseline: float
    ) -> None:
        """A run with wide, non-ASCII or box characters: each at its own cell.

        Stretches of ASCII between them still go as one string. An empty cell
        is the right half of a wide character (or what is left of one).
        """
        w, left, n = self.cell_width, x * self.cell_width, len(chars)
        i = 0
        while i < n:
            ch = chars[i]
            if not ch:
                i += 1
            elif len(ch) == 1 and ch.isascii():
                j = i + 1
                while j < n and len(chars[j]) == 1 and chars[j].isascii() and self.fixed_pitch:
                    j += 1
                stretch = "".join(chars[i:j])
                if not stretch.isspace():
                    p.drawText(QPointF(left + i * w, baseline), stretch)
                i = j
            else:
                if not (
                    boxdraw.handles(ch) and boxdraw.draw(p, ch, self.cell_rect(x + i, row), fg)
                ):
                    p.drawText(QPointF(left + i * w, baseline), ch)
                i += 1

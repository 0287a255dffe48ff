"""One log line painted: fonts, geometry, colours. Knows nothing of scrolling.

A line is painted in runs of one style: a background rectangle where the
style has one, then one ``drawText`` per run. In a monospace font a line of
ASCII has its columns at multiples of the cell width, and only the columns
in sight are drawn, so a 10,000-column line costs what a short one does;
any other line is measured with the font's advances.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont, QFontDatabase, QFontMetricsF, QPainter, QPalette

from app.ui.logview.ansi import Line, runs
from app.ui.logview.colours import Colours
from app.ui.terminal.render import is_monospace


def fixed_font() -> QFont:
    """The desktop's monospace font, or one that falls back to a monospace family."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if not is_monospace(font):
        # Some platforms (offscreen, minimal desktops) answer a proportional font.
        font = QFont("monospace", max(font.pointSize(), 10))
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setFixedPitch(True)
    return font


class LinePainter:
    def __init__(self, font: QFont, palette: QPalette) -> None:
        self.fonts: list[QFont] = []
        self.cw = self.lh = self.ascent = 1.0
        self.fixed = True
        self._metrics = QFontMetricsF(font)
        self.colours = Colours(palette)
        self.set_font(font)

    def set_font(self, font: QFont) -> None:
        fonts = []
        for i in range(16):  # bold 1, italic 2, underline 4, strike 8 (colours.Look.font)
            f = QFont(font)
            f.setKerning(False)
            f.setBold(bool(i & 1))
            f.setItalic(bool(i & 2))
            f.setUnderline(bool(i & 4))
            f.setStrikeOut(bool(i & 8))
            fonts.append(f)
        self.fonts = fonts
        metrics = self._metrics = QFontMetricsF(fonts[0])
        self.fixed = is_monospace(fonts[0])
        self.cw = max(metrics.horizontalAdvance("M"), 1.0)
        self.lh = float(max(math.ceil(metrics.height()), 1))
        self.ascent = metrics.ascent()

    def set_palette(self, palette: QPalette) -> None:
        self.colours = Colours(palette)

    def x(self, line: Line, col: int) -> float:
        """Where column ``col`` of the line starts, from the text's left edge."""
        text = line[0]
        if self.fixed and text.isascii():
            return col * self.cw
        return self._metrics.horizontalAdvance(text[:col])

    def col_at(self, line: Line, x: float) -> int:
        """The column boundary nearest ``x`` (from the text's left edge)."""
        text = line[0]
        if self.fixed and text.isascii():
            return min(max(round(x / self.cw), 0), len(text))
        # The first column whose character's middle is right of x: bisect on advances.
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi) // 2
            if (self.x(line, mid) + self.x(line, mid + 1)) / 2 < x:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def paint(self, p: QPainter, line: Line, left: float, y: float, hx: float, width: int) -> None:
        """The line's text at (left, y); ``hx`` and ``width`` say which pixels are in sight."""
        text = line[0]
        if not text:
            return
        baseline = y + self.ascent
        colours, fonts = self.colours, self.fonts
        clip = self.fixed and text.isascii()
        if clip:
            c0 = max(int(hx // self.cw) - 1, 0)
            c1 = int((hx + width) // self.cw) + 2
        for start, end, style in runs(line):
            look = colours.look(style)
            if clip:
                start, end = max(start, c0), min(end, c1)
                if start >= end:
                    continue
            x0 = left + self.x(line, start)
            if look.bg is not None:
                p.fillRect(QRectF(x0, y, left + self.x(line, end) - x0, self.lh), look.bg)
            p.setFont(fonts[look.font])
            p.setPen(look.fg)
            p.drawText(QPointF(x0, baseline), text[start:end])

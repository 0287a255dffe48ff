"""The band a waiting tile shows over the bottom of its picture: why it waits
(two lines at most; the tooltip has the whole), and for a permission request
its Allow and Deny buttons (Yes and No for a y/n question in its terminal),
drawn all the time the request is pending, not only on hover.

Its layout is one function of the tile and the font, used both to paint and
to hit-test a click, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QTextLayout, QTextOption

from .model import Tile
from .theme import activity_colour

ANSWERS = (("allow", "Allow"), ("deny", "Deny"))
YES_NO = {"allow": "Yes", "deny": "No"}  # the labels for a y/n question
REASON_LINES = 2
DONE_TEXT = {"allow": "Allowed", "deny": "Denied"}
_BAND = QColor(28, 22, 8, 235)  # dark amber, opaque enough for text over any picture
_TEXT = QColor(255, 236, 200)
_ALLOW = QColor(46, 125, 50)
_DENY = QColor(96, 96, 96)


@dataclass(frozen=True)
class WaitingBand:
    """Where the band and its parts are."""

    rect: QRect
    lines: list[str]
    line_height: int
    pad: int
    buttons: list[tuple[str, str, QRect]]  # ("allow" | "deny", its label, where)
    note: QRect | None  # "Allowing…", "Allowed": where the buttons were


def band_layout(thumb: QRect, tile: Tile, font: QFont, pad: int, button: int) -> WaitingBand | None:
    """The band of a waiting tile whose picture is ``thumb``; None if it does not wait."""
    if not tile.waiting or tile.stale_since is not None:
        return None
    inner = thumb.width() - 2 * pad
    fm = QFontMetrics(font)
    lines = wrap(tile.reason or "waiting for you", font, inner, REASON_LINES)
    req = tile.answerable
    answering = req is not None or bool(tile.busy) or tile.answer_given is not None
    height = pad + len(lines) * fm.height() + (pad + button if answering else 0) + pad
    rect = QRect(thumb.x(), thumb.bottom() + 1 - height, thumb.width(), height)
    row_y = rect.bottom() + 1 - pad - button
    buttons: list[tuple[str, str, QRect]] = []
    note: QRect | None = None
    if tile.busy or tile.answer_given is not None:
        note = QRect(rect.x() + pad, row_y, inner, button)
    elif req is not None:
        bfm = QFontMetrics(QFont())
        x = rect.x() + pad
        for name, label in answer_labels(req):
            width = max(button * 2, bfm.horizontalAdvance(label) + 20)
            buttons.append((name, label, QRect(x, row_y, width, button)))
            x += width + 6
    return WaitingBand(rect, lines, fm.height(), pad, buttons, note)


def paint_band(
    painter: QPainter, band: WaitingBand, tile: Tile, font: QFont, palette: QPalette
) -> None:
    amber = activity_colour("waiting", palette)
    r = band.rect
    painter.fillRect(r, _BAND)
    painter.fillRect(QRect(r.x(), r.y(), r.width(), 2), amber)
    painter.setFont(font)
    painter.setPen(_TEXT)
    y = r.y() + band.pad
    for line in band.lines:
        box = QRect(r.x() + band.pad, y, r.width() - 2 * band.pad, band.line_height)
        painter.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, line)
        y += band.line_height
    painter.setFont(QFont())
    for name, label, box in band.buttons:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_ALLOW if name == "allow" else _DENY)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(Qt.GlobalColor.white)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
    if band.note is not None:
        note = tile.busy or DONE_TEXT.get(tile.answer_given or "", "Answered")
        painter.setPen(amber)
        painter.drawText(
            band.note, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, note
        )


def answer_labels(req: dict[str, Any]) -> list[tuple[str, str]]:
    """(decision, label) of the buttons that answer ``req``."""
    if req.get("kind") == "question":
        return [(name, YES_NO[name]) for name, _label in ANSWERS]
    return list(ANSWERS)


def wrap(text: str, font: QFont, width: int, max_lines: int) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines of ``width`` pixels,
    at spaces where it can (anywhere in a long path), the last one elided."""
    text = " ".join(text.split())
    layout = QTextLayout(text, font)
    opt = QTextOption()
    opt.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(opt)
    starts: list[int] = []
    layout.beginLayout()
    while len(starts) < max_lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    if not starts:
        return [""]
    ends = [*starts[1:], len(text)]
    lines = [text[a:b].rstrip() for a, b in zip(starts, ends, strict=True)]
    # What did not fit goes on the last line, elided.
    rest = text[starts[-1] :]
    lines[-1] = QFontMetrics(font).elidedText(rest, Qt.TextElideMode.ElideRight, width)
    return lines

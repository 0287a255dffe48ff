"""Box drawing (U+2500-U+257F) and block elements (U+2580-U+259F) drawn as geometry.

A font's glyphs for these rarely fill the cell exactly, so frames drawn
from them show gaps between cells. Drawn here as rectangles and paths
from the cell's edges, lines join across cells whatever the font.

The box table is read from the characters' Unicode names ("BOX DRAWINGS
DOWN LIGHT AND RIGHT HEAVY"), which say the weight of each of the four arms.
"""

from __future__ import annotations

import math
import unicodedata

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

NONE, LIGHT, HEAVY, DOUBLE = 0, 1, 2, 3
_WEIGHTS = {"LIGHT": LIGHT, "SINGLE": LIGHT, "HEAVY": HEAVY, "DOUBLE": DOUBLE}
_ARMS = {"UP": "u", "DOWN": "d", "LEFT": "l", "RIGHT": "r", "HORIZONTAL": "lr", "VERTICAL": "ud"}
# (rising, falling) strokes of U+2571-U+2573.
_DIAGONALS = {"\u2571": (True, False), "\u2572": (False, True), "\u2573": (True, True)}
_ARCS = {"╭": "dr", "╮": "dl", "╯": "ul", "╰": "ur"}


def _arms_of(name: str) -> tuple[int, int, int, int] | None:
    """(up, right, down, left) weights from a box character's name."""
    words = name.removeprefix("BOX DRAWINGS ")
    for dash in ("DOUBLE DASH", "TRIPLE DASH", "QUADRUPLE DASH"):
        words = words.replace(dash, "")  # dashed lines are drawn solid
    arms = {"u": NONE, "r": NONE, "d": NONE, "l": NONE}
    weight = NONE
    for group in words.split(" AND "):
        tokens = group.split()
        group_weight = next((_WEIGHTS[t] for t in tokens if t in _WEIGHTS), weight)
        weight = group_weight  # "LIGHT DOWN AND RIGHT": the weight carries over
        for token in tokens:
            for arm in _ARMS.get(token, ""):
                arms[arm] = group_weight
    if not any(arms.values()):
        return None
    return arms["u"], arms["r"], arms["d"], arms["l"]


def _table() -> dict[str, tuple[int, int, int, int]]:
    table = {}
    for code in range(0x2500, 0x2580):
        ch = chr(code)
        if ch in _DIAGONALS or ch in _ARCS:
            continue
        arms = _arms_of(unicodedata.name(ch, ""))
        if arms is not None:
            table[ch] = arms
    return table


BOX = _table()


def handles(ch: str) -> bool:
    return "\u2500" <= ch <= "\u259f"


def draw(painter: QPainter, ch: str, cell: QRectF, colour: QColor) -> bool:
    """Draw ``ch`` filling ``cell``; False when it is not one of ours."""
    if "\u2580" <= ch <= "\u259f":
        return _block(painter, ch, cell, colour)
    light = max(1.0, round(cell.height() / 16))
    if ch in BOX:
        _lines(painter, BOX[ch], cell, colour, light)
        return True
    if ch in _ARCS:
        _arc(painter, _ARCS[ch], cell, colour, light)
        return True
    if ch in _DIAGONALS:
        forward, back = _DIAGONALS[ch]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, light))
        if forward:
            painter.drawLine(cell.bottomLeft(), cell.topRight())
        if back:
            painter.drawLine(cell.topLeft(), cell.bottomRight())
        painter.restore()
        return True
    return False


def _centre(v: float, thickness: float) -> float:
    """Where a line of that thickness is centred near ``v``, so it covers whole pixels.

    The same for lines and arcs, so a rounded corner meets a straight line.
    """
    return math.floor(v) + (0.5 if int(thickness) % 2 else 0.0)


# Per arm: its direction (dx, dy), the arms to its sides (the first one on
# the negative side of the offset), and the opposite arm; arms are indexed as
# in the table: up, right, down, left.
_GEOMETRY = {
    0: ((0, -1), (3, 1), 2),
    1: ((1, 0), (0, 2), 3),
    2: ((0, 1), (3, 1), 0),
    3: ((-1, 0), (0, 2), 1),
}


def _lines(
    painter: QPainter, arms: tuple[int, int, int, int], cell: QRectF, colour: QColor, light: float
) -> None:
    """Each arm from its edge to the centre, and past it as far as the join needs.

    A double line is two strokes ``d`` either side of the centre line. Where
    double lines meet, each stroke stops at the stroke it meets (so corners
    and tees of double lines are clean); where single meets double, the
    single line reaches the near stroke (a tee) or the far one (a corner).
    """
    x0, y0, w, h = cell.x(), cell.y(), cell.width(), cell.height()
    cx, cy = _centre(x0 + w / 2, light), _centre(y0 + h / 2, light)
    thick = {NONE: 0.0, LIGHT: light, HEAVY: light * 2, DOUBLE: light}
    d = float(max(2, round(light * 1.5)))  # a double line's strokes: d either side
    reach = max(thick[a] for a in arms) / 2  # single lines overlap by this at the centre
    edge = {0: cy - y0, 1: x0 + w - cx, 2: y0 + h - cy, 3: cx - x0}

    def stroke(arm: int, offset: float, start: float, t: float) -> None:
        """A stroke along ``arm`` from ``start`` (past the centre when negative) to the edge."""
        (dx, dy), _, _ = _GEOMETRY[arm]
        a, b = sorted((start * (dx + dy), edge[arm] * (dx + dy)))  # along the arm's axis
        if dx:
            painter.fillRect(QRectF(cx + a, cy + offset - t / 2, b - a, t), colour)
        else:
            painter.fillRect(QRectF(cx + offset - t / 2, cy + a, t, b - a), colour)

    for arm, weight in enumerate(arms):
        if not weight:
            continue
        _, (side_a, side_b), opposite = _GEOMETRY[arm]
        sides = (arms[side_a], arms[side_b])
        t = thick[weight]
        if weight != DOUBLE:
            if DOUBLE not in sides or arms[opposite]:
                start = -(d + t / 2) if DOUBLE in sides else -reach
            elif sides == (DOUBLE, DOUBLE):
                start = d - light / 2  # a tee into a double line: to its near stroke
            else:
                start = -(d + light / 2)  # a corner of a double line: to its far stroke
            stroke(arm, 0.0, start, t)
            continue
        for offset, side in ((-d, arms[side_a]), (d, arms[side_b])):
            if DOUBLE in sides:
                # Meet the side's double line at its near stroke, or go to the outer corner.
                start = d - light / 2 if side else -(d + light / 2)
            elif any(sides):
                start = -max(thick[x] for x in sides) / 2  # up to the single line across
            else:
                start = -d
            stroke(arm, offset, start, light)


def _arc(painter: QPainter, arms: str, cell: QRectF, colour: QColor, light: float) -> None:
    """A rounded corner: a quarter circle joining two edge midpoints, ends straight."""
    x0, y0, w, h = cell.x(), cell.y(), cell.width(), cell.height()
    cx, cy = _centre(x0 + w / 2, light), _centre(y0 + h / 2, light)
    r = min(w, h) / 2
    vertical_end = QPointF(cx, y0 if "u" in arms else y0 + h)
    horizontal_end = QPointF(x0 if "l" in arms else x0 + w, cy)
    sx = -1 if "l" in arms else 1
    sy = -1 if "u" in arms else 1
    path = QPainterPath(vertical_end)
    path.lineTo(cx, cy + sy * r)
    # Control point at the corner: a quadratic curve close to a quarter circle.
    path.quadTo(QPointF(cx, cy), QPointF(cx + sx * r, cy))
    path.lineTo(horizontal_end)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour, light)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    painter.restore()


# Quadrants of U+2596-U+259F: upper left, upper right, lower left, lower right.
_QUADRANTS = {
    "▖": (0, 0, 1, 0),
    "▗": (0, 0, 0, 1),
    "▘": (1, 0, 0, 0),
    "▙": (1, 0, 1, 1),
    "▚": (1, 0, 0, 1),
    "▛": (1, 1, 1, 0),
    "▜": (1, 1, 0, 1),
    "▝": (0, 1, 0, 0),
    "▞": (0, 1, 1, 0),
    "▟": (0, 1, 1, 1),
}
_SHADES = {"░": 0.25, "▒": 0.5, "▓": 0.75}


def _block(painter: QPainter, ch: str, cell: QRectF, colour: QColor) -> bool:
    x0, y0, w, h = cell.x(), cell.y(), cell.width(), cell.height()
    code = ord(ch)
    fill = painter.fillRect
    if ch == "▀":
        fill(QRectF(x0, y0, w, h / 2), colour)
    elif 0x2581 <= code <= 0x2588:  # lower 1/8 .. full
        part = h * (code - 0x2580) / 8
        fill(QRectF(x0, y0 + h - part, w, part), colour)
    elif 0x2589 <= code <= 0x258F:  # left 7/8 .. 1/8
        fill(QRectF(x0, y0, w * (0x2590 - code) / 8, h), colour)
    elif ch == "▐":
        fill(QRectF(x0 + w / 2, y0, w / 2, h), colour)
    elif ch in _SHADES:
        shade = QColor(colour)
        shade.setAlphaF(_SHADES[ch])
        fill(cell, shade)
    elif ch == "▔":
        fill(QRectF(x0, y0, w, h / 8), colour)
    elif ch == "▕":
        fill(QRectF(x0 + w * 7 / 8, y0, w / 8, h), colour)
    elif ch in _QUADRANTS:
        hw, hh = w / 2, h / 2
        for on, (qx, qy) in zip(_QUADRANTS[ch], ((0, 0), (1, 0), (0, 1), (1, 1)), strict=True):
            if on:
                fill(QRectF(x0 + qx * hw, y0 + qy * hh, hw, hh), colour)
    else:
        return False
    return True

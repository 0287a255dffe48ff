"""Colours that mean something (status, activity), readable on light and dark palettes."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

# Material-ish tones: saturated enough for a dot, dark enough for text on a
# light background, and still legible on a dark one.
_STATUS = {
    "running": QColor(46, 160, 67),
    "exited": QColor(230, 120, 20),
    "dead": QColor(211, 47, 47),
    "stopped": QColor(140, 140, 140),
}
_ACTIVITY = {
    "waiting": QColor(245, 166, 35),
    "working": QColor(66, 135, 245),
}


def status_colour(status: str) -> QColor:
    return _STATUS.get(status, QColor(140, 140, 140))


def activity_colour(state: str, palette: QPalette) -> QColor:
    return _ACTIVITY.get(state, palette.color(QPalette.ColorRole.PlaceholderText))


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128

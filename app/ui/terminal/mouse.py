"""Mouse reports as xterm sends them, when the program asked for the mouse.

Button codes: 0 left, 1 middle, 2 right, 3 "released" (X10 encoding) or
"no button" (motion); +32 for motion, 64/65 for the wheel up/down, plus
4 Shift, 8 Alt/Meta, 16 Ctrl. SGR encoding (?1006) is ``CSI < b;x;y M``
for a press and ``m`` for a release; the X10 encoding is ``CSI M`` and
three bytes of 32 + value, so coordinates stop at 223.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

MOTION = 32
WHEEL_UP, WHEEL_DOWN = 64, 65
NO_BUTTON = 3
X10_LIMIT = 223  # 32 + coordinate must fit in a byte (and stay below 256)

_BUTTONS = {
    Qt.MouseButton.LeftButton: 0,
    Qt.MouseButton.MiddleButton: 1,
    Qt.MouseButton.RightButton: 2,
}


def button_code(button: Qt.MouseButton) -> int:
    """xterm's number for a button; NO_BUTTON for one it has none for."""
    return _BUTTONS.get(button, NO_BUTTON)


def modifier_bits(mods: Qt.KeyboardModifier) -> int:
    m = Qt.KeyboardModifier
    bits = 4 if mods & m.ShiftModifier else 0
    bits += 8 if mods & (m.AltModifier | m.MetaModifier) else 0
    return bits + (16 if mods & m.ControlModifier else 0)


def encode(code: int, col: int, row: int, press: bool, sgr: bool) -> bytes:
    """A report for 0-based (col, row); ``code`` has the button, motion and modifier bits."""
    if sgr:
        return f"\x1b[<{code};{col + 1};{row + 1}{'M' if press else 'm'}".encode()
    if not press:
        code = (code & ~3) | NO_BUTTON  # X10 encoding: a release does not say which button
    x, y = min(col + 1, X10_LIMIT), min(row + 1, X10_LIMIT)
    return b"\x1b[M" + bytes([32 + code, 32 + x, 32 + y])

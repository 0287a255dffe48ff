"""Qt key presses to the bytes xterm sends with TERM=xterm-256color.

Table-driven and nearly Qt-free: the tables are keyed by ``Qt.Key`` values
and :func:`key_bytes` takes the key, the modifiers and the text, so it is
tested without a widget. The widget keeps a few chords for itself
(:func:`widget_action`): copy, paste and zoom.

Modifiers on special keys follow xterm's ``CSI 1 ; m X`` form with
m = 1 + Shift(1) + Alt(2) + Ctrl(4) + Meta(8).
"""

from __future__ import annotations

from PySide6.QtCore import Qt

K = Qt.Key
M = Qt.KeyboardModifier

# Keys whose unmodified form depends on DECCKM: CSI X, or SS3 X in application mode.
_CURSOR: dict[int, str] = {
    K.Key_Up: "A",
    K.Key_Down: "B",
    K.Key_Right: "C",
    K.Key_Left: "D",
    K.Key_Home: "H",
    K.Key_End: "F",
}
# F1-F4: SS3 P..S unmodified, CSI 1;m P..S with modifiers.
_SS3: dict[int, str] = {K.Key_F1: "P", K.Key_F2: "Q", K.Key_F3: "R", K.Key_F4: "S"}
# CSI n ~ keys.
_TILDE: dict[int, int] = {
    K.Key_Insert: 2,
    K.Key_Delete: 3,
    K.Key_PageUp: 5,
    K.Key_PageDown: 6,
    K.Key_F5: 15,
    K.Key_F6: 17,
    K.Key_F7: 18,
    K.Key_F8: 19,
    K.Key_F9: 20,
    K.Key_F10: 21,
    K.Key_F11: 23,
    K.Key_F12: 24,
}
# Keypad keys in application keypad mode (DECKPAM, ESC =): SS3 and a letter.
_KEYPAD_APP: dict[int, str] = {
    K.Key_0: "p",
    K.Key_1: "q",
    K.Key_2: "r",
    K.Key_3: "s",
    K.Key_4: "t",
    K.Key_5: "u",
    K.Key_6: "v",
    K.Key_7: "w",
    K.Key_8: "x",
    K.Key_9: "y",
    K.Key_Asterisk: "j",
    K.Key_Plus: "k",
    K.Key_Comma: "l",
    K.Key_Minus: "m",
    K.Key_Period: "n",
    K.Key_Slash: "o",
    K.Key_Enter: "M",
}
# Ctrl with a non-letter: the control byte xterm sends.
_CTRL: dict[int, bytes] = {
    K.Key_Space: b"\x00",
    K.Key_At: b"\x00",
    K.Key_2: b"\x00",
    K.Key_BracketLeft: b"\x1b",
    K.Key_3: b"\x1b",
    K.Key_Backslash: b"\x1c",
    K.Key_4: b"\x1c",
    K.Key_BracketRight: b"\x1d",
    K.Key_5: b"\x1d",
    K.Key_AsciiCircum: b"\x1e",
    K.Key_6: b"\x1e",
    K.Key_Underscore: b"\x1f",
    K.Key_Slash: b"\x1f",
    K.Key_7: b"\x1f",
    K.Key_Question: b"\x7f",
    K.Key_8: b"\x7f",
}
# Keys with a fixed byte whatever the mode; Alt prefixes ESC.
_PLAIN: dict[int, bytes] = {
    K.Key_Return: b"\r",
    K.Key_Enter: b"\r",
    K.Key_Backspace: b"\x7f",
    K.Key_Tab: b"\t",
    K.Key_Escape: b"\x1b",
}
_MODIFIER_KEYS = frozenset({
    K.Key_Shift, K.Key_Control, K.Key_Alt, K.Key_Meta, K.Key_AltGr,
    K.Key_CapsLock, K.Key_NumLock, K.Key_ScrollLock, K.Key_Super_L, K.Key_Super_R,
})  # fmt: skip


def _has(modifiers: Qt.KeyboardModifier, flag: Qt.KeyboardModifier) -> bool:
    return bool(modifiers & flag)


def modifier_param(modifiers: Qt.KeyboardModifier) -> int:
    """xterm's modifier parameter: 1 for none."""
    return (
        1
        + _has(modifiers, M.ShiftModifier)
        + 2 * _has(modifiers, M.AltModifier)
        + 4 * _has(modifiers, M.ControlModifier)
        + 8 * _has(modifiers, M.MetaModifier)
    )


def widget_action(key: int, modifiers: Qt.KeyboardModifier) -> str | None:
    """The chords the widget keeps, by name: copy, paste, zoom_in, zoom_out, zoom_reset."""
    ctrl = _has(modifiers, M.ControlModifier)
    shift = _has(modifiers, M.ShiftModifier)
    if not ctrl or _has(modifiers, M.AltModifier):
        return None
    if shift and key == K.Key_C:
        return "copy"
    if shift and key == K.Key_V:
        return "paste"
    if key in (K.Key_Equal, K.Key_Plus):  # Ctrl+= and Ctrl++ (Shift+= on most layouts)
        return "zoom_in"
    if key == K.Key_Minus and not shift:
        return "zoom_out"
    if key == K.Key_0 and not shift and not _has(modifiers, M.KeypadModifier):
        return "zoom_reset"
    return None


def key_bytes(
    key: int,
    modifiers: Qt.KeyboardModifier,
    text: str,
    app_cursor: bool = False,
    app_keypad: bool = False,
) -> bytes | None:
    """What the key sends to the program, or None for a key that sends nothing."""
    if key in _MODIFIER_KEYS:
        return None
    mods = modifier_param(modifiers)
    alt = _has(modifiers, M.AltModifier)
    ctrl = _has(modifiers, M.ControlModifier)
    shift = _has(modifiers, M.ShiftModifier)
    keypad = _has(modifiers, M.KeypadModifier)

    if keypad and app_keypad and key in _KEYPAD_APP and mods == 1:
        return b"\x1bO" + _KEYPAD_APP[key].encode()
    if key in _CURSOR:
        final = _CURSOR[key]
        if mods > 1:
            return f"\x1b[1;{mods}{final}".encode()
        return (b"\x1bO" if app_cursor else b"\x1b[") + final.encode()
    if key in _SS3:
        final = _SS3[key]
        return f"\x1b[1;{mods}{final}".encode() if mods > 1 else b"\x1bO" + final.encode()
    if key in _TILDE:
        number = _TILDE[key]
        return f"\x1b[{number};{mods}~".encode() if mods > 1 else f"\x1b[{number}~".encode()
    if key == K.Key_Backtab or (key == K.Key_Tab and shift):
        return b"\x1b[Z"

    prefix = b"\x1b" if alt else b""
    if key == K.Key_Backspace and ctrl:
        return prefix + b"\x08"
    if key in _PLAIN:
        return prefix + _PLAIN[key]
    if ctrl:
        if K.Key_A <= key <= K.Key_Z:
            return prefix + bytes([key - K.Key_A + 1])
        if key in _CTRL:
            return prefix + _CTRL[key]
    if text and all(ch >= " " and ch != "\x7f" for ch in text):
        return prefix + text.encode()
    if text and ctrl and len(text) == 1 and ord(text) < 0x20:
        return prefix + text.encode()  # the platform already made the control byte
    return None

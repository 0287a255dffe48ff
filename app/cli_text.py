"""A sandbox's terminal output made safe to print on the person's terminal.

The log is what the agent's terminal received, and the agent writes it:
printed as is, its escape sequences act on the terminal of whoever reads
it (``claude-remote logs``): an OSC sets the window title or, on some
terminals, the clipboard (OSC 52) or a hyperlink; cursor moves repaint lines
already shown (text seen is not the text there); a DCS talks to the terminal
itself. :class:`Cleaner` removes them, and keeps the text:

- CSI (``ESC [`` ... a final byte; C1 ``\\x9b``): colours, cursor moves, erasing;
- OSC, DCS, SOS, PM, APC strings (``ESC ]``, ``ESC P``, ``ESC X``, ``ESC ^``,
  ``ESC _``, and their C1 forms), up to their BEL or ST;
- every other ``ESC`` sequence (``ESC 7``, ``ESC ( B``, ``ESC =``...);
- every other C0 and C1 control character, DEL too, except ``\\n`` and ``\\t``;
- ``\\r``: with ``\\n`` after it, one line end; alone (a progress line
  written over itself), a line end too, so that every state of the line is
  shown rather than only the last (nothing said is hidden).

Fed in pieces (``logs -f``), a sequence cut between two pieces is held
until its end comes (up to :data:`MAX_PENDING` characters: an unterminated
string is no reason to stop printing).
"""

from __future__ import annotations

import re

# An OSC, DCS... string longer than this without its end is let go (its
# introducer removed, its text printed): a log must keep flowing.
MAX_PENDING = 1 << 16

_ST = r"(?:\x07|\x1b\\|\x9c)"  # BEL (xterm's OSC end), ST, C1 ST
_STRING_START = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])"
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    rf"|{_STRING_START}.*?{_ST}"  # OSC, DCS, SOS, PM, APC
    # Any other escape: intermediates, then a final byte (not one of those
    # that start the sequences above).
    r"|\x1b[ -/]*[0-OQ-WYZ\\`-~]"
    r"|\r\n?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]",  # other controls, and a lone ESC
    re.S,
)
# The start of a sequence whose end has not come yet (at the end of a piece).
_PARTIAL = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*\Z"
    rf"|{_STRING_START}(?:(?!{_ST}).)*\x1b?\Z"
    r"|\x1b[ -/]*\Z"
    r"|\r\Z",
    re.S,
)
_INTRODUCER = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f\r]")


def _replace(m: re.Match[str]) -> str:
    return "\n" if m.group().startswith("\r") else ""


# Bidi embeddings, overrides, isolates and marks: printed, they reorder the
# rest of a line on a terminal that does bidi ("Trojan Source").
_BIDI = dict.fromkeys([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def strip_controls(text: str) -> str:
    """``text`` without terminal control sequences (all of it: no piece
    follows), and without bidi controls."""
    return _SEQUENCE.sub(_replace, text).translate(_BIDI)


class Cleaner:
    """:func:`strip_controls` for a stream: :meth:`feed` each piece, then
    :meth:`flush` at the end."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, piece: str) -> str:
        data = self._pending + piece
        cut = len(data)
        start = max(0, len(data) - MAX_PENDING)
        for m in _INTRODUCER.finditer(data, start):
            if _PARTIAL.match(data, m.start()):
                cut = m.start()
                break
        self._pending = data[cut:]
        return strip_controls(data[:cut])

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return strip_controls(rest)

"""Newline-delimited framing with an explicit line cap. No I/O.

A line may legitimately be large (a full-size screenshot in base64 is a few
MiB), so the cap is generous; it exists so that a peer that never sends a
newline cannot make us buffer without bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# An explicit cap, so a peer that never sends a newline cannot make the
# other side buffer without bound; 32 MiB because a 3840x2160 PNG
# screenshot is about 8 MiB raw and 11 MiB in base64, which fits with room.
MAX_LINE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class LineTooLong:
    """Stands in for a line that went over the cap; its bytes were dropped."""

    size: int


class LineBuffer:
    """Splits a byte stream into lines of at most ``max_line`` bytes.

    ``feed`` returns the complete lines found so far (without the newline),
    or a :class:`LineTooLong` marker where a line was over the cap. After an
    over-long line the buffer discards until the next newline, then carries on.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._discarding = False
        self._discarded = 0

    def feed(self, data: bytes) -> list[bytes | LineTooLong]:
        out: list[bytes | LineTooLong] = []
        start = 0
        while start < len(data):
            nl = data.find(b"\n", start)
            end = len(data) if nl < 0 else nl
            chunk = data[start:end]
            if self._discarding:
                self._discarded += len(chunk)
            elif len(self._buf) + len(chunk) > self.max_line:
                self._discarding = True
                self._discarded = len(self._buf) + len(chunk)
                self._buf.clear()
            else:
                self._buf += chunk
            if nl < 0:
                break
            if self._discarding:
                out.append(LineTooLong(self._discarded))
                self._discarding = False
                self._discarded = 0
            else:
                line = bytes(self._buf)
                self._buf.clear()
                if line.endswith(b"\r"):
                    line = line[:-1]
                if line.strip():
                    out.append(line)
            start = nl + 1
        return out

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held (or skipped) so far."""
        return self._discarded if self._discarding else len(self._buf)


def encode(obj: Any) -> bytes:
    """One message as one line: compact JSON, UTF-8, newline-terminated.

    ``ensure_ascii`` stays on so that U+2028 and friends cannot confuse a
    line-oriented reader; the cost is a few bytes on non-ASCII text.
    """
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode() + b"\n"

"""Text on its way into a LineStore, decoded a slice at a time. No Qt.

Live output is decoded in order with one decoder (its style and any
cut-off escape carry from chunk to chunk). Older output (prepended) has
decoders of its own, one text at a time, and goes into the store whole
once decoded, so the lines above the view arrive in one step. The caller
decides when and for how long to decode (the viewer: a time budget per
event-loop turn).
"""

from __future__ import annotations

import time
from collections import deque

from app.ui.logview.ansi import Decoder, Line
from app.ui.logview.store import LineStore

# One decoder feed: ~0.7 ms of bench_logview.py's coloured log at the
# decoder's ~25 MB/s here, small beside the viewer's 8 ms budget a turn.
SLICE_CHARS = 16 * 1024


class Intake:
    def __init__(self, store: LineStore) -> None:
        self._store = store
        self.clear()

    def clear(self) -> None:
        """Nothing queued, and decoding starts afresh (no style, no cut-off escape)."""
        self._decoder = Decoder()
        self._queue: deque[str] = deque()
        self._offset = 0  # into the first queued text
        self._older: deque[str] = deque()  # prepended texts, each older than the one before
        self._older_offset = 0
        self._older_decoder = Decoder()
        self._older_lines: list[Line] = []  # decoded so far of the first older text
        self.pending = 0  # characters queued, not decoded yet
        self._added = 0

    def append(self, text: str) -> None:
        self._queue.append(text)
        self.pending += len(text)

    def prepend(self, text: str) -> None:
        self._older.append(text)
        self.pending += len(text)

    def decode_until(self, deadline: float) -> None:
        """Decode slices until none is left or ``time.perf_counter()`` passes ``deadline``."""
        while self.pending and time.perf_counter() < deadline:
            self._decode_slice()

    def drain(self) -> None:
        while self.pending:
            self._decode_slice()

    def take_added(self) -> int:
        """Lines appended to the store since the last call."""
        added, self._added = self._added, 0
        return added

    def _decode_slice(self) -> None:
        """One slice: of the live queue first, else of the oldest prepended text."""
        store = self._store
        if self._queue:
            chunk, self._offset = _take(self._queue, self._offset)
            self.pending -= len(chunk)
            lines = self._decoder.feed(chunk)
            store.extend(lines, self._decoder.partial())
            self._added += len(lines)
            return
        chunk, self._older_offset = _take(self._older, self._older_offset)
        self.pending -= len(chunk)
        decoded = self._older_lines
        decoded.extend(self._older_decoder.feed(chunk))
        if len(decoded) > 2 * store.max_lines:  # only the newest can be kept
            del decoded[: -store.max_lines]
        if self._older_offset == 0:  # that text is done: its last line ends with it
            decoded.extend(self._older_decoder.flush())
            store.prepend(decoded)
            self._older_lines = []
            self._older_decoder = Decoder()


def _take(queue: deque[str], offset: int) -> tuple[str, int]:
    """The next slice of the first text queued, and the offset left into it
    (0 when the text was used up and taken off the queue)."""
    text = queue[0]
    chunk = text[offset : offset + SLICE_CHARS] if offset or len(text) > SLICE_CHARS else text
    offset += len(chunk)
    if offset >= len(text):
        queue.popleft()
        offset = 0
    return chunk, offset

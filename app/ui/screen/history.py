"""The last minute of a sandbox's screen, as the encoded frames hostd sent.

A pure data structure (no Qt): frames are kept as the JPEG bytes that came
over the wire, never decoded. A 1600-px frame decoded is about 6 MB, so a
minute of decoded frames would be hundreds of MB; encoded, the same minute
is a few MB, and the one frame a person scrubs to is decoded on demand.

Times are monotonic seconds passed in by the caller, so tests need no sleeps.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# How far back a person can scrub. hostd sends a frame only when the picture
# changed, at most about one a second, so a minute is at most ~60 frames: long
# enough to catch what flashed past ("what did that dialog say?").
WINDOW_S = 60.0
# Twice the frames a minute at hostd's rate, for headroom should the rate rise;
# more would make each slider step too fine to aim at with a mouse.
MAX_FRAMES = 120
# A 1920-px screen filled edge to edge with text is about 800 KB a frame at
# hostd's JPEG quality 80 (hostd/capture/frames.py; measured), so 48 MiB holds
# a full minute of even that; a 3840-px one (about 3 MB) keeps its last ~15 s.
MAX_BYTES = 48 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class Frame:
    """One picture as received. ``seq`` numbers frames in arrival order, so a
    frame is found again after older ones were dropped (its index shifts)."""

    seq: int
    data: bytes
    width: int
    height: int
    t: float  # monotonic arrival time
    blank: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


class FrameHistory:
    """Frames oldest first, bounded by a time window, a count and total bytes.

    The window keeps every frame that was on screen at some moment in the
    last ``window_s`` seconds before the newest frame arrived: a frame is on
    screen until the next one replaces it, so the frame shown ``window_s``
    ago is kept even if it arrived long before (hostd sends nothing while the
    picture stays the same). Oldest frames are dropped first; the newest is
    always kept, even when it alone is over ``max_bytes``.
    """

    def __init__(
        self,
        window_s: float = WINDOW_S,
        max_frames: int = MAX_FRAMES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        if window_s <= 0 or max_frames < 1 or max_bytes < 1:
            raise ValueError("window_s, max_frames and max_bytes must be positive")
        self.window_s = window_s
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._frames: list[Frame] = []  # at most max_frames: a list's front deletes are cheap
        self._bytes = 0
        self._next_seq = 0

    # -- the sequence ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, i: int) -> Frame:
        return self._frames[i]

    def __iter__(self) -> Iterator[Frame]:
        return iter(self._frames)

    @property
    def frames(self) -> Sequence[Frame]:
        """The frames, oldest first (a copy: safe to hold while frames arrive)."""
        return tuple(self._frames)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    @property
    def newest(self) -> Frame | None:
        return self._frames[-1] if self._frames else None

    # -- changes ---------------------------------------------------------------------------

    def add(self, data: bytes, width: int, height: int, t: float, blank: bool = False) -> Frame:
        """Keep a new frame; drop what falls outside the bounds. Times must not
        go backwards (they are monotonic): an earlier ``t`` is taken as the
        newest frame's, so the order of arrival stays the order of time."""
        if self._frames and t < self._frames[-1].t:
            t = self._frames[-1].t
        frame = Frame(self._next_seq, bytes(data), width, height, t, blank)
        self._next_seq += 1
        self._frames.append(frame)
        self._bytes += frame.size
        self._prune(t)
        return frame

    def clear(self) -> None:
        self._frames.clear()
        self._bytes = 0

    # -- lookups ---------------------------------------------------------------------------

    def index_at(self, t: float) -> int | None:
        """The index of the frame on screen at time ``t``: the newest that had
        arrived by then (the oldest kept, for a ``t`` before it); None when empty."""
        if not self._frames:
            return None
        i = bisect.bisect_right(self._frames, t, key=lambda f: f.t)
        return max(0, i - 1)

    def index_of(self, frame: Frame) -> int | None:
        """Where ``frame`` is now, or None once it has been dropped."""
        i = bisect.bisect_left(self._frames, frame.seq, key=lambda f: f.seq)
        if i < len(self._frames) and self._frames[i].seq == frame.seq:
            return i
        return None

    # -- internals -------------------------------------------------------------------------

    def _prune(self, now: float) -> None:
        drop = 0
        n = len(self._frames)
        size = self._bytes
        start = now - self.window_s
        while n - drop > 1:
            over = n - drop > self.max_frames or size > self.max_bytes
            # Frame ``drop`` left the screen when the next one arrived.
            aged = self._frames[drop + 1].t <= start
            if not (over or aged):
                break
            size -= self._frames[drop].size
            drop += 1
        if drop:
            del self._frames[:drop]
            self._bytes = size

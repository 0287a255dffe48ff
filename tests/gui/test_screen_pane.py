"""The Screen pane's frame history: bounded by count, bytes and a time window.

Times are passed in, so nothing sleeps.
"""

from __future__ import annotations

from app.ui.screen.history import FrameHistory

W, H = 320, 180  # the frames' size: 16:9, like the screens hostd makes


# -- the history (no Qt) ---------------------------------------------------------------


def test_history_keeps_at_most_its_count_dropping_the_oldest() -> None:
    h = FrameHistory(max_frames=3)
    for i in range(5):
        h.add(bytes([i]) * 10, W, H, t=float(i))
    assert len(h) == 3
    assert [f.t for f in h.frames] == [2.0, 3.0, 4.0]
    assert h.total_bytes == 30


def test_history_keeps_at_most_its_bytes_but_always_the_newest() -> None:
    h = FrameHistory(max_bytes=250)
    for i in range(4):
        h.add(b"x" * 100, W, H, t=float(i))
    assert [f.t for f in h] == [2.0, 3.0]
    assert h.total_bytes == 200
    h.add(b"y" * 1000, W, H, t=4.0)  # over the bound alone: kept, as the newest
    assert len(h) == 1 and h[0].data == b"y" * 1000 and h.total_bytes == 1000


def test_history_keeps_what_was_on_screen_in_its_window() -> None:
    h = FrameHistory(window_s=60)
    for t in (0.0, 10.0, 30.0, 100.0):
        h.add(b"f", W, H, t=t)
    # At 100, the window starts at 40: the frame of 30 was on screen then
    # (until 100), so it stays; those of 0 and 10 were replaced before 40.
    assert [f.t for f in h] == [30.0, 100.0]
    h.add(b"f", W, H, t=161.0)
    assert [f.t for f in h] == [100.0, 161.0]


def test_history_finds_frames_by_time_and_after_drops() -> None:
    h = FrameHistory(max_frames=3)
    assert h.index_at(5.0) is None
    first = h.add(b"a", W, H, t=10.0)
    second = h.add(b"b", W, H, t=20.0)
    h.add(b"c", W, H, t=30.0)
    assert [h.index_at(t) for t in (0.0, 10.0, 15.0, 20.0, 99.0)] == [0, 0, 0, 1, 2]
    h.add(b"d", W, H, t=40.0)
    assert h.index_of(first) is None
    assert h.index_of(second) == 0
    h.clear()
    assert len(h) == 0 and h.total_bytes == 0 and h.newest is None

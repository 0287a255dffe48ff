"""The Qt binding itself: a refcount bug in it would abort the app after a while."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    frame = Signal(str, object)


def test_emitting_signals_leaves_reference_counts_alone() -> None:
    """PySide6 6.12.0 dropped a reference to True on every Signal.emit, so the
    app aborted ('deallocating True') after some thousands of frames."""
    e = _Emitter()
    got: list[object] = []
    e.frame.connect(lambda _k, v: got.append(v))
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(500):
        e.frame.emit("k", None)
    got.clear()
    assert (sys.getrefcount(True), sys.getrefcount(None)) == before

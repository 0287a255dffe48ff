"""Writing a picture as a PNG file off the GUI thread.

Encoding a PNG is slow for a GUI thread: about 0.2 s for a 1920-px screen
and 0.8 s for a 3840-px one (measured with Qt's encoder on screens of text),
so it runs on Qt's thread pool. QImage is reentrant and implicitly shared:
the pool reads its own copy while the GUI goes on. The result comes back as
a signal, which Qt delivers on the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

from PySide6.QtCore import QObject, QSaveFile, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageWriter

log = logging.getLogger(__name__)

_tokens = itertools.count(1)


class Writes(QObject):
    """Carries each finished write back to the GUI thread. One for the whole
    program, made on the GUI thread and never deleted, so a write that ends
    after its pane has gone has a live object to report to (and nobody
    listening: Qt disconnected the pane when it was destroyed)."""

    done = Signal(int, object, str)  # token, path, error ("" once written)


_writes: Writes | None = None


def writes() -> Writes:
    """The relay; the first call must come from the GUI thread (a pane's constructor)."""
    global _writes
    if _writes is None:
        _writes = Writes()
    return _writes


def new_token() -> int:
    """A number for one writer (a pane), to tell its writes from others'."""
    return next(_tokens)


def write_png(image: QImage, path: Path, token: int) -> None:
    """Write ``image`` to ``path`` on the pool; ``writes().done`` says how it went."""
    relay = writes()
    copy = QImage(image)  # a shallow copy: the data is shared until someone writes to it

    def work() -> None:
        try:
            error = _write(copy, path)
        except Exception as exc:  # a crash here must still be reported, not lost
            log.exception("writing %s failed", path)
            error = str(exc) or type(exc).__name__
        relay.done.emit(token, path, error)

    QThreadPool.globalInstance().start(work)


def _write(image: QImage, path: Path) -> str:
    if image.isNull():
        return "there is no picture"
    # QSaveFile: the PNG appears whole or not at all (never half written).
    file = QSaveFile(str(path))
    if not file.open(QSaveFile.OpenModeFlag.WriteOnly):
        return file.errorString()
    writer = QImageWriter(file, b"png")
    if not writer.write(image):
        file.cancelWriting()
        return writer.errorString()
    if not file.commit():
        return file.errorString()
    return ""

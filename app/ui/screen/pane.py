"""A sandbox's screen, large: the live picture and the last minute to scrub back through.

The pane does no I/O. Its owner feeds it frames (``add_frame``) and listens
for what it wants: ``wanted_width`` (how wide the frames should be while it
is visible), ``full_size_requested`` and ``save_requested`` (a full-size
picture fetched from the host). Everything else happens in the pane:
scrubbing back through :class:`~.history.FrameHistory` (encoded frames,
decoded one at a time when a person looks at one), the full-size window,
saving a historic frame as a PNG.

Saving: the "Save PNG…" button asks for a file name first (a file dialog
from a plain slot, never from a coroutine: the app runs asyncio on Qt's loop
and a dialog's nested loop would re-enter it). Scrubbed back, the pane saves
the frame shown. Live, it emits ``save_requested(path)``; the owner fetches
the full-size picture (sandbox.screenshot) and calls ``save_image(image,
path)``, so the coroutine does I/O only. The PNG is encoded and written on
Qt's thread pool (:mod:`.saving`); ``saved`` says when it is done. With nobody connected, the pane
saves the live frame as streamed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QMetaMethod, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QCloseEvent, QHideEvent, QImage, QKeyEvent, QShowEvent
from PySide6.QtWidgets import QFileDialog, QVBoxLayout, QWidget

from .bar import ScreenBar
from .full import FullSizeView
from .history import Frame, FrameHistory
from .saving import new_token, write_png, writes
from .view import TIMES, ScreenView
from .wish import WidthWish

log = logging.getLogger(__name__)

PLACEHOLDER = "Waiting for the first picture…"


class ScreenPane(QWidget):
    """The live picture, a slider over the last minute, and a toolbar row.

    Keys: Left and Right step a frame, Page Up and Page Down ten, Home goes
    to the oldest frame kept, End back to live.
    """

    wanted_width = Signal(int)  # max_width in device pixels; 0: hidden, back to the tiles' size
    full_size_requested = Signal()  # fetch a full-size picture and call show_full
    save_requested = Signal(object)  # Path: fetch a full-size picture and call save_image
    saved = Signal(object, str)  # Path, what went wrong ("" when it was written)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = FrameHistory()
        self.clock: Callable[[], float] = time.monotonic  # frames' arrival times
        self.save_stem = "screen"  # the start of a saved file's suggested name
        self._live: tuple[QImage, bool] | None = None  # the newest frame, decoded
        self._pinned: Frame | None = None  # the older frame shown while scrubbing
        self._decoded: tuple[int, QImage] | None = None  # (seq, image): the last decoded
        self._syncing = False
        self._save_dir: Path | None = None
        self._full: FullSizeView | None = None
        self._token = new_token()
        writes().done.connect(self._written)

        self.view = ScreenView(self)
        self.view.set_message(PLACEHOLDER)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click on it takes the keys
        self.view.shown_changed.connect(self._update_labels)
        self.view.setAccessibleName("The sandbox's screen")
        self.setFocusProxy(self.view)
        self.bar = ScreenBar(self)
        self.slider = self.bar.slider
        self.slider.valueChanged.connect(self._scrubbed)
        self.bar.live_button.clicked.connect(self.go_live)
        self.bar.full_button.clicked.connect(self._full_size)
        self.bar.save_button.clicked.connect(self._save_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.bar)

        self.wish = WidthWish(self)
        self.wish.changed.connect(self.wanted_width)
        self._age_timer = QTimer(self)  # the age label counts on, once a second
        self._age_timer.setInterval(1000)
        self._age_timer.timeout.connect(self._update_labels)
        self._sync()

    # -- public API ------------------------------------------------------------------------

    @property
    def want(self) -> int:
        """The max_width last asked for with ``wanted_width`` (0 while hidden)."""
        return self.wish.want

    @property
    def is_live(self) -> bool:
        return self._pinned is None

    @property
    def shown_frame(self) -> Frame | None:
        """The frame on screen: the one scrubbed to, else the newest."""
        return self._pinned or self.history.newest

    def add_frame(self, data: bytes, image: QImage, blank: bool, t: float | None = None) -> None:
        """A new frame: ``data`` as received (JPEG) for the history, ``image``
        decoded from it for showing now. Live, it is shown at once; scrubbed
        back, the older frame stays on screen and the slider's range grows."""
        if image.isNull():
            log.warning("a screen frame that did not decode (%d bytes) was dropped", len(data))
            return
        self.history.add(
            data, image.width(), image.height(), self.clock() if t is None else t, blank
        )
        self._live = (image, blank)
        if self._pinned is not None and self.history.index_of(self._pinned) is None:
            # The frame looked at has aged out: the oldest kept is the nearest.
            oldest = self.history[0]
            self._pin(None if oldest is self.history.newest else oldest)
        elif self._pinned is None:
            self.view.set_image(image, blank)
        self._sync()

    def set_placeholder(self, text: str) -> None:
        """What shows while there is no frame (before the first, after ``clear``)."""
        self.view.set_message(text)

    def clear(self) -> None:
        """Forget every frame; the placeholder shows."""
        self.history.clear()
        self._live = self._pinned = self._decoded = None
        self.view.set_image(None)
        self._sync()

    def go_live(self) -> None:
        self._pin(None)
        self._sync()

    def show_frame(self, index: int) -> None:
        """Show the history's frame ``index`` (the newest one is live)."""
        n = len(self.history)
        if not n:
            return
        index = max(0, min(index, n - 1))
        self._pin(None if index == n - 1 else self.history[index])
        self._sync()

    def step(self, frames: int) -> None:
        """Move ``frames`` frames newer (negative: older) than the one shown."""
        frame = self.shown_frame
        if frame is not None:
            self.show_frame((self.history.index_of(frame) or 0) + frames)

    def show_full(self, image: QImage, frame: Frame | None = None) -> None:
        """Open ``image`` in the full-size window (1:1, with scroll bars); the
        owner's full-size picture, or the kept ``frame`` it was decoded from."""
        if image.isNull():
            self.set_note("The full-size picture did not come", error=True)
            return
        if self._full is None:
            self._full = FullSizeView(self)
            self._full.save_wanted.connect(self._save_full)
        self._full.open_for(image, self._describe(image, None, frame))

    def save_image(self, image: QImage, path: Path) -> None:
        """Write ``image`` to ``path`` as a PNG, off the GUI thread; the note
        says how it went, and ``saved`` is emitted when it is done."""
        self.bar.set_note(f"Saving {path.name}…", tip=str(path))
        write_png(image, path, self._token)

    def choose_save_path(self) -> Path | None:
        """Ask where to save (a modal dialog: call from a plain slot only)."""
        when = self._wall_time(self.shown_frame) or datetime.now()
        start = (self._save_dir or Path.home()) / f"{self.save_stem}-{when:%Y%m%d-%H%M%S}.png"
        name, _ = QFileDialog.getSaveFileName(
            self, "Save the screen as PNG", str(start), "PNG images (*.png)"
        )
        if not name:
            return None
        path = Path(name)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        self._save_dir = path.parent
        return path

    def set_note(self, text: str, error: bool = False) -> None:
        """A short message in the toolbar row ("Saved …", what went wrong), for a while."""
        self.bar.set_note(text, error)

    # -- handlers --------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        moves = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1,
                 Qt.Key.Key_PageUp: -10, Qt.Key.Key_PageDown: 10}  # fmt: skip
        key = Qt.Key(event.key())
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)
        elif key in moves:
            self.step(moves[key])
        elif key == Qt.Key.Key_Home:
            self.show_frame(0)
        elif key == Qt.Key.Key_End:
            self.go_live()
        else:
            super().keyPressEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._sync()  # the age label's timer runs only while shown

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._age_timer.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.clear()  # a closed pane's minute of frames is no use to anyone
        super().closeEvent(event)

    # -- internals -------------------------------------------------------------------------

    def _pin(self, frame: Frame | None) -> None:
        """Show ``frame`` (None: the live picture)."""
        self._pinned = frame
        if frame is None:
            image, blank = self._live or (None, False)
            self.view.set_image(image, blank)
        else:
            self.view.set_image(self._decode(frame), frame.blank)

    def _decode(self, frame: Frame) -> QImage | None:
        if self._decoded is None or self._decoded[0] != frame.seq:
            image = QImage.fromData(frame.data)
            if image.isNull():
                log.warning("a kept screen frame did not decode (%d bytes)", frame.size)
                return None
            self._decoded = (frame.seq, image)  # one decoded frame is kept: the one looked at
        return self._decoded[1]

    def _scrubbed(self, value: int) -> None:
        if not self._syncing:
            self.show_frame(value)

    def _sync(self) -> None:
        """The slider and labels to match the history and the frame shown."""
        n = len(self.history)
        shown = self.shown_frame
        self._syncing = True
        try:
            self.slider.setRange(0, max(0, n - 1))
            at = self.history.index_of(shown) if shown is not None else None
            self.slider.setValue(at or 0)
        finally:
            self._syncing = False
        self.slider.setEnabled(n > 1)
        for button in (self.bar.full_button, self.bar.save_button):
            button.setEnabled(n > 0)
        self.bar.live_button.setEnabled(not self.is_live)
        if self.is_live or not self.isVisible():
            self._age_timer.stop()
        elif not self._age_timer.isActive():
            self._age_timer.start()
        self._update_labels()

    def _update_labels(self) -> None:
        frame = self.shown_frame
        if frame is None:
            self.bar.age.hide()
            self.bar.caption.clear()
            return
        self.bar.show_age(None if self._pinned is None else self.clock() - frame.t, self.palette())
        image = self.view.image
        scale = self.view.shown_scale()
        self.bar.caption.setText(self._describe(image, scale, self._pinned) if image else "")

    def _describe(self, image: QImage, scale: float | None, frame: Frame | None) -> str:
        """Its size and scale ("1920 by 1080, shown at 62%"); from the past, its clock time."""
        text = f"{image.width()}{TIMES}{image.height()}"
        if scale is not None:
            text += f", shown at {round(scale * 100)}%"
        when = self._wall_time(frame)
        if when is not None:
            text += f" · {when:%H:%M:%S}"
        return text

    def _wall_time(self, frame: Frame | None) -> datetime | None:
        if frame is None:
            return None
        return datetime.now() - timedelta(seconds=max(0.0, self.clock() - frame.t))

    def _full_size(self) -> None:
        if self._pinned is not None:
            image = self._decode(self._pinned)
            if image is not None:
                self.show_full(image, self._pinned)  # the frame as kept: hostd sent no bigger one
        elif self._connected(self.full_size_requested):
            self.full_size_requested.emit()
        elif self._live is not None:
            self.show_full(self._live[0])

    def _save_clicked(self) -> None:
        pinned = self._pinned
        if self.shown_frame is None:
            return
        path = self.choose_save_path()
        if path is None:
            return
        if pinned is not None:
            image = self._decode(pinned)
            self.save_image(image or QImage(), path)
        elif self._connected(self.save_requested):
            self.set_note("Fetching the full-size picture…")
            self.save_requested.emit(path)
        elif self._live is not None:
            self.save_image(self._live[0], path)

    def _save_full(self) -> None:
        if self._full is None or self._full.image.isNull():
            return
        image = self._full.image
        path = self.choose_save_path()
        if path is not None:
            self.save_image(image, path)

    def _written(self, token: int, path: Path, error: str) -> None:
        if token != self._token:
            return  # another pane's
        if error:
            log.warning("could not save the screen to %s: %s", path, error)
            self.bar.set_note(f"Could not save {path.name}: {error}", error=True)
        else:
            self.bar.set_note(f"Saved {path.name}", tip=str(path))
        self.saved.emit(path, error)

    def _connected(self, signal: SignalInstance) -> bool:
        return self.isSignalConnected(QMetaMethod.fromSignal(signal))

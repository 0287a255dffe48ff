"""How wide a widget wants its frames: its width in device pixels, in steps, 0 while hidden."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

# Widths are asked in steps, so dragging a splitter re-asks once every step,
# not on every pixel. 160 divides the common screen widths (1280, 1600, 1920,
# 2560, 3840), so a pane about a screen's width asks for that width exactly.
WANT_STEP_PX = 160
# hostd caps max_width there (MAX_WIDTH_CAP in hostd/capture/frames.py): no
# display it makes is wider.
MAX_WANT_PX = 8192
# A resize re-asks once it has settled: a splitter drag is a burst of resizes,
# and each ask changes the host's subscription.
ASK_DELAY_MS = 300


def wanted_for(device_width: float) -> int:
    """The max_width to ask for a picture area ``device_width`` device pixels wide."""
    steps = max(1, math.ceil(device_width / WANT_STEP_PX))
    return min(MAX_WANT_PX, steps * WANT_STEP_PX)


class WidthWish(QObject):
    """Watches ``widget`` (an event filter) and says the frame width it wants.

    ``changed`` carries the new wish: at once when the widget is shown, 0 at
    once when it is hidden (the owner goes back to the tiles' size), and
    ``ASK_DELAY_MS`` after a resize or a move to a screen of another pixel
    density has settled. It is emitted only when the wish changes.
    """

    changed = Signal(int)

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        self._want = 0
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(ASK_DELAY_MS)
        self.timer.timeout.connect(self._ask)
        widget.installEventFilter(self)

    @property
    def want(self) -> int:
        return self._want

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget:
            kind = event.type()
            if kind == QEvent.Type.Show:
                self.timer.stop()
                self._ask()
            elif kind == QEvent.Type.Hide:
                self.timer.stop()
                self._set(0)
            elif self._widget.isVisible() and kind in (
                QEvent.Type.Resize,
                QEvent.Type.DevicePixelRatioChange,
            ):
                self.timer.start()
        return False

    def _ask(self) -> None:
        w = self._widget
        if w.isVisible():
            self._set(wanted_for(w.width() * w.devicePixelRatioF()))

    def _set(self, want: int) -> None:
        if want != self._want:
            self._want = want
            self.changed.emit(want)

"""A window of its own for one screen picture at full size: 1:1 with scroll bars, or fit."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .view import BACKGROUND, TIMES, ScreenView, tool_button


class FullSizeView(QDialog):
    """Shows a picture at 1:1 (one picture pixel per device pixel, scrolled)
    or fitted to the window. It is modeless and opened with ``show()``, never
    ``exec()``: the app runs asyncio on Qt's loop, and a nested loop would
    re-enter it. Closing it lets go of the picture (a 4K one is 33 MB)."""

    save_wanted = Signal()  # "Save PNG…" was clicked: the owner asks where and saves

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Screen at full size")
        self._image = QImage()

        self.one_to_one = tool_button("1:1", checkable=True)
        self.one_to_one.setToolTip("One screen pixel per display pixel, with scroll bars (1)")
        self.one_to_one.setShortcut(QKeySequence("1"))
        self.fit = tool_button("Fit", checkable=True)
        self.fit.setToolTip("The whole picture, scaled to the window (F)")
        self.fit.setShortcut(QKeySequence("F"))
        zoom = QButtonGroup(self)
        zoom.setExclusive(True)
        zoom.addButton(self.one_to_one)
        zoom.addButton(self.fit)
        self.one_to_one.toggled.connect(self._zoom)
        self.save_button = tool_button("Save PNG…")
        self.save_button.setToolTip("Save this picture as a PNG file")
        self.save_button.clicked.connect(self.save_wanted)
        self.caption = QLabel()

        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.scroller = QScrollArea()
        self.scroller.setWidget(self.label)
        self.scroller.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroller.setStyleSheet(f"QScrollArea {{ background: {BACKGROUND.name()}; border: 0 }}")
        self.fitted = ScreenView()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.scroller)
        self.stack.addWidget(self.fitted)

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(self.one_to_one)
        bar.addWidget(self.fit)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bar)
        self.one_to_one.setChecked(True)

    @property
    def image(self) -> QImage:
        return self._image

    @property
    def is_one_to_one(self) -> bool:
        return self.stack.currentWidget() is self.scroller

    def set_image(self, image: QImage, caption: str = "") -> None:
        """Show ``image`` (at 1:1 when first opened; the zoom chosen is kept)."""
        self._image = image
        pixmap = QPixmap.fromImage(image)
        # At this ratio Qt draws the pixmap one pixel per device pixel.
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.label.setPixmap(pixmap)
        self.label.resize(pixmap.deviceIndependentSize().toSize())
        self.fitted.set_image(image)
        self.caption.setText(caption or f"{image.width()}{TIMES}{image.height()}")
        self.setWindowTitle(f"Screen at full size ({image.width()}{TIMES}{image.height()})")

    def open_for(self, image: QImage, caption: str = "") -> None:
        """Show the window with ``image``, sized to it where the screen has room."""
        first = not self.isVisible()
        self.set_image(image, caption)
        if first:
            screen = self.screen() or QGuiApplication.primaryScreen()
            room = screen.availableGeometry().size() * 0.9
            want = self.label.size()
            want.setHeight(want.height() + self.caption.sizeHint().height() + 8)
            self.resize(want.boundedTo(room).expandedTo(self.minimumSizeHint()))
        self.show()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._release()
        super().closeEvent(event)

    def done(self, result: int) -> None:  # Escape, or a close the window manager asked
        self._release()
        super().done(result)

    # -- internals -------------------------------------------------------------------------

    def _zoom(self, one_to_one: bool) -> None:
        self.stack.setCurrentWidget(self.scroller if one_to_one else self.fitted)

    def _release(self) -> None:
        self._image = QImage()
        self.label.clear()
        self.fitted.set_image(None)

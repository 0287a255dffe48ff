"""One picture of a screen, scaled to fit and sharp on HiDPI, or a message instead."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import QToolButton, QWidget

# A dark neutral grey: the picture's edges stand out against it whatever the
# sandbox's desktop colour, and it is the tiles' screen background too.
BACKGROUND = QColor(24, 24, 24)
MESSAGE = QColor(170, 170, 170)
BLANK_HINT = "The screen is blank: nothing is drawn on it"
TIMES = "\u00d7"  # the multiplication sign, as in a size: 1920 by 1080


class ScreenView(QWidget):
    """Paints ``image`` scaled to fit (keeping its aspect, never cropped) and
    centred, or ``message`` when there is no image. A blank image (one flat
    colour) is drawn with ``blank_hint`` over it, so it does not read as a
    picture that failed to arrive.

    The picture is scaled in device pixels, once per size (cached), with a
    smooth filter, and drawn at the device pixel ratio: one image pixel per
    device pixel at 100%, so text on a HiDPI screen stays sharp.
    """

    shown_changed = Signal()  # the picture or the scale it is shown at changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(160, 90)
        self._image: QImage | None = None
        self._blank = False
        self._message = ""
        self.blank_hint = BLANK_HINT
        self._scaled: QImage | None = None
        self._scaled_key: tuple[int, int, int, float] | None = None

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    # -- what is shown ---------------------------------------------------------------------

    @property
    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None, blank: bool = False) -> None:
        self._image = image if image is not None and not image.isNull() else None
        self._blank = blank and self._image is not None
        self.update()
        self.shown_changed.emit()

    def set_message(self, text: str) -> None:
        self._message = text
        self.update()

    @property
    def message(self) -> str:
        """The text a person sees on the picture: the message when there is no
        picture, the blank hint over a blank one, else nothing."""
        if self._image is None:
            return self._message
        return self.blank_hint if self._blank else ""

    def device_target(self) -> QRect | None:
        """Where the picture goes, in device pixels of this widget."""
        if self._image is None:
            return None
        dpr = self.devicePixelRatioF()
        bw, bh = self.width() * dpr, self.height() * dpr
        iw, ih = self._image.width(), self._image.height()
        scale = min(bw / iw, bh / ih)
        dw, dh = max(1, round(iw * scale)), max(1, round(ih * scale))
        return QRect(int((bw - dw) // 2), int((bh - dh) // 2), dw, dh)

    def target(self) -> QRectF | None:
        """Where the picture goes, in this widget's (logical) coordinates."""
        dev = self.device_target()
        if dev is None:
            return None
        dpr = self.devicePixelRatioF()
        return QRectF(dev.x() / dpr, dev.y() / dpr, dev.width() / dpr, dev.height() / dpr)

    def shown_scale(self) -> float | None:
        """Device pixels per picture pixel (1.0 is 100%), None with no picture."""
        dev = self.device_target()
        if dev is None or self._image is None:
            return None
        return dev.width() / self._image.width()

    # -- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        dev = self.device_target()
        if self._image is None or dev is None:
            self._paint_text(painter, self._message, pill=False)
            self._paint_focus(painter)
            return
        scaled = self._scaled_to(dev.width(), dev.height())
        dpr = self.devicePixelRatioF()
        painter.drawImage(QPointF(dev.x() / dpr, dev.y() / dpr), scaled)
        if self._blank:
            self._paint_text(painter, self.blank_hint, pill=True)
        self._paint_focus(painter)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.shown_changed.emit()

    # -- internals -------------------------------------------------------------------------

    def _scaled_to(self, w: int, h: int) -> QImage:
        assert self._image is not None
        key = (self._image.cacheKey(), w, h, self.devicePixelRatioF())
        if self._scaled is None or self._scaled_key != key:
            if (w, h) == (self._image.width(), self._image.height()):
                scaled = QImage(self._image)  # a shallow copy, to set its ratio on
            else:
                scaled = self._image.scaled(
                    w,
                    h,
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            scaled.setDevicePixelRatio(self.devicePixelRatioF())
            self._scaled, self._scaled_key = scaled, key
        return self._scaled

    def _paint_focus(self, painter: QPainter) -> None:
        # The keys (Left, Right, Home, End) act while the picture has the focus:
        # a thin frame in the highlight colour says so, and costs no room.
        if self.hasFocus():
            painter.setPen(self.palette().color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))

    def _paint_text(self, painter: QPainter, text: str, pill: bool) -> None:
        if not text:
            return
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        fm = QFontMetrics(font)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        room = self.rect().adjusted(24, 24, -24, -24)
        box = fm.boundingRect(room, int(flags), text)
        if pill:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(40, 40, 40, 225))
            painter.drawRoundedRect(QRectF(box.adjusted(-12, -8, 12, 8)), 6, 6)
            painter.setPen(QColor(235, 235, 235))
        else:
            painter.setPen(MESSAGE)
        painter.drawText(room, int(flags), text)


def tool_button(text: str, tip: str = "", checkable: bool = False) -> QToolButton:
    """A flat toolbar button, as the screen's rows use."""
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    button.setAutoRaise(True)
    return button

"""A small line chart of one metric over the last minutes, drawn with QPainter.

A sparkline shows its title and current value as text and, under them, the
recent values as an antialiased line with a light fill, in the palette's
highlight colour. Samples are (wall-clock unix time, value) pairs; where
samples stop for a while (the host was disconnected) the line breaks rather
than drawing a straight line across the time nobody measured. Hovering shows
the nearest sample's value and time and marks it.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QToolTip, QWidget

from .theme import is_dark

Point = tuple[float, float]

DEFAULT_WINDOW_S = 300.0  # five minutes: the last stretch of a session one glances back at
# No sample for more than this many times the usual spacing means nobody was
# measuring (a disconnect, a paused stream): one late push at 3 s intervals
# still joins up, a minute's silence does not.
GAP_FACTOR = 3.0
PAD = 2  # px round the plot, so the line's width and the marker are not clipped
HOVER_PX = 24  # how far (along x) the pointer may be from a sample and still name it
NO_DATA = "no data yet"


class Sparkline(QWidget):
    """One metric's recent history. ``fmt`` turns a value into its text ("12.5 %")."""

    def __init__(
        self,
        title: str,
        fmt: Callable[[float], str],
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self._title = title
        self._fmt = fmt
        self._clock = clock  # the x-axis ends now (or at the last sample, if later)
        self._points: list[Point] = []
        self._lo: float | None = 0.0
        self._hi: float | None = None
        self._window_s = DEFAULT_WINDOW_S
        self._hover: int | None = None  # index into _points of the marked sample
        self.setMouseTracking(True)

    # -- public API ----------------------------------------------------------------

    def set_points(self, points: Sequence[Point]) -> None:
        """Replace the samples. They need not be sorted; times are unix seconds."""
        self._points = sorted((float(t), float(v)) for t, v in points)
        self._hover = None
        self.update()

    def set_range(self, lo: float | None, hi: float | None) -> None:
        """A fixed scale (0 and 100 for a CPU percentage). ``None`` for either end
        means from the data: the largest value, and for the bottom 0 (or the
        smallest value, if one is below 0)."""
        self._lo, self._hi = lo, hi
        self.update()

    def set_window_s(self, seconds: float) -> None:
        """How many seconds the x-axis spans, ending now."""
        if seconds <= 0:
            raise ValueError(f"a window must be positive, not {seconds}")
        self._window_s = float(seconds)
        self.update()

    def point_count(self) -> int:
        return len(self._points)

    def current(self) -> float | None:
        """The latest value, or None with no samples."""
        return self._points[-1][1] if self._points else None

    def title(self) -> str:
        return self._title

    def line_colour(self) -> QColor:
        """The palette's highlight, lightened on a dark palette where it is too
        dark to read against the window (some themes' highlight is navy)."""
        colour = self.palette().color(QPalette.ColorRole.Highlight)
        if is_dark(self.palette()) and colour.lightness() < 140:
            colour = colour.lighter(160)
        return colour

    def position_of(self, t: float, value: float) -> QPointF:
        """Where the sample (t, value) is drawn, in widget coordinates."""
        plot = self._plot_rect()
        start, end = self._x_span()
        lo, hi = self._y_span()
        x = plot.left() + (t - start) / (end - start) * plot.width()
        frac = (value - lo) / (hi - lo)
        frac = min(1.0, max(0.0, frac))  # a value off a fixed scale sits on its edge
        return QPointF(x, plot.bottom() - frac * plot.height())

    def tooltip_at(self, pos: QPoint | QPointF) -> str | None:
        """The text for the sample nearest ``pos`` along x ("12.5 % at 14:03:21"),
        or None where no sample is near. Marks that sample."""
        index = self._nearest(QPointF(pos))
        if index != self._hover:
            self._hover = index
            self.update()
        if index is None:
            return None
        t, v = self._points[index]
        return f"{self._fmt(v)} at {time.strftime('%H:%M:%S', time.localtime(t))}"

    def hovered(self) -> Point | None:
        """The sample the marker is on, if any."""
        return self._points[self._hover] if self._hover is not None else None

    def segments(self) -> list[list[Point]]:
        """The visible samples as the runs the line joins: a new run after a gap."""
        visible = self._visible()
        if not visible:
            return []
        limit = self._gap_limit(visible)
        runs: list[list[Point]] = [[visible[0]]]
        for prev, point in itertools.pairwise(visible):
            if limit is not None and point[0] - prev[0] > limit:
                runs.append([])
            runs[-1].append(point)
        return runs

    # -- Qt ------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(220, 56)

    def minimumSizeHint(self) -> QSize:
        # The text line and a plot still tall enough to show a slope.
        return QSize(100, self.fontMetrics().height() + 20)

    def event(self, event: QEvent) -> bool:
        # A tooltip asked for without a move first (keyboard focus, a still pointer).
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        text = self.tooltip_at(event.position())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_text(painter)
            runs = self.segments()
            if not runs:
                painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(self._plot_rect(), Qt.AlignmentFlag.AlignCenter, NO_DATA)
                return
            self._paint_line(painter, runs)
            self._paint_marker(painter)
        finally:
            painter.end()

    # -- internals -----------------------------------------------------------------

    def _text_rect(self) -> QRect:
        return QRect(PAD, 0, self.width() - 2 * PAD, self.fontMetrics().height())

    def _plot_rect(self) -> QRectF:
        top = self._text_rect().bottom() + 1 + PAD
        return QRectF(PAD, top, self.width() - 2 * PAD, max(1, self.height() - top - PAD))

    def _x_span(self) -> tuple[float, float]:
        end = self._clock()
        if self._points:
            end = max(end, self._points[-1][0])
        return end - self._window_s, end

    def _visible(self) -> list[Point]:
        start, _ = self._x_span()
        return self._points[bisect.bisect_left(self._points, (start, float("-inf"))) :]

    def _y_span(self) -> tuple[float, float]:
        values = [v for _, v in self._visible()]
        lo = self._lo if self._lo is not None else min([0.0, *values])
        if self._hi is not None:
            hi = self._hi
        else:
            # 10 % headroom, so the highest sample is not drawn on the top edge.
            top = max(values, default=lo)
            hi = top + 0.1 * (top - lo)
        if hi <= lo:
            hi = lo + 1.0  # all samples equal (often all 0): a flat line at the bottom
        return lo, hi

    @staticmethod
    def _gap_limit(points: Sequence[Point]) -> float | None:
        """The largest spacing that still joins two samples, from their usual
        spacing (the median, so one gap does not move the limit)."""
        steps = [b[0] - a[0] for a, b in itertools.pairwise(points)]
        steps = [s for s in steps if s > 0]
        if len(steps) < 2:
            return None  # two samples or fewer: nothing to tell a gap from
        return GAP_FACTOR * statistics.median(steps)

    def _nearest(self, pos: QPointF) -> int | None:
        visible = self._visible()
        if not visible:
            return None
        offset = len(self._points) - len(visible)
        best, best_dx = None, float(HOVER_PX)
        for i, (t, v) in enumerate(visible):
            dx = abs(self.position_of(t, v).x() - pos.x())
            if dx <= best_dx:  # ties go to the later sample
                best, best_dx = offset + i, dx
        return best

    def _paint_text(self, painter: QPainter) -> None:
        box = self._text_rect()
        pal = self.palette()
        value = self.current()
        shown = self._fmt(value) if value is not None else "-"
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shown)
        room = box.width() - self.fontMetrics().horizontalAdvance(shown) - 8
        title = self.fontMetrics().elidedText(self._title, Qt.TextElideMode.ElideRight, room)
        painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)

    def _paint_line(self, painter: QPainter, runs: list[list[Point]]) -> None:
        colour = self.line_colour()
        fill = QColor(colour)
        fill.setAlpha(70 if is_dark(self.palette()) else 45)  # light, behind the line
        bottom = self._plot_rect().bottom()
        # 2 px: whatever its height, a line this wide covers one pixel row fully,
        # so a flat line is never a faint blur across two rows.
        pen = QPen(colour, 2.0)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        for run in runs:
            pts = [self.position_of(t, v) for t, v in run]
            if len(pts) == 1:
                # A lone sample between gaps: a dot, or it would not show at all.
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colour)
                painter.drawEllipse(pts[0], 1.5, 1.5)
                continue
            line = QPainterPath(pts[0])
            for p in pts[1:]:
                line.lineTo(p)
            area = QPainterPath(line)
            area.lineTo(pts[-1].x(), bottom)
            area.lineTo(pts[0].x(), bottom)
            area.closeSubpath()
            painter.fillPath(area, fill)
            painter.strokePath(line, pen)

    def _paint_marker(self, painter: QPainter) -> None:
        point = self.hovered()
        if point is None:
            return
        centre = self.position_of(*point)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Base), 1.5))
        painter.setBrush(self.line_colour())
        painter.drawEllipse(centre, 3.5, 3.5)

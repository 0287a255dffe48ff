"""The sparkline as a person sees it: its line where the data says, breaks
where samples stopped, the nearest sample named on hover, "no data yet"."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF
from PySide6.QtGui import QColor, QHelpEvent, QImage, QPalette
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot

from app.ui.sparkline import Sparkline

NOW = 1_800_000_000.0
LINE = QColor(0, 90, 200)
TEXT_DIM = QColor(220, 0, 0)  # the placeholder colour, so "no data yet" can be found


def percent(v: float) -> str:
    return f"{v:.1f} %"


def light_palette() -> QPalette:
    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, QColor("white")),
        (QPalette.ColorRole.Base, QColor("white")),
        (QPalette.ColorRole.WindowText, QColor("black")),
        (QPalette.ColorRole.Highlight, LINE),
        (QPalette.ColorRole.PlaceholderText, TEXT_DIM),
    ):
        pal.setColor(role, colour)
    return pal


@pytest.fixture
def spark(qtbot: QtBot) -> Sparkline:
    w = Sparkline("CPU", percent, clock=lambda: NOW)
    w.setPalette(light_palette())
    w.setAutoFillBackground(True)
    w.resize(240, 90)
    qtbot.addWidget(w)
    return w


def near(image: QImage, p: QPointF, colour: QColor, radius: int = 2, tol: int = 40) -> bool:
    """Whether a pixel within ``radius`` of ``p`` has about ``colour``."""
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            x, y = round(p.x()) + dx, round(p.y()) + dy
            if not (0 <= x < image.width() and 0 <= y < image.height()):
                continue
            c = image.pixelColor(x, y)
            if all(
                abs(a - b) <= tol for a, b in zip(c.getRgb()[:3], colour.getRgb()[:3], strict=True)
            ):
                return True
    return False


def test_the_line_is_drawn_where_the_samples_are(spark: Sparkline) -> None:
    spark.set_range(0, 100)
    points = [(NOW - 280 + 10 * i, 10.0 + 3 * i) for i in range(29)]
    spark.set_points(points)
    assert spark.point_count() == 29 and spark.current() == points[-1][1]
    image = spark.grab().toImage()
    for t, v in points:
        assert near(image, spark.position_of(t, v), LINE), (t, v)
    # Above the line (the top of the plot, where the early values are low) is not drawn on.
    early = spark.position_of(*points[2])
    assert not near(image, QPointF(early.x(), early.y() - 25), LINE)
    # A fixed scale: 100 % is the top of the plot, 0 the bottom.
    assert spark.position_of(NOW, 100).y() < spark.position_of(NOW, 0).y()


def test_an_automatic_scale_starts_at_zero_and_fits_the_largest_value(spark: Sparkline) -> None:
    spark.set_range(None, None)
    spark.set_points([(NOW - 20, 2e6), (NOW - 10, 5e6), (NOW, 8e6)])
    top, bottom = spark.position_of(NOW, 8e6).y(), spark.position_of(NOW, 0).y()
    assert top > spark.position_of(NOW, 9e6).y()  # headroom over the largest value
    assert bottom > top
    image = spark.grab().toImage()
    assert near(image, spark.position_of(NOW - 10, 5e6), LINE)


def test_a_gap_in_the_samples_breaks_the_line(spark: Sparkline) -> None:
    spark.set_range(0, 100)
    before = [(NOW - 290 + 3 * i, 50.0) for i in range(30)]  # up to NOW - 203
    after = [(NOW - 100 + 3 * i, 50.0) for i in range(34)]  # from NOW - 100
    spark.set_points(before + after)
    runs = spark.segments()
    assert [len(r) for r in runs] == [30, 34]
    image = spark.grab().toImage()
    assert near(image, spark.position_of(NOW - 250, 50), LINE)
    assert near(image, spark.position_of(NOW - 50, 50), LINE)
    # In the middle of the silence, at the line's height: nothing drawn.
    assert not near(image, spark.position_of(NOW - 150, 50), LINE, radius=3)


def test_one_late_sample_does_not_break_the_line(spark: Sparkline) -> None:
    times = [NOW - 60 + 3 * i for i in range(10)] + [NOW - 25, NOW - 22, NOW - 19]
    spark.set_points([(t, 1.0) for t in times])
    assert len(spark.segments()) == 1  # 8 s against a usual 3 s is a late push, not a gap


def test_hover_names_the_nearest_sample_and_marks_it(spark: Sparkline) -> None:
    spark.set_range(0, 100)
    points = [(NOW - 200, 12.5), (NOW - 100, 40.0), (NOW, 90.0)]
    spark.set_points(points)
    p = spark.position_of(NOW - 100, 40.0)
    text = spark.tooltip_at(QPointF(p.x() + 5, 0))
    assert text == f"40.0 % at {time.strftime('%H:%M:%S', time.localtime(NOW - 100))}"
    assert spark.hovered() == (NOW - 100, 40.0)
    # Far from every sample along x: no tooltip, no marker.
    between = (spark.position_of(NOW - 200, 0).x() + p.x()) / 2
    assert spark.tooltip_at(QPointF(between, p.y())) is None
    assert spark.hovered() is None


def test_a_tooltip_event_shows_the_text(spark: Sparkline, qtbot: QtBot) -> None:
    spark.set_points([(NOW - 10, 12.5), (NOW, 20.0)])
    spark.show()
    qtbot.waitExposed(spark)
    p = spark.position_of(NOW, 20.0).toPoint()
    event = QHelpEvent(QEvent.Type.ToolTip, p, spark.mapToGlobal(p))
    QApplication.sendEvent(spark, event)
    assert QToolTip.text().startswith("20.0 % at ")
    QToolTip.hideText()


def test_no_data_says_so(spark: Sparkline) -> None:
    image = spark.grab().toImage()
    plot_mid = QPointF(spark.width() / 2, spark.height() * 0.65)
    assert spark.current() is None and spark.segments() == []
    assert near(image, plot_mid, TEXT_DIM, radius=30, tol=90)  # the dim "no data yet"
    spark.set_points([(NOW - 5, 1.0), (NOW, 1.0)])
    assert not near(spark.grab().toImage(), plot_mid, TEXT_DIM, radius=30, tol=90)


def test_samples_older_than_the_window_are_not_drawn(spark: Sparkline) -> None:
    spark.set_window_s(60)
    spark.set_points([(NOW - 600 + 3 * i, 5.0) for i in range(201)])
    assert spark.point_count() == 201
    assert sum(len(r) for r in spark.segments()) == 21  # NOW - 60 .. NOW
    with pytest.raises(ValueError):
        spark.set_window_s(0)


def test_the_line_is_readable_on_a_dark_palette(spark: Sparkline) -> None:
    pal = light_palette()
    pal.setColor(QPalette.ColorRole.Window, QColor(30, 30, 30))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(20, 40, 110))  # a navy highlight
    spark.setPalette(pal)
    assert spark.line_colour().lightness() >= 60
    spark.setPalette(light_palette())
    assert spark.line_colour() == LINE


def test_size_hints_are_compact(spark: Sparkline) -> None:
    assert spark.sizeHint().width() <= 240 and spark.sizeHint().height() <= 64
    assert spark.minimumSizeHint().height() > spark.fontMetrics().height()
    assert spark.tooltip_at(QPoint(5, 5)) is None  # no data, no tooltip

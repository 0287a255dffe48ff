"""The Screen pane and its frame history, driven by feeding frames.

The frames are JPEGs made here with Pillow, as hostd makes them (quality 80,
hostd/capture/frames.py): feeding their bytes to ``ScreenPane.add_frame``
stands in for the stream of ``screenshot`` notifications, the one input
the pane has, since it does no I/O of its own. Times are passed in, so
nothing sleeps. What comes out is checked as a person sees it: the pixels
of ``grab()``, the labels' texts, the files written, the signals emitted.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.screen.history import FrameHistory
from app.ui.screen.pane import PLACEHOLDER, ScreenPane
from app.ui.screen.saving import writes
from app.ui.screen.view import BACKGROUND, BLANK_HINT
from app.ui.screen.wish import ASK_DELAY_MS, MAX_WANT_PX, WANT_STEP_PX, wanted_for

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 60), (40, 60, 230)
YELLOW, MAGENTA, CYAN = (230, 210, 30), (200, 40, 200), (30, 200, 210)
W, H = 320, 180  # the frames' size: 16:9, like the screens hostd makes


def jpeg(colour: tuple[int, int, int], w: int = W, h: int = H) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def feed(
    pane: ScreenPane,
    colour: tuple[int, int, int],
    t: float | None = None,
    blank: bool = False,
    size: tuple[int, int] = (W, H),
) -> None:
    data = jpeg(colour, *size)
    pane.add_frame(data, QImage.fromData(data), blank, t)


def near(c: QColor, colour: tuple[int, int, int], tol: int = 24) -> bool:
    """JPEG is lossy: a flat colour comes back within a few levels."""
    got = (c.red(), c.green(), c.blue())
    return all(abs(a - b) <= tol for a, b in zip(got, colour, strict=True))


def centre(pane: ScreenPane) -> QColor:
    image = pane.view.grab().toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def shows(pane: ScreenPane, colour: tuple[int, int, int]) -> bool:
    return near(centre(pane), colour)


@pytest.fixture
def pane(qtbot: Any) -> ScreenPane:
    p = ScreenPane()
    qtbot.addWidget(p)
    p.resize(640, 420)
    p.show()
    qtbot.waitExposed(p)
    return p


def ago(seconds: float) -> float:
    return time.monotonic() - seconds


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


# -- what the pane shows ---------------------------------------------------------------


def test_the_placeholder_shows_before_a_frame(pane: ScreenPane) -> None:
    assert pane.view.message == PLACEHOLDER
    pane.set_placeholder("The sandbox is stopped: no screen")
    assert pane.view.message == "The sandbox is stopped: no screen"
    image = pane.view.grab().toImage()
    middle = [image.pixelColor(x, image.height() // 2) for x in range(image.width())]
    assert any(c.lightness() > 120 for c in middle), "the text is drawn across the middle"
    assert image.pixelColor(3, 3) == BACKGROUND
    assert not pane.bar.save_button.isEnabled() and not pane.bar.full_button.isEnabled()


def test_a_frame_fed_shows_at_once_fitted_and_centred(pane: ScreenPane) -> None:
    feed(pane, RED)
    assert shows(pane, RED)
    assert pane.view.message == ""
    image = pane.view.grab().toImage()
    target = pane.view.target()
    assert target is not None
    # 16:9 in a taller area: the whole width used, dark bands above and below.
    assert round(target.width()) == pane.view.width()
    assert image.pixelColor(image.width() // 2, 2) == BACKGROUND
    assert pane.bar.age.text() == "LIVE"
    scale = round(pane.view.width() / W * 100)
    assert pane.bar.caption.text() == f"320\u00d7180, shown at {scale}%"
    feed(pane, GREEN)
    assert shows(pane, GREEN)


def test_a_blank_frame_shows_a_hint_over_it(pane: ScreenPane) -> None:
    feed(pane, (0, 0, 0), blank=True)
    assert pane.view.message == BLANK_HINT
    image = pane.view.grab().toImage()
    y = image.height() // 2
    assert any(image.pixelColor(x, y).lightness() > 120 for x in range(image.width()))


def test_clear_forgets_the_frames_and_shows_the_placeholder(pane: ScreenPane) -> None:
    feed(pane, RED)
    pane.clear()
    assert len(pane.history) == 0
    assert pane.view.message == PLACEHOLDER
    image = pane.view.grab().toImage()
    row = [image.pixelColor(x, image.height() // 3) for x in range(image.width())]
    assert not any(near(c, RED) for c in row), "the picture is gone"
    assert pane.bar.caption.text() == "" and not pane.bar.age.isVisible()


def test_closing_the_pane_drops_its_history(pane: ScreenPane) -> None:
    feed(pane, RED)
    pane.close()
    assert len(pane.history) == 0 and pane.history.total_bytes == 0


# -- scrubbing -------------------------------------------------------------------------


def test_scrubbed_back_the_older_frame_stays_while_new_ones_arrive(pane: ScreenPane) -> None:
    for i, colour in enumerate((RED, GREEN, BLUE)):
        feed(pane, colour, t=ago(20 - i))
    pane.slider.setValue(0)  # as a drag to the far left
    assert shows(pane, RED)
    assert not pane.is_live and pane.bar.live_button.isEnabled()
    assert pane.bar.age.text().startswith("\u2212")  # "-20 s", with a minus sign
    assert ":" in pane.bar.caption.text()  # the frame's clock time

    feed(pane, YELLOW)
    feed(pane, MAGENTA)
    assert shows(pane, RED)
    assert pane.slider.maximum() == 4 and pane.slider.value() == 0


def test_the_frame_looked_at_keeps_its_place_as_older_ones_drop(pane: ScreenPane) -> None:
    pane.history = FrameHistory(max_frames=4)
    for colour in (RED, GREEN, BLUE):
        feed(pane, colour)
    pane.show_frame(1)
    assert shows(pane, GREEN)
    feed(pane, YELLOW)
    feed(pane, MAGENTA)  # red is dropped: green moves to the front
    assert shows(pane, GREEN) and pane.slider.value() == 0
    feed(pane, CYAN)  # green is dropped: the oldest kept is the nearest to it
    assert shows(pane, BLUE) and pane.slider.value() == 0 and not pane.is_live


def test_live_returns_to_the_newest_frame(pane: ScreenPane, qtbot: Any) -> None:
    for colour in (RED, GREEN):
        feed(pane, colour)
    pane.show_frame(0)
    feed(pane, BLUE)
    assert shows(pane, RED)
    qtbot.mouseClick(pane.bar.live_button, Qt.MouseButton.LeftButton)
    assert shows(pane, BLUE)
    assert pane.is_live and pane.slider.value() == pane.slider.maximum() == 2
    assert pane.bar.age.text() == "LIVE" and not pane.bar.live_button.isEnabled()
    feed(pane, YELLOW)
    assert shows(pane, YELLOW)


def test_keys_step_through_the_frames(pane: ScreenPane) -> None:
    for colour in (RED, GREEN, BLUE):
        feed(pane, colour)
    pane.view.setFocus()
    QTest.keyClick(pane.view, Qt.Key.Key_Left)
    assert shows(pane, GREEN)
    QTest.keyClick(pane.view, Qt.Key.Key_Home)
    assert shows(pane, RED) and pane.slider.value() == 0
    QTest.keyClick(pane.view, Qt.Key.Key_Right)
    assert shows(pane, GREEN)
    QTest.keyClick(pane.view, Qt.Key.Key_End)
    assert shows(pane, BLUE) and pane.is_live


# -- the width it asks for -------------------------------------------------------------


def test_widths_are_asked_in_steps_up_to_hostds_cap() -> None:
    assert wanted_for(1) == WANT_STEP_PX
    assert wanted_for(1920) == 1920  # a screen's width is asked exactly
    assert wanted_for(1921) == 2080
    assert wanted_for(100_000) == MAX_WANT_PX


def test_shown_it_asks_for_its_device_width_and_hidden_for_none(qtbot: Any) -> None:
    pane = ScreenPane()
    qtbot.addWidget(pane)
    pane.resize(500, 300)
    with qtbot.waitSignal(pane.wanted_width, timeout=5000) as shown:
        pane.show()
    device_width = pane.width() * pane.devicePixelRatioF()
    assert shown.args[0] >= device_width and shown.args[0] % WANT_STEP_PX == 0
    assert pane.want == shown.args[0]
    with qtbot.waitSignal(pane.wanted_width, timeout=5000) as hidden:
        pane.hide()
    assert hidden.args == [0] and pane.want == 0


def test_a_resize_asks_again_once_it_has_settled(pane: ScreenPane, qtbot: Any) -> None:
    asked: list[int] = []
    pane.wanted_width.connect(asked.append)
    first = pane.want
    for width in (700, 850, 1000):  # a splitter being dragged
        pane.resize(width, 420)
        qtbot.waitUntil(lambda width=width: pane.width() == width, timeout=5000)
    assert asked == [] and pane.wish.timer.isActive(), f"held for {ASK_DELAY_MS} ms"
    with qtbot.waitSignal(pane.wanted_width, timeout=5000) as resized:
        pass
    assert resized.args == [wanted_for(1000 * pane.devicePixelRatioF())] != [first]
    assert asked == resized.args


# -- full size and saving --------------------------------------------------------------


def marked(w: int, h: int) -> QImage:
    """Grey, with a blue 10x10 block at (200, 100): where 1:1 must put it."""
    image = QImage(w, h, QImage.Format.Format_RGB32)
    image.fill(QColor(128, 128, 128))
    for y in range(100, 110):
        for x in range(200, 210):
            image.setPixelColor(x, y, QColor(*BLUE))
    return image


def test_full_size_shows_the_picture_one_to_one(pane: ScreenPane, qtbot: Any) -> None:
    feed(pane, RED)
    with qtbot.waitSignal(pane.full_size_requested, timeout=5000):
        qtbot.mouseClick(pane.bar.full_button, Qt.MouseButton.LeftButton)
    pane.show_full(marked(1200, 800))  # what the owner fetched with sandbox.screenshot
    full = pane._full
    assert full is not None
    qtbot.waitExposed(full)
    assert full.is_one_to_one and full.caption.text() == "1200\u00d7800"
    viewport = full.scroller.viewport()
    shot = viewport.grab().toImage()
    at = full.label.mapTo(viewport, QPoint(205, 105))
    ratio = shot.devicePixelRatio()
    assert near(shot.pixelColor(round(at.x() * ratio), round(at.y() * ratio)), BLUE, tol=0)
    assert full.label.width() * full.devicePixelRatioF() == 1200

    qtbot.mouseClick(full.fit, Qt.MouseButton.LeftButton)
    assert not full.is_one_to_one
    scale = full.fitted.shown_scale()
    assert scale is not None and scale < 1  # the whole of it, in a smaller window
    full.close()
    assert full.image.isNull(), "a closed full-size window lets go of the picture"


def test_full_size_scrubbed_back_shows_the_frame_kept(pane: ScreenPane, qtbot: Any) -> None:
    asked: list[None] = []
    pane.full_size_requested.connect(lambda: asked.append(None))
    feed(pane, RED)
    feed(pane, GREEN)
    pane.show_frame(0)
    qtbot.mouseClick(pane.bar.full_button, Qt.MouseButton.LeftButton)
    assert asked == []  # hostd has no bigger picture of the past
    full = pane._full
    assert full is not None and full.isVisible()
    assert near(full.image.pixelColor(W // 2, H // 2), RED)
    assert full.caption.text().startswith("320\u00d7180 · "), "with the frame's clock time"


def saved_colour(path: Path) -> QColor:
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is a picture"
    return image.pixelColor(image.width() // 2, image.height() // 2)


def test_saving_scrubbed_back_writes_the_frame_shown(
    pane: ScreenPane, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "old.png"
    monkeypatch.setattr(pane, "choose_save_path", lambda: target)
    asked: list[Path] = []
    pane.save_requested.connect(asked.append)
    feed(pane, RED)
    feed(pane, GREEN)
    pane.show_frame(0)
    with qtbot.waitSignal(pane.saved, timeout=10_000) as saved:
        qtbot.mouseClick(pane.bar.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == [target, ""] and asked == []
    assert target.read_bytes().startswith(b"\x89PNG")
    assert near(saved_colour(target), RED)
    assert pane.bar.note.text() == "Saved old.png"


def test_saving_live_asks_the_owner_for_a_full_size_picture(
    pane: ScreenPane, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "live.png"
    monkeypatch.setattr(pane, "choose_save_path", lambda: target)
    feed(pane, RED)
    with qtbot.waitSignal(pane.save_requested, timeout=5000) as asked:
        qtbot.mouseClick(pane.bar.save_button, Qt.MouseButton.LeftButton)
    assert asked.args == [target]
    with qtbot.waitSignal(pane.saved, timeout=10_000):
        pane.save_image(marked(1200, 800), target)  # what the owner fetched
    assert QImage(str(target)).size().toTuple() == (1200, 800)


def test_saving_live_with_no_owner_listening_writes_the_live_frame(
    pane: ScreenPane, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "live.png"
    monkeypatch.setattr(pane, "choose_save_path", lambda: target)
    feed(pane, BLUE)
    with qtbot.waitSignal(pane.saved, timeout=10_000):
        qtbot.mouseClick(pane.bar.save_button, Qt.MouseButton.LeftButton)
    assert near(saved_colour(target), BLUE)


def test_saving_where_it_cannot_says_so(pane: ScreenPane, qtbot: Any, tmp_path: Path) -> None:
    feed(pane, RED)
    target = tmp_path / "no such folder" / "x.png"
    with qtbot.waitSignal(pane.saved, timeout=10_000) as saved:
        pane.save_image(marked(300, 200), target)
    assert saved.args[0] == target and saved.args[1]
    assert pane.bar.note.text().startswith("Could not save x.png: "), pane.bar.note.text()
    assert pane.bar.note.styleSheet(), "in the error colour"


def test_cancelling_the_save_dialog_saves_nothing(
    pane: ScreenPane, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pane, "choose_save_path", lambda: None)
    asked: list[Path] = []
    pane.save_requested.connect(asked.append)
    feed(pane, RED)
    qtbot.mouseClick(pane.bar.save_button, Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert asked == [] and pane.bar.note.text() == ""


def test_a_save_that_ends_after_its_pane_has_gone_is_harmless(qtbot: Any, tmp_path: Path) -> None:
    pane = ScreenPane()
    target = tmp_path / "late.png"
    with qtbot.waitSignal(writes().done, timeout=10_000) as done:
        pane.save_image(marked(1920, 1080), target)
        shiboken6.delete(pane)  # gone while the pool still encodes
    assert done.args[1:] == [target, ""] and target.exists()

"""The row under the screen: how old the picture is, the slider, a caption, the buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from ..plain import tip as plain_tip
from ..theme import activity_colour, status_colour
from .view import tool_button

# A note ("Saved screen.png") stays this long: long enough to read twice.
NOTE_MS = 8000
MINUS = "\u2212"  # the minus sign: an age reads as "minus 23 s", not as a hyphen
ERROR = "#d32f2f"  # the theme's "dead" red


def age_text(seconds: float) -> str:
    """How long ago, as the label shows it: minus "23 s", "4 min 05 s", "2 h 10 min"."""
    s = max(0, round(seconds))
    if s < 100:
        return f"{MINUS}{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{MINUS}{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{MINUS}{h} h {m:02d} min"


class ScreenBar(QWidget):
    """One compact row; the pane connects its slider and buttons and fills its labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.age = QLabel()
        self.age.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # As wide as the widest age it shows in the first hour, so the row keeps still.
        self.age.setMinimumWidth(self.age.fontMetrics().horizontalAdvance(age_text(3599)) + 16)
        policy = self.age.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # and when the first frame shows it
        self.age.setSizePolicy(policy)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip(
            "The last minute of this screen: drag left to look back"
            " (Left and Right step, Home the oldest, End live)"
        )
        self.slider.setAccessibleName("Time on the screen's last minute")
        self.caption = QLabel()
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # hostd's messages, as written
        self.live_button = tool_button("Live", "Back to the live picture (End)")
        self.full_button = tool_button("Full size", "The picture at full size, pixel for pixel")
        self.save_button = tool_button("Save PNG…", "Save the picture shown as a PNG file")
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.setInterval(NOTE_MS)
        self._note_timer.timeout.connect(self.note.clear)

        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.setSpacing(6)
        row.addWidget(self.age)
        row.addWidget(self.slider, 1)
        row.addWidget(self.caption)
        row.addWidget(self.note)
        for button in (self.live_button, self.full_button, self.save_button):
            row.addWidget(button)

    def show_age(self, age_s: float | None, palette: QPalette) -> None:
        """ "LIVE" (``age_s`` None) or how old the frame shown is, as a coloured pill."""
        if age_s is None:
            text, colour = "LIVE", status_colour("running")
        else:
            text, colour = age_text(age_s), activity_colour("waiting", palette)
        self.age.setText(text)
        self.age.setStyleSheet(
            f"background: {colour.name()}; color: white; font-weight: bold;"
            " border-radius: 3px; padding: 1px 6px"
        )
        self.age.show()

    def set_note(self, text: str, error: bool = False, tip: str = "") -> None:
        self.note.setText(text)
        self.note.setToolTip(plain_tip(tip or text))
        self.note.setStyleSheet(f"color: {ERROR}" if error else "")
        self._note_timer.start()

"""The log viewer's search field: the query, next/previous, the count, case.

It only asks; the viewer searches. Typing asks once the typing pauses;
Enter asks at once (if the pause has not come yet) and then for the next
match, Shift+Enter for the previous; Escape asks to close the search.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

SEARCH_DEBOUNCE_MS = 150  # typing a word searches once it pauses, not on every letter


class SearchBar(QWidget):
    changed = Signal()  # the query or the case toggle changed: search again
    next_requested = Signal()
    previous_requested = Signal()
    escaped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit()
        self.field.setPlaceholderText("Search")
        self.field.setClearButtonEnabled(True)
        self.field.installEventFilter(self)
        self.previous = self._tool(
            "Previous match (Shift+Enter, Shift+F3)", self.previous_requested
        )
        self.previous.setArrowType(Qt.ArrowType.UpArrow)
        self.next = self._tool("Next match (Enter, F3)", self.next_requested)
        self.next.setArrowType(Qt.ArrowType.DownArrow)
        self.count = QLabel()
        self.case = self._tool("Match case", self.changed)
        self.case.setText("Aa")
        self.case.setCheckable(True)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.changed)
        self.field.textChanged.connect(lambda _text: self._debounce.start())

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.field, self.previous, self.next, self.count, self.case):
            layout.addWidget(w)
        self.show_count(0, None)

    @property
    def query(self) -> str:
        return self.field.text()

    @property
    def case_sensitive(self) -> bool:
        return self.case.isChecked()

    def set_query(self, text: str) -> None:
        """Set the field without asking (the caller searches itself)."""
        self.field.blockSignals(True)
        self.field.setText(text)
        self.field.blockSignals(False)
        self._debounce.stop()

    def show_count(self, count: int, current: int | None) -> None:
        """``count`` matches, the ``current`` one (0-based) if there is one."""
        if not self.query:
            text = ""
        elif not count:
            text = "No matches"
        elif current is None:
            text = "1 match" if count == 1 else f"{count:,} matches"
        else:
            text = f"{current + 1:,} of {count:,}"
        self.count.setText(text)
        self.previous.setEnabled(count > 0)
        self.next.setEnabled(count > 0)

    def focus(self) -> None:
        self.field.setFocus()
        self.field.selectAll()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self._debounce.isActive():  # Enter before the pause: search now
                    self._debounce.stop()
                    self.changed.emit()
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.previous_requested.emit()
                else:
                    self.next_requested.emit()
                return True
            if key == Qt.Key.Key_Escape:
                self._debounce.stop()
                self.escaped.emit()
                return True
        return super().eventFilter(obj, event)

    def _tool(self, tip: str, signal: SignalInstance) -> QToolButton:
        button = QToolButton()
        button.setToolTip(tip)
        button.clicked.connect(signal)  # signal to signal: clicked's argument is dropped
        return button

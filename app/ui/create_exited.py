"""The New sandbox dialog's word on an agent that exited at once: its status,
the last lines of its terminal, and that the sandbox was kept."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

# The last lines shown without scrolling (hostd keeps 10, docs/protocol.md).
EXITED_ROWS = 6


class ExitedPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("color: #d32f2f;")
        self.lines = QPlainTextEdit()
        self.lines.setReadOnly(True)
        self.lines.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.lines.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.lines.setFixedHeight(self.lines.fontMetrics().lineSpacing() * EXITED_ROWS + 12)
        self.kept = QLabel()
        self.kept.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        for w in (self.title, self.lines, self.kept):
            box.addWidget(w)

    def show_sandbox(self, sandbox: dict[str, Any]) -> None:
        """Say what hostd's ``exited`` Sandbox record says (``exit_code``, ``last_lines``)."""
        code = sandbox.get("exit_code")
        said = "" if code is None else f" with status {code}"
        self.title.setText(f"The agent exited at once{said}:")
        lines = [str(line) for line in sandbox.get("last_lines") or []]
        # Plain text: what the agent printed shows as written.
        self.lines.setPlainText("\n".join(lines) or "(it printed nothing)")
        self.kept.setText(
            f"The sandbox {sandbox.get('name')} was kept, as exited: its tile shows it, "
            "and its terminal and log can be read. Close this, or delete it to change "
            "what you typed and create again."
        )
        self.show()

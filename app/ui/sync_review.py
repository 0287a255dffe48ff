"""The Sync panel's review of held config changes: what the agent changed on
the host that would configure or run code on this machine, and the person's
choice, Accept (take those versions) or Keep mine (leave this machine's).

See :mod:`app.remote.sync.review` for which files and why; the
:class:`~app.ui.sync_panel.SyncController` holds the list and carries out
the choice.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.remote.sync.review import WHY, Held


class HasHeld(Protocol):
    held: list[Held]

    @property
    def busy(self) -> bool: ...

    watching: bool


class HeldReview(QWidget):
    """Hidden while nothing is held."""

    accepted = Signal()
    kept = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sync-held")
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("color: #b26a00;")
        self.items = QListWidget()
        self.items.setToolTip(
            "Look at them on the host (the sandbox's project) before you accept: "
            "they run with your rights here."
        )
        self.accept = QPushButton("Accept")
        self.accept.setToolTip("Copy the host's versions of these files to this machine")
        self.keep = QPushButton("Keep mine")
        self.keep.setToolTip(
            "Leave this machine's files as they are; you are asked again if the host's change"
        )
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.accept)
        row.addWidget(self.keep)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.items)
        layout.addLayout(row)
        self.accept.clicked.connect(self.accepted)
        self.keep.clicked.connect(self.kept)
        self.hide()

    def show_for(self, c: HasHeld) -> None:
        held = c.held
        self.setVisible(bool(held))
        n = len(held)
        self.title.setText(
            f"Not copied here yet: {n} change{'s' * (n != 1)} from the sandbox, held back "
            f"because {WHY}. Look at them in the sandbox's project first."
        )
        shown = [h.describe() for h in held]
        if [self.items.item(i).text() for i in range(self.items.count())] != shown:
            self.items.clear()
            self.items.addItems(shown)
        free = not c.busy or c.watching
        self.accept.setEnabled(bool(held) and free)
        self.keep.setEnabled(bool(held) and free)

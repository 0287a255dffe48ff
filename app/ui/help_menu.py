"""The window's Help menu: About (the version), the README, and the keyboard
shortcuts.

The shortcuts dialog reads the window's own QActions and QShortcuts when it
opens, so it lists what the window really has (a tab's terminal included
while one is open), never a list kept by hand that goes stale.

The README is the README.md beside the package (a clone, or an editable
install), opened with the desktop's handler for it; a copy installed without
it opens the project's home page if the package's metadata names one, and
otherwise says where the README is to be found.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hostd.protocol.version import __version__

from .plain import tip
from .sandbox_tab import PAGE_KEYS
from .terminal.keys import widget_action

PACKAGE = "claude-sandbox"
IN_TERMINAL = "In a terminal: "
_TERMINAL_CHORDS = (
    ("Ctrl+Shift+C", "copy"),
    ("Ctrl+Shift+V", "paste"),
    ("Ctrl+=", "larger text"),
    ("Ctrl+-", "smaller text"),
    ("Ctrl+0", "text size as set"),
)
# Said under the list: the rest of the keys in a terminal are the agent's.
TERMINAL_NOTE = (
    "In a terminal, keys go to the agent (Ctrl+Q, Ctrl+F, Delete… too); "
    "Ctrl+Shift combinations stay the window's."
)
README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class Shortcut:
    keys: str  # as the platform writes them: "Ctrl+Q"
    what: str  # "Quit"


def shortcuts_of(window: QWidget) -> list[Shortcut]:
    """Every key the window (and what is in it) answers, with what it does,
    in the order of the keys; one row per key and meaning."""
    found: list[Shortcut] = []
    for action in window.findChildren(QAction):
        what = _plain(action.text()) or action.toolTip()
        for seq in action.shortcuts():
            found.append(Shortcut(_keys(seq), what))
    for shortcut in window.findChildren(QShortcut):
        what = shortcut.whatsThis() or shortcut.objectName() or "—"
        for seq in shortcut.keys():  # noqa: SIM118 (a QShortcut, not a dict)
            found.append(Shortcut(_keys(seq), what))
    # A sandbox tab's page keys, whether or not a tab is open now.
    for keys_text, _step, what in PAGE_KEYS:
        found.append(Shortcut(_keys(QKeySequence(keys_text)), what))
    # The terminal's own chords (they are keys it keeps, not QActions): asked
    # of the terminal's key table, so a chord it drops drops from here too.
    for chord, what in _TERMINAL_CHORDS:
        keys = QKeySequence(chord)
        combo = keys[0]  # type: ignore[index]  # PySide6 has it; its stubs do not
        if widget_action(combo.key(), combo.keyboardModifiers()) is not None:
            found.append(Shortcut(_keys(keys), f"{IN_TERMINAL}{what}"))
    seen: set[Shortcut] = set()
    out = []
    for s in found:
        if s.keys and s not in seen:
            seen.add(s)
            out.append(s)
    # The window's keys first, then a terminal's own, each by key.
    return sorted(out, key=lambda s: (s.what.startswith(IN_TERMINAL), s.keys.lower(), s.what))


def readme_url() -> QUrl | None:
    """Where the README is: the file beside the package, else the project's
    home page from the package's metadata; None when neither is known."""
    if README.is_file():
        return QUrl.fromLocalFile(str(README))
    try:
        meta = importlib.metadata.metadata(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    # "Project-URL: Homepage, https://…" (pyproject's [project.urls]), or the older Home-page.
    urls = [e.partition(",")[2].strip() for e in meta.get_all("Project-URL") or []]
    urls += [str(u).strip() for u in meta.get_all("Home-page") or []]
    url = next((u for u in urls if u), None)
    return QUrl(url) if url else None


class HelpMenu:
    """Builds the Help menu on the window; each entry returns its dialog (for tests)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        menu = window.menuBar().addMenu("&Help")
        self.shortcuts_action = menu.addAction("Keyboard shortcuts")
        self.shortcuts_action.triggered.connect(lambda _c=False: self.show_shortcuts())
        self.readme_action = menu.addAction("README")
        self.readme_action.triggered.connect(lambda _c=False: self.open_readme())
        menu.addSeparator()
        self.about_action = menu.addAction("About Claude Sandbox")
        self.about_action.triggered.connect(lambda _c=False: self.about())

    def about(self) -> QMessageBox:
        box = QMessageBox(self.window)
        box.setObjectName("about-dialog")
        box.setWindowTitle("About Claude Sandbox")
        box.setIcon(QMessageBox.Icon.Information)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"Claude Sandbox {__version__}")
        box.setInformativeText(
            "Watch and steer coding agents in sandboxes on this machine and on "
            f"your servers over SSH.\n\nThis window and claude-remote are version "
            f"{__version__}; each host's view says the version of its hostd."
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def open_readme(self) -> QUrl | None:
        """Open the README with the desktop's handler; say so in the window either way."""
        url = readme_url()
        if url is None:
            self.window.show_message(  # type: ignore[attr-defined]
                "This copy has no README.md beside it; the README is at the top of "
                "the project's source.",
                True,
            )
            return None
        where = url.toLocalFile() if url.isLocalFile() else url.toString()
        if QDesktopServices.openUrl(url):
            self.window.show_message(f"Opened {where}", False)  # type: ignore[attr-defined]
        else:
            self.window.show_message(  # type: ignore[attr-defined]
                f"Nothing on this desktop opens {where}; open it yourself.", True
            )
        return url

    def show_shortcuts(self) -> QDialog:
        dialog = QDialog(self.window)
        dialog.setObjectName("shortcuts-dialog")
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        rows = shortcuts_of(self.window)
        table = QTableWidget(len(rows), 2, dialog)
        table.setObjectName("shortcuts")
        table.setHorizontalHeaderLabels(["Keys", "Does"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        for i, s in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(s.keys))
            item = QTableWidgetItem(s.what)
            item.setToolTip(tip(s.what))
            table.setItem(i, 1, item)
        note = QLabel(TERMINAL_NOTE, dialog)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(note)
        layout.addWidget(buttons)
        # Tall enough for every row without scrolling, up to a laptop screen's worth.
        rows_height = table.horizontalHeader().height() + table.verticalHeader().length()
        dialog.resize(480, min(720, rows_height + 130))
        dialog.open()
        return dialog


def _plain(text: str) -> str:
    """A menu text without its & (mnemonic), … and tab-separated shortcut."""
    text = text.split("\t")[0].replace("&&", "\0").replace("&", "").replace("\0", "&")
    return text.rstrip("…").strip()


def _keys(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.NativeText)

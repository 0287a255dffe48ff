"""LogViewer: a sandbox's pane output as lines of text, with search, save and copy.

Raw output (escapes and all) goes in with :meth:`LogViewer.append` as it
arrives, and older output fetched on demand with :meth:`LogViewer.prepend`,
on the GUI thread; the widget does no I/O of its own. It holds at most ``max_lines`` lines
(the oldest dropped): decoded by :mod:`ansi` into a :mod:`store`, shown by
:mod:`area`.

Speed. ``append`` only queues the text. It is decoded in slices on later
event-loop turns, with a time budget per turn, so a flood of output never
holds the loop for long; the view is brought up to date (scroll bars,
repaint of the rows in sight) at most once per frame. The query methods
(``line_count``, ``line_text``, ``search``, ``save_to``...) first decode
whatever is queued, so they answer for everything appended so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.logview.ansi import BOLD, DIM, ITALIC, REVERSE, STRIKE, UNDERLINE, runs, unpack
from app.ui.logview.area import LogArea
from app.ui.logview.intake import Intake
from app.ui.logview.search_bar import SearchBar
from app.ui.logview.store import LineStore

PARSE_BUDGET_S = 0.008  # decoding per event-loop turn: half a 60 Hz frame, as the terminal's
FRAME_MS = 16  # the view is brought up to date at most once per 60 Hz frame
EARLIER = "Load earlier output"
LOADING = "Loading…"


class Run(NamedTuple):
    """A stretch of one style, as painted (colours from the palette; None: the default)."""

    text: str
    fg: QColor | None
    bg: QColor | None
    bold: bool
    dim: bool
    italic: bool
    underline: bool
    reverse: bool
    strike: bool


class LogViewer(QWidget):
    earlier_requested = Signal()
    follow_changed = Signal(bool)

    def __init__(self, max_lines: int = 100_000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = LineStore(max_lines)
        self._intake = Intake(self._store)
        self._current: tuple[int, int] | None = None  # the current match (line number, start)
        self._save_name = "output.log"

        self._area = LogArea(self._store, self)
        self._area.follow_changed.connect(self.follow_changed)
        self._area.escape_pressed.connect(self._close_search)
        self._earlier = QPushButton(EARLIER)
        self._earlier.clicked.connect(self.earlier_requested)
        self._earlier.hide()
        self._search = SearchBar()
        self._search.changed.connect(self._research)
        self._search.next_requested.connect(self.find_next)
        self._search.previous_requested.connect(self.find_previous)
        self._search.escaped.connect(self._close_search)
        self._save = QPushButton("Save…")
        self._save.setToolTip("Save the output held here as plain text")
        self._save.clicked.connect(self._ask_save)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self._earlier)
        bar.addStretch(1)
        bar.addWidget(self._search)
        bar.addWidget(self._save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self._area, 1)

        self._pump_timer = self._timer(0, self._pump)
        self._frame_timer = self._timer(FRAME_MS, self._frame)
        # Ctrl+F, F3 and Shift+F3 are the page's while it has the keyboard, even
        # though the window has a Find of its own (two shortcuts on one key
        # would both stay silent): the focused child claims them first.
        self._keys = (
            (QKeySequence.StandardKey.Find, self._search.focus),
            (QKeySequence.StandardKey.FindNext, self.find_next),
            (QKeySequence.StandardKey.FindPrevious, self.find_previous),
        )
        for child in (self._area, self._search.field):
            child.installEventFilter(self)
        self.setFocusProxy(self._area)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            assert isinstance(event, QKeyEvent)
            for keys, slot in self._keys:
                if event.matches(keys):
                    event.accept()
                    if event.type() == QEvent.Type.KeyPress:
                        slot()
                    return True
        return super().eventFilter(watched, event)

    # -- the public API: output ----------------------------------------------------

    def append(self, text: str) -> None:
        """Raw output as it arrives (split anywhere); decoded on later event-loop turns."""
        if text:
            self._intake.append(text)
            self._pump_soon()

    def prepend(self, text: str) -> None:
        """Older output, to go above what is held (each call older than the last).

        It is taken as whole lines: an unfinished last line stands as a line
        of its own. Only as many of its newest lines are kept as the bound
        leaves room for; the view does not move.
        """
        if text:
            self._intake.prepend(text)
            self._pump_soon()

    def clear(self) -> None:
        self._intake.clear()
        self._store.clear()
        self._area.clear_selection()
        self._area.set_following(True)
        self._research()

    def set_max_lines(self, n: int) -> None:
        self._drain()
        self._store.set_max_lines(n)
        self._frame()

    def pending(self) -> int:
        """Characters given and not decoded yet."""
        return self._intake.pending

    # -- the public API: earlier output, following ---------------------------------

    def set_earlier_available(self, available: bool) -> None:
        self._earlier.setVisible(available)

    def set_earlier_busy(self, busy: bool) -> None:
        self._earlier.setText(LOADING if busy else EARLIER)
        self._earlier.setEnabled(not busy)

    @property
    def following(self) -> bool:
        return self._area.following

    def set_following(self, on: bool) -> None:
        """Follow the newest lines (as End does), or pause where the view is."""
        self._area.set_following(on)

    def first_visible_line(self) -> int:
        """The index of the line at the top of the view (0 is the first held)."""
        return self._area.top_row()

    def new_lines(self) -> int:
        """Lines appended since following paused (what the indicator counts)."""
        return self._area.new_lines()

    # -- the public API: search ----------------------------------------------------

    def search(self, text: str) -> int:
        """Search for ``text`` now, as typing it in the field does; the count.

        Plain text, case-insensitive unless the case toggle is on. The
        current match becomes the first in sight, else the nearest above,
        else the first below, and is scrolled into sight.
        """
        self._search.set_query(text)
        self._research()
        return self.match_count

    @property
    def match_count(self) -> int:
        self._drain()
        return self._store.match_count

    def find_next(self) -> tuple[int, int, int] | None:
        return self._step(+1)

    def find_previous(self) -> tuple[int, int, int] | None:
        return self._step(-1)

    def current_match(self) -> tuple[int, int, int] | None:
        """(line index, start, end) of the current match, or None."""
        self._drain()
        cur = self._current_pos()
        if cur is None:
            return None
        return cur[0] - self._store.first, cur[1], cur[1] + self._store.query_length

    # -- the public API: what is held ------------------------------------------------

    def line_count(self) -> int:
        self._drain()
        return self._store.rows()

    def line_text(self, i: int) -> str:
        self._drain()
        return self._store.row(i)[0]

    def line_runs(self, i: int) -> list[Run]:
        self._drain()
        line = self._store.row(i)
        colours = self._area.painter.colours
        out = []
        for s, e, code in runs(line):
            st = unpack(code)
            f = st.flags
            flags = [bool(f & bit) for bit in (BOLD, DIM, ITALIC, UNDERLINE, REVERSE, STRIKE)]
            out.append(Run(line[0][s:e], colours.colour(st.fg), colours.colour(st.bg), *flags))
        return out

    def selected_text(self) -> str:
        return self._area.selected_text()

    def save_to(self, path: Path) -> None:
        """Write the plain text of every line held, UTF-8, a newline after each."""
        self._drain()
        with path.open("w", encoding="utf-8", newline="\n") as f:
            for text in self._store.texts():
                f.write(text)
                f.write("\n")

    def set_save_name(self, name: str) -> None:
        """The file name the Save dialog suggests."""
        self._save_name = name

    # -- handlers ----------------------------------------------------------------

    def _ask_save(self) -> None:
        # open() and a signal, not exec(): the app runs asyncio on Qt's loop (qasync).
        dialog = QFileDialog(self, "Save output")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["Logs and text (*.log *.txt)", "All files (*)"])
        dialog.selectFile(self._save_name)
        dialog.fileSelected.connect(self._save_chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _save_chosen(self, name: str) -> None:
        try:
            self.save_to(Path(name))
        except OSError as exc:
            why = exc.strerror or str(exc)
            QMessageBox.warning(self, "Save output", f"Could not save {name}: {why}")

    def _close_search(self) -> None:
        if self._search.query:
            self.search("")
        self._area.setFocus()

    # -- internals: decoding -------------------------------------------------------

    def _pump_soon(self) -> None:
        if not self._pump_timer.isActive():
            self._pump_timer.start()

    def _pump(self) -> None:
        self._intake.decode_until(time.perf_counter() + PARSE_BUDGET_S)
        if not self._intake.pending:
            self._pump_timer.stop()
        if not self._frame_timer.isActive():
            self._frame_timer.start()

    def _drain(self) -> None:
        """Decode everything queued and bring the view up to date, now."""
        if self._intake.pending or self._frame_timer.isActive():
            self._intake.drain()
            self._pump_timer.stop()
            self._frame_timer.stop()
            self._frame()

    def _frame(self) -> None:
        self._area.sync(self._intake.take_added())
        self._area.set_current_match(self._current_pos())
        self._show_count()

    # -- internals: search -----------------------------------------------------------

    def _research(self) -> None:
        self._drain()
        store, area = self._store, self._area
        store.set_query(self._search.query, self._search.case_sensitive)
        self._current = None
        if store.match_count:
            top = store.first + area.top_row()
            i = store.match_index(top, 0)
            in_sight = i < store.match_count and store.match(i)[0] < top + area.visible_rows()
            if not in_sight and i > 0:
                i -= 1  # the nearest above
            self._go_to(i % store.match_count)
        area.set_current_match(self._current_pos())
        self._show_count()

    def _step(self, delta: int) -> tuple[int, int, int] | None:
        self._drain()
        store = self._store
        n = store.match_count
        if not n:
            return None
        cur = self._current_pos()
        if cur is None:  # none yet: from the view
            top = store.first + self._area.top_row()
            if delta > 0:
                i = store.match_index(top, 0)
            else:
                i = store.match_index(top + self._area.visible_rows(), 0) - 1
        else:
            i = store.match_index(*cur)
            if delta > 0 and i < n and store.match(i) == cur:
                i += 1
            elif delta < 0:
                i -= 1
        self._go_to(i % n)
        self._show_count()
        return self.current_match()

    def _go_to(self, i: int) -> None:
        store = self._store
        self._current = num, col = store.match(i)
        self._area.reveal(num, col, col + store.query_length)
        self._area.set_current_match(self._current)

    def _current_pos(self) -> tuple[int, int] | None:
        """The current match, if its line is still held."""
        cur = self._current
        return None if cur is None or cur[0] < self._store.first else cur

    def _show_count(self) -> None:
        cur = self._current_pos()
        index = None if cur is None else self._store.match_index(*cur)
        self._search.show_count(self._store.match_count, index)

    def _timer(self, ms: int, slot: Callable[[], object]) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.setSingleShot(ms > 0)
        timer.timeout.connect(slot)
        return timer

"""A linear selection over the terminal's cells, and the text it covers. No Qt.

Cells are (row, col) and both ends are inclusive; the selection runs in
reading order from the earlier end to the later one, as xterm's does. It
remembers the text of its lines when it is made, so it can tell when the
program changed them (and goes away then).
"""

from __future__ import annotations

import pyte

Cell = tuple[int, int]  # (row, col)
WORD_DELIMITERS = " \t()[]{}<>'\"`,;|&"


def row_text(screen: pyte.Screen, y: int, start: int = 0, end: int | None = None) -> str:
    """The characters of cells [start, end) of a line; a wide char's right half adds nothing."""
    line = screen.buffer[y]
    stop = screen.columns if end is None else min(end, screen.columns)
    return "".join(line[x].data for x in range(start, stop))


def word_at(screen: pyte.Screen, row: int, col: int) -> tuple[int, int]:
    """The columns (first, last) of the word around a cell; a delimiter is a word alone."""
    line = screen.buffer[row]

    def in_word(x: int) -> bool:
        data = line[x].data
        return data == "" or data not in WORD_DELIMITERS  # "" is a wide char's right half

    if not in_word(col):
        return col, col
    start, end = col, col
    while start > 0 and in_word(start - 1):
        start -= 1
    while end < screen.columns - 1 and in_word(end + 1):
        end += 1
    return start, end


class Selection:
    def __init__(self) -> None:
        self.anchor: Cell | None = None
        self.end: Cell | None = None
        self._lines: dict[int, str] = {}  # the text of the selected lines when made

    def start(self, cell: Cell) -> None:
        """A press: nothing selected until the pointer moves to another cell."""
        self.anchor = self.end = cell
        self._lines = {}

    def extend(self, cell: Cell) -> None:
        self.end = cell
        self._lines = {}

    def set(self, first: Cell, last: Cell, screen: pyte.Screen) -> None:
        """Select a span at once (a word, a line) and remember its text."""
        self.anchor, self.end = first, last
        self.finish(screen)

    def finish(self, screen: pyte.Screen) -> None:
        """The drag is over: remember the text of the selected lines."""
        span = self.span()
        if span is None:
            return
        (y0, _), (y1, _) = span
        self._lines = {y: row_text(screen, y) for y in range(y0, y1 + 1)}

    def clear(self) -> bool:
        """Forget it; whether there was one."""
        had = self.anchor is not None
        self.anchor = self.end = None
        self._lines = {}
        return had

    def span(self) -> tuple[Cell, Cell] | None:
        """(first, last) in reading order, or None when nothing is selected."""
        if self.anchor is None or self.end is None:
            return None
        if self.anchor == self.end and not self._lines:
            return None  # a click, not a drag (a one-cell word is set, so it has lines)
        first, last = sorted((self.anchor, self.end))
        return first, last

    def rows(self, columns: int) -> list[tuple[int, int, int]]:
        """(row, first col, last col) of each selected line, for painting."""
        span = self.span()
        if span is None:
            return []
        (y0, x0), (y1, x1) = span
        return [
            (y, x0 if y == y0 else 0, x1 if y == y1 else columns - 1) for y in range(y0, y1 + 1)
        ]

    def text(self, screen: pyte.Screen) -> str:
        """The selected text: lines joined by newlines, trailing blanks dropped."""
        return "\n".join(
            row_text(screen, y, a, b + 1).rstrip() for y, a, b in self.rows(screen.columns)
        )

    def changed_by(self, screen: pyte.Screen, dirty: list[int]) -> bool:
        """Whether the program changed the text of a selected line (``dirty``: rows written)."""
        lines = self._lines
        return any(y in lines and row_text(screen, y) != lines[y] for y in dirty)

"""The lines a log viewer holds, bounded, and where a search matches in them. No Qt.

Lines have absolute numbers that never change: the first line ever held is
0, a line dropped off the top takes its number with it, and older lines
put in front get numbers below the first (negative ones too; the numbers
of dropped lines, should the bound have been raised since). A view that
remembers the number of its top line therefore stays on the same text
whatever is appended, dropped or prepended meanwhile.

The line being written (the decoder's partial line) is held apart and
counts as the last row while it has text; the bound covers it too.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import accumulate, chain, islice

from app.ui.logview.ansi import LINE_CAP, Line

# A match is one int: (line number << COL_BITS) + start column, so a search
# with a million matches costs 8 MB, not the ~100 MB of tuples.
COL_BITS = 14
assert LINE_CAP < 1 << COL_BITS, "a line's columns must fit in COL_BITS"
_COL_MASK = (1 << COL_BITS) - 1
_EMPTY: Line = ("", ())


# Characters held, whatever the line bound: 100,000 lines at the decoder's cap
# of 10,000 characters would be a gigabyte. 32 M characters is 100,000 lines of
# 320 (Claude Code's redraws run long), about 100-200 MB in Python strings.
MAX_TOTAL_CHARS = 32 * 1024 * 1024
# Matches kept for a search: a one-letter query over a full store would
# otherwise allocate a key per character; the count then says "at least".
MAX_MATCHES = 200_000


class LineStore:
    def __init__(self, max_lines: int, max_total_chars: int = MAX_TOTAL_CHARS) -> None:
        self.max_lines = max(max_lines, 1)
        self.max_total_chars = max_total_chars
        self.total_chars = 0  # the characters of self.lines
        self.lines: deque[Line] = deque()
        self.first = 0  # the number of lines[0]
        self.partial = _EMPTY
        self.max_chars = 0  # the longest line held since the last clear (never lowered by drops)
        self._pattern: re.Pattern[str] | None = None
        self._query_length = 0
        self._keys = array("q")  # the matches in self.lines, sorted, from self._dead on
        self._dead = 0  # keys of dropped lines at the front, deleted in bulk (see _trim)
        self._partial_keys: list[int] = []

    # -- rows --------------------------------------------------------------------

    def rows(self) -> int:
        """Lines held, the partial line included when it has text."""
        return len(self.lines) + (1 if self.partial[0] else 0)

    def row(self, i: int) -> Line:
        """Row ``i`` (0 is the first held line)."""
        if i < len(self.lines):
            return self.lines[i]
        if i == len(self.lines) and self.partial[0]:
            return self.partial
        raise IndexError(i)

    @property
    def end(self) -> int:
        """One past the number of the last row."""
        return self.first + self.rows()

    def extend(self, lines: Sequence[Line], partial: Line) -> int:
        """Append completed lines and set the partial one; returns how many were dropped."""
        if lines:
            self.lines.extend(lines)
            self.total_chars += sum(len(text) for text, _ in lines)
            self.max_chars = max(self.max_chars, max(len(text) for text, _ in lines))
            if self._pattern is not None:
                base = self.first + len(self.lines) - len(lines)
                self._keys.extend(self._find(lines, base))
        self.partial = partial
        if partial[0]:
            self.max_chars = max(self.max_chars, len(partial[0]))
        dropped = self._trim()
        if self._pattern is not None:
            self._partial_keys = self._find([partial], self.first + len(self.lines))
        return dropped

    def prepend(self, lines: Sequence[Line]) -> int:
        """Put older lines in front, as many as the bound leaves room for (the
        newest of them); returns how many were put."""
        room = self.max_lines - self.rows()
        if room <= 0 or not lines:
            return 0
        kept = lines[-room:] if len(lines) > room else lines
        budget = self.max_total_chars - self.total_chars
        taken = 0
        for n, (text, _) in enumerate(reversed(kept)):  # the newest of them first
            if budget - len(text) < 0:
                kept = kept[len(kept) - n :] if n else []
                break
            budget -= len(text)
            taken += len(text)
        if not kept:
            return 0
        self.total_chars += taken
        self.first -= len(kept)
        self.lines.extendleft(reversed(kept))
        self.max_chars = max(self.max_chars, max(len(text) for text, _ in kept))
        if self._pattern is not None:
            # The dead keys' line numbers are reused by these lines: gone first.
            del self._keys[: self._dead]
            self._keys[0:0] = array("q", self._find(kept, self.first))
            self._dead = 0
        return len(kept)

    def clear(self) -> None:
        """Nothing held; numbering carries on, so a view's remembered numbers stay unique."""
        self.first = self.end
        self.lines.clear()
        self.total_chars = 0
        self.partial = _EMPTY
        self.max_chars = 0
        self._keys, self._dead = array("q"), 0
        self._partial_keys = []

    def set_max_lines(self, n: int) -> int:
        self.max_lines = max(n, 1)
        return self._trim()

    def texts(self) -> Iterable[str]:
        """The plain text of every row, oldest first."""
        yield from (text for text, _ in self.lines)
        if self.partial[0]:
            yield self.partial[0]

    # -- search ------------------------------------------------------------------

    def set_query(self, query: str, case_sensitive: bool = False) -> int:
        """Find ``query`` (plain text, not a pattern) in every row; returns the count.
        An empty query, or one with a newline (lines hold none), finds nothing."""
        self._query_length = len(query)
        if not query or "\n" in query:
            self._pattern = None
            self._keys, self._dead, self._partial_keys = array("q"), 0, []
            return 0
        flags = 0 if case_sensitive else re.IGNORECASE
        self._pattern = re.compile(re.escape(query), flags)
        self._keys, self._dead = array("q", self._find(self.lines, self.first)), 0
        self._partial_keys = self._find([self.partial], self.first + len(self.lines))
        return self.match_count

    @property
    def query_length(self) -> int:
        """Characters a match covers (re's IGNORECASE folds one character to one)."""
        return self._query_length

    @property
    def match_count(self) -> int:
        return len(self._keys) - self._dead + len(self._partial_keys)

    def match(self, index: int) -> tuple[int, int]:
        """(line number, start column) of match ``index``, in reading order."""
        n = len(self._keys) - self._dead
        key = self._keys[self._dead + index] if index < n else self._partial_keys[index - n]
        return key >> COL_BITS, key & _COL_MASK

    def match_index(self, number: int, col: int) -> int:
        """The index of the first match at or after (line number, column)."""
        key = (number << COL_BITS) + col
        # Every partial-line key is above every other (its line is the newest).
        held = bisect_left(self._keys, key, lo=self._dead) - self._dead
        return held + bisect_left(self._partial_keys, key)

    def matches_on(self, number: int) -> list[int]:
        """Start columns of the matches on line ``number``."""
        if self._pattern is None:
            return []
        lo = self.match_index(number, 0)
        hi = self.match_index(number + 1, 0)
        return [self.match(i)[1] for i in range(lo, hi)]

    # -- internals ---------------------------------------------------------------

    def _trim(self) -> int:
        by_lines = min(max(0, self.rows() - self.max_lines), len(self.lines))
        # The partial line is the newest and never dropped; of the others, the
        # oldest go until both bounds hold (the newest complete line stays).
        excess, dropped_chars = 0, 0
        for text, _ in self.lines:
            over = self.total_chars - dropped_chars > self.max_total_chars
            if excess >= by_lines and not (over and excess < len(self.lines) - 1):
                break
            dropped_chars += len(text)
            excess += 1
        if excess <= 0:
            return 0
        self.total_chars -= dropped_chars
        if excess > len(self.lines) // 2:
            keep = list(self.lines)[excess:]
            self.lines = deque(keep)
        else:
            popleft = self.lines.popleft
            for _ in range(excess):
                popleft()
        self.first += excess
        if len(self._keys) > self._dead:
            # Deleting from the front of the array moves all the rest: done once half
            # are dead, not on every slice of a flood (a broad search has ~10 a line).
            self._dead = bisect_left(self._keys, self.first << COL_BITS, lo=self._dead)
            if self._dead > len(self._keys) // 2:
                del self._keys[: self._dead]
                self._dead = 0
        return excess

    def _find(self, lines: Iterable[Line], base: int) -> list[int]:
        """The match keys in ``lines``, the first of which is number ``base``."""
        assert self._pattern is not None
        texts = [text for text, _ in lines]
        joined = "\n".join(texts)
        found = self._pattern.finditer(joined)
        first = next(found, None)
        if first is None:
            return []
        # Where each line starts in the joined text, to turn offsets into (line, column).
        starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        keys = []
        for m in islice(chain((first,), found), MAX_MATCHES):
            at = m.start()
            i = bisect_right(starts, at) - 1
            keys.append(((base + i) << COL_BITS) + at - starts[i])
        return keys

"""Tables for a terminal: aligned columns, shortened with … to fit its width.

A table is a header row and rows of strings. Only the columns named as
shrinkable are ever shortened, each down to a floor, in stages: the first
stage's columns give up room first (the widest first, so they end up
alike), then the next stage's. A column cut at its end (a command, a
reason) keeps its start; one cut at its start (a path) keeps its end, the
part that tells two projects apart. When even that is not enough (a very
narrow terminal), each line is cut at the width.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

GAP = "  "
ELLIPSIS = "…"


@dataclass(frozen=True)
class Shrink:
    """Column ``column`` may be cut down to ``floor`` characters (kept ``side``)."""

    column: int
    floor: int
    keep: Literal["start", "end"] = "start"


def terminal_width() -> int | None:
    """The width to fit: $COLUMNS when set, else the terminal's when stdout is
    one; None (no limit) when the output goes to a pipe or a file, as for
    ``ps``: a script reading the table gets whole values."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def fit(rows: list[list[str]], width: int | None, stages: Sequence[Sequence[Shrink]]) -> list[str]:
    """The table's lines, each at most ``width`` characters (None: as long as they are)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    keep: dict[int, str] = {}
    if width is not None:
        excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
        for stage in stages:
            for s in stage:
                keep[s.column] = s.keep
            excess = _give_up(widths, stage, excess)
    lines = []
    for row in rows:
        cells = [
            _cut(c, w, keep.get(i, "start"))
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        # The last column is not padded: no trailing blanks.
        line = GAP.join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False))
        line = (line + GAP + cells[-1]) if len(cells) > 1 else cells[-1]
        if width is not None and len(line) > width:
            line = line[: max(0, width - 1)] + ELLIPSIS
        lines.append(line)
    return lines


def _give_up(widths: list[int], stage: Sequence[Shrink], excess: int) -> int:
    """Narrow the stage's columns, the widest first, until ``excess`` is gone
    or each is at its floor; the excess left."""
    while excess > 0:
        room = [s for s in stage if widths[s.column] > s.floor]
        if not room:
            break
        widest = max(room, key=lambda s: widths[s.column])
        widths[widest.column] -= 1
        excess -= 1
    return excess


def _cut(text: str, width: int, keep: str) -> str:
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    if keep == "end":
        return ELLIPSIS + text[len(text) - width + 1 :]
    return text[: width - 1] + ELLIPSIS

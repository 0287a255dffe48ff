"""What a tile says in words, apart from painting it: the parts of its
status row (and which give way first when the tile is narrow), the token
figure and its breakdown, and why an exited agent ended.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette, QTextLayout, QTextOption

from .labels import label_of
from .model import Tile
from .theme import activity_colour, status_colour


def row_parts(tile: Tile, pal: QPalette) -> list[tuple[str, str, QColor]]:
    """The status row's parts, in order: (kind, text, colour); kinds are
    status, activity, sync, tokens and host."""
    grey = pal.color(QPalette.ColorRole.PlaceholderText)
    parts: list[tuple[str, str, QColor]] = [("status", tile.status, status_colour(tile.status))]
    act = tile.activity
    if act and tile.status == "running":
        state = str(act.get("state"))
        label = state
        kind = (tile.answerable or {}).get("kind")
        if state == "waiting" and kind == "permission":
            label = "asks permission"
        elif state == "waiting" and act.get("request"):
            label = "waiting for an answer"
        parts.append(("activity", label, activity_colour(state, pal)))
    sync = tile.extra.get("sync")
    if sync:
        colour = QColor(211, 47, 47) if "failed" in sync or "conflict" in sync else None
        parts.append(("sync", sync, colour or activity_colour("working", pal)))
    tokens = tile.tokens
    if tokens:
        parts.append(("tokens", token_figure(tokens), grey))
    parts.append(("host", label_of(tile.host), grey))
    return parts


def _si(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def token_figure(tokens: int) -> str:
    """The tile's token figure, short enough for a 200-pixel tile: "4.6k tok"."""
    return f"{_si(tokens)} tok"


def tokens_tooltip(counts: dict[str, int]) -> str:
    """The figure broken down (:attr:`Tile.token_counts`)."""
    total = counts["input"] + counts["output"]
    return (
        f"{total:,} tokens in and out (the tile's figure)\n"
        f"input: {counts['input']:,}\n"
        f"output: {counts['output']:,}\n"
        f"cache read: {counts['cache_read']:,}\n"
        f"cache write: {counts['cache_write']:,}"
    )


def exit_headline(tile: Tile) -> str:
    return "exited" if tile.exit_code is None else f"exited {tile.exit_code}"


def exit_detail(tile: Tile, font: QFont, width: int) -> list[str]:
    """The pane's last line, wrapped to ``width``: two lines at most, the
    second cut with "…"; a word longer than a line is broken anywhere."""
    text = tile.last_lines[-1].strip() if tile.last_lines else ""
    if not text:
        return [] if tile.last_lines else ["the agent has ended"]
    fm = QFontMetrics(font)
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    line = layout.createLine()
    line.setLineWidth(width)
    cut = line.textLength()
    layout.endLayout()
    first, rest = text[:cut].rstrip(), text[cut:].strip()
    if not rest:
        return [first]
    return [first, fm.elidedText(rest, Qt.TextElideMode.ElideRight, width)]


def exit_tooltip(tile: Tile) -> str:
    said = "The agent exited" + ("" if tile.exit_code is None else f" with status {tile.exit_code}")
    if not tile.last_lines:
        return f"{said}."
    return f"{said}; the last lines of its terminal:\n\n" + "\n".join(tile.last_lines)


def fit_row(
    natural: list[int], order: list[int], room: int, sep: int, least: int
) -> list[int | None]:
    """Widths for a row of parts ``sep`` apart in ``room``: the parts in
    ``order`` are shortened first (each down to ``least``), then left out, in
    that order; the others keep their ``natural`` width. None: left out."""
    widths: list[int | None] = list(natural)

    def over() -> int:
        shown = [w for w in widths if w is not None]
        return sum(shown) + sep * (len(shown) - 1) - room

    for i in order:
        width = widths[i]
        if over() <= 0:
            return widths
        if width is not None and width > least:
            widths[i] = max(least, width - over())
    for i in order:
        if over() <= 0:
            break
        widths[i] = None
    return widths

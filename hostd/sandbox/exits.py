"""What an agent that ended left on its pane: its last lines, for the record;
and the wait, at create and start, for an agent that ends at once.

When a sandbox becomes ``exited`` (at create or start, or found so by
reconcile) its record keeps the pane's last non-blank lines (``last_lines``),
so a person learns why without opening the log, and still does after the
pane and hostd are gone. The text is cleaned for any screen it is shown on:
tmux's own "Pane is dead" line left out, control characters removed, each
line cut to a bounded length.
"""

from __future__ import annotations

import logging
import os
import re
import time
import unicodedata
from pathlib import Path

from ..protocol.errors import ProcessFailed
from ..protocol.spec import SETTLE_S, SETTLE_S_MAX
from . import tmux
from .procs import ProcRef

MAX_LINES = 10
MAX_LINE_CHARS = 300
ELLIPSIS = "…"
# Rows read before the screen, for an agent whose last words scrolled up
# under blank lines (a program that cleared part of the screen).
HISTORY = 50

# What tmux writes under a pane whose program ended (remain-on-exit): "Pane is
# dead" (tmux < 3.3), "Pane is dead (status 127, Tue Dec  2 09:40:01 2025)".
_PANE_IS_DEAD = re.compile(r"Pane is dead( \(.*\))?")

log = logging.getLogger(__name__)

# How often the settle wait looks at the pane's process: a /proc read each time.
POLL_S = 0.02


def settle_seconds() -> float:
    """How long create and start wait for an agent that ends at once:
    ``HOSTD_SETTLE_S`` (seconds, 0 to SETTLE_S_MAX) when the environment
    sets it, else SETTLE_S. A value that is not such a number is logged and
    the default used: a typo must not make every create slow or blind."""
    raw = os.environ.get("HOSTD_SETTLE_S")
    if raw is None:
        return SETTLE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= SETTLE_S_MAX:  # also NaN
        log.warning(
            "HOSTD_SETTLE_S=%r is not 0 to %s seconds: using %s", raw, SETTLE_S_MAX, SETTLE_S
        )
        return SETTLE_S
    return value


def wait_for_end(pane: ProcRef | None, timeout: float) -> bool:
    """Wait up to ``timeout`` for the pane's process to end; whether it did."""
    deadline = time.monotonic() + timeout
    while pane is not None and pane.alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def read_last_lines(socket: Path, pane_id: str) -> list[str]:
    """The dead pane's last lines; none when its tmux cannot be asked."""
    try:
        rows = tmux.capture_tail(socket, pane_id, HISTORY)
    except ProcessFailed:
        return []
    return last_lines(rows)


def last_lines(rows: list[str]) -> list[str]:
    """The last :data:`MAX_LINES` non-blank ``rows``, cleaned, without tmux's
    "Pane is dead" line."""
    lines = [line for line in (clean(r) for r in rows) if line]
    if lines and _PANE_IS_DEAD.fullmatch(lines[-1]):
        lines.pop()
    return [cut(line) for line in lines[-MAX_LINES:]]


def clean(text: str) -> str:
    """``text`` with tabs as spaces, control characters (C0, C1, DEL), format
    characters (bidi overrides and isolates, zero-width ones: they would
    reorder or hide the rest of a line where it is shown) and line or
    paragraph separators removed, trailing whitespace stripped."""
    text = text.replace("\t", " ")
    kept = (c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    return "".join(kept).rstrip()


def cut(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return line[: MAX_LINE_CHARS - 1] + ELLIPSIS

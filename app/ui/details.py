"""A sandbox's Details page: what it is, what its agent has used, and its last minutes.

Three parts, top to bottom: the sandbox's facts (id, host, backend, folders,
display, tmux session, network, agent, times, exit code); Claude Code's
figures (tokens by kind, messages, tool uses by tool, model, sub-agents, how
full the context is, an estimated cost); sparklines of its CPU, memory and
tokens per minute from the history the app keeps while the host is connected
(:mod:`.history`), so a page opened late still shows the last minutes.

The page reads everything from the window's model and history; it refreshes
once a second while it is shown (metrics come every 3 s) and not at all when
hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.remote.cost import context_window, estimate, format_usd

from . import history as h
from .hub import label_of
from .model import Key, Tile
from .plain import tip
from .sparkline import Sparkline

REFRESH_MS = 1000


def si(n: float) -> str:
    """12, 4.6k, 1.2M: token counts read at a glance."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def size_text(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def when(stamp: str | None) -> str:
    """An ISO time from hostd as local time, with how long ago."""
    if not stamp:
        return "—"
    try:
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    ago = (datetime.now(UTC) - t).total_seconds()
    local = t.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{local} ({ago_text(ago)})"


def ago_text(seconds: float) -> str:
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def tools_text(uses: dict[str, int] | None) -> str:
    if not uses:
        return "none yet"
    ranked = sorted(uses.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{name} {count}" for name, count in ranked)


def cost_text(claude: dict[str, Any] | None) -> str:
    cost = estimate(claude)
    if cost is None:
        return "—"
    if cost.usd is None:
        return f"unknown: {cost.reason}"
    return format_usd(cost.usd)


def cost_tooltip(claude: dict[str, Any] | None) -> str:
    cost = estimate(claude)
    if cost is None or cost.usd is None:
        return ""
    parts = (
        ("input", cost.input_usd),
        ("output", cost.output_usd),
        ("cache writes", cost.cache_write_usd),
        ("cache reads", cost.cache_read_usd),
    )
    lines = [f"{name}: {format_usd(usd or 0.0)}" for name, usd in parts]
    lines.append(f"At list prices for {cost.priced_as} as checked on {cost.priced_at}")
    lines.append("(an estimate: a subscription is not billed per token)")
    return "\n".join(lines)


def _value(label: QLabel) -> QLabel:
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setTextFormat(Qt.TextFormat.PlainText)  # names and commands are the agent's text
    label.setWordWrap(True)
    return label


class DetailsPage(QWidget):
    def __init__(
        self,
        key: Key,
        tile_of: Callable[[], Tile | None],
        history: h.MetricsHistory,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.key = key
        self._tile_of = tile_of
        self.history = history
        self.facts: dict[str, QLabel] = {}
        self.figures: dict[str, QLabel] = {}

        about = QGroupBox("Sandbox")
        form = QFormLayout(about)
        for name in ("Name", "Id", "Host", "Status", "Activity", "Backend", "Project",
                     "Claude config", "Display", "tmux session", "Network", "Agent",
                     "Created", "Started", "Stopped", "Exit code"):  # fmt: skip
            self.facts[name] = _value(QLabel())
            form.addRow(name, self.facts[name])

        self.claude_box = QGroupBox("Claude Code")
        cform = QFormLayout(self.claude_box)
        for name in ("Tokens", "Cache", "Estimated cost", "Messages", "Tool uses", "Model",
                     "Sub-agents"):  # fmt: skip
            self.figures[name] = _value(QLabel())
            cform.addRow(name, self.figures[name])
        self.context = QProgressBar()
        self.context.setObjectName("context-gauge")
        self.context.setTextVisible(True)
        cform.addRow("Context", self.context)
        self.no_claude = QLabel("The agent is not Claude Code: no token figures.")
        self.no_claude.setObjectName("no-claude")

        charts = QGroupBox("Last minutes")
        row = QHBoxLayout(charts)
        self.cpu = Sparkline("CPU", lambda v: f"{v:.0f} %")
        self.memory = Sparkline("Memory", size_text)
        self.rate = Sparkline("Tokens / min", si)
        self.memory.set_range(0, None)
        self.rate.set_range(0, None)
        for chart in (self.cpu, self.memory, self.rate):
            row.addWidget(chart, 1)

        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(charts)
        column.addWidget(self.claude_box)
        column.addWidget(self.no_claude)
        column.addWidget(about)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def refresh(self) -> None:
        tile = self._tile_of()
        if tile is None:
            return
        self._facts(tile)
        self._claude((tile.metrics or {}).get("claude"))
        host, sid = self.key
        self.cpu.set_points(self.history.series(host, sid, h.CPU))
        self.memory.set_points(self.history.series(host, sid, h.RSS))
        self.rate.set_points(self.history.series(host, sid, h.TOKENS_PER_MIN))

    # -- Qt ------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: Any) -> None:
        self._timer.stop()
        super().hideEvent(event)

    # -- internals -----------------------------------------------------------------------

    def _facts(self, tile: Tile) -> None:
        sb = tile.sandbox
        act = tile.activity or {}
        backend = str(sb.get("backend", ""))
        status = tile.status + (
            f" (exit code {sb['exit_code']})" if sb.get("exit_code") is not None else ""
        )
        activity = str(act.get("state", "—"))
        if act.get("reason"):
            activity += f": {act['reason']}"
        values = {
            "Name": tile.name,
            "Id": str(sb.get("id", "")),
            "Host": label_of(tile.host),
            "Status": status,
            "Activity": activity,
            "Backend": "none (no isolation)" if backend == "none" else backend,
            "Project": str(sb.get("project_dir") or "—"),
            "Claude config": str(sb.get("claude_config") or "— (your own ~/.claude)"),
            "Display": str(
                sb.get("display") or ("the VM's screen (QMP)" if backend == "vm" else "—")
            ),
            "tmux session": str(sb.get("tmux_session") or "—"),
            "Network": "on" if sb.get("network") else "off",
            "Agent": str(sb.get("agent") or "—"),
            "Created": when(sb.get("created_at")),
            "Started": when(sb.get("started_at")),
            "Stopped": when(sb.get("stopped_at")),
            "Exit code": "—" if sb.get("exit_code") is None else str(sb["exit_code"]),
        }
        for name, text in values.items():
            if self.facts[name].text() != text:
                self.facts[name].setText(text)

    def _claude(self, claude: dict[str, Any] | None) -> None:
        self.claude_box.setVisible(claude is not None)
        self.no_claude.setVisible(claude is None)
        self.rate.setVisible(claude is not None)  # tokens are Claude Code's only
        if claude is None:
            return
        f = self.figures
        tin, tout = int(claude.get("input_tokens", 0)), int(claude.get("output_tokens", 0))
        cread = int(claude.get("cache_read_tokens", 0))
        cwrite = int(claude.get("cache_creation_tokens", 0))
        f["Tokens"].setText(f"{si(tin)} in · {si(tout)} out")
        f["Tokens"].setToolTip(f"{tin:,} input tokens, {tout:,} output tokens")
        f["Cache"].setText(f"{si(cread)} read · {si(cwrite)} written")
        f["Cache"].setToolTip(f"{cread:,} cache read tokens, {cwrite:,} cache write tokens")
        f["Estimated cost"].setText(cost_text(claude))
        f["Estimated cost"].setToolTip(tip(cost_tooltip(claude)))
        f["Messages"].setText(str(claude.get("messages", 0)))
        f["Tool uses"].setText(tools_text(claude.get("tool_uses")))
        model = str(claude.get("model") or "—")
        f["Model"].setText(model)
        subs = claude.get("subagents") or {}
        count = int(subs.get("count", 0))
        f["Sub-agents"].setText(
            "none" if not count else
            f"{count} · {si(int(subs.get('input_tokens', 0)) + int(subs.get('output_tokens', 0)))} "
            "tokens in and out"
        )  # fmt: skip
        used = int(claude.get("context_tokens") or 0)
        window = context_window(model) if model != "—" else None
        if window:
            self.context.setRange(0, window)
            self.context.setValue(min(used, window))
            self.context.setFormat(f"{si(used)} of {si(window)} ({100 * used / window:.0f} %)")
        else:
            self.context.setRange(0, 1)
            self.context.setValue(0)
            self.context.setFormat(f"{si(used)} tokens (window unknown)")

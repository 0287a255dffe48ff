"""A host's own view: its load over the last minutes, its backends, its sandboxes.

Opened by selecting a connected host in the sidebar, or from its menu (Host
details). It reads the hub: the session's hello (hostd's version, the
backends and why one is not available), the history the app keeps (CPU,
memory, disk, load, network rates), and the model's tiles of that host, shown
as a table that sorts by any column and opens a sandbox's tab on a
double-click. It refreshes once a second while shown, not at all when hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.remote.cost import estimate, format_usd, sum_costs

from . import history as h
from .details import si, size_text
from .hub import Hub, label_of
from .model import Key, Tile
from .plain import tip
from .sparkline import Sparkline

REFRESH_MS = 1000
SortRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Name", "Status", "Activity", "Backend", "CPU", "Memory", "Tokens", "Cost")


def rate_text(bytes_per_s: float) -> str:
    return f"{size_text(bytes_per_s)}/s"


class HostSandboxes(QAbstractTableModel):
    """The host's tiles as table rows; values for showing, and numbers for sorting."""

    def __init__(self, tiles: Callable[[], list[Tile]]) -> None:
        super().__init__()
        self._tiles = tiles
        self.rows: list[Tile] = []

    def refresh(self) -> None:
        new = self._tiles()
        if [t.key for t in new] != [t.key for t in self.rows]:
            self.beginResetModel()
            self.rows = new
            self.endResetModel()
        else:
            self.rows = new
            if new:
                last = self.index(len(new) - 1, len(COLUMNS) - 1)
                self.dataChanged.emit(self.index(0, 0), last)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        tile = self.rows[index.row()]
        if role == KeyRole:
            return tile.key
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._shown(tile, column)
        if role == SortRole:
            return self._sort_value(tile, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("CPU", "Memory", "Tokens",
                                                                     "Cost"):  # fmt: skip
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == "Activity":
            act = tile.activity or {}
            return tip(str(act.get("reason") or "")) or None
        return None

    @staticmethod
    def _processes(tile: Tile) -> dict[str, Any]:
        return dict((tile.metrics or {}).get("processes") or {})

    def _shown(self, tile: Tile, column: str) -> str:
        if column == "Name":
            return tile.name
        if column == "Status":
            return tile.status
        if column == "Activity":
            return str((tile.activity or {}).get("state") or "—")
        if column == "Backend":
            backend = str(tile.sandbox.get("backend", ""))
            return "no isolation" if backend == "none" else backend
        value = self._sort_value(tile, column)
        if value is None or value < 0:
            return "—"
        if column == "CPU":
            return f"{value:.0f} %"
        if column == "Memory":
            return size_text(value)
        if column == "Tokens":
            return si(value)
        cost = estimate((tile.metrics or {}).get("claude"))
        return "—" if cost is None else ("?" if cost.usd is None else format_usd(cost.usd))

    def _sort_value(self, tile: Tile, column: str) -> Any:
        if column in ("Name", "Status", "Activity", "Backend"):
            return self._shown(tile, column).lower()
        if column == "CPU":
            return self._processes(tile).get("cpu_percent")
        if column == "Memory":
            return self._processes(tile).get("rss_bytes")
        if column == "Tokens":
            return tile.tokens
        cost = estimate((tile.metrics or {}).get("claude"))
        return None if cost is None or cost.usd is None else cost.usd


class _Sorter(QSortFilterProxyModel):
    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = left.data(SortRole), right.data(SortRole)
        if a is None or b is None:
            return a is None and b is not None  # no figure sorts first going up
        return bool(a < b)


class HostView(QWidget):
    open_sandbox = Signal(object)  # Key: the person double-clicked a sandbox's row

    def __init__(self, name: str, hub: Hub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.hub = hub
        self.title = f"Host: {label_of(name)}"

        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cost = QLabel()
        self.cost.setObjectName("host-cost")

        self.cpu = Sparkline("CPU", lambda v: f"{v:.0f} %")
        self.cpu.set_range(0, 100)
        self.memory = Sparkline("Memory", size_text)
        self.disk = Sparkline("Disk", size_text)
        self.load = Sparkline("Load (1 min)", lambda v: f"{v:.2f}")
        self.load.set_range(0, None)
        self.rx = Sparkline("Network in", rate_text)
        self.tx = Sparkline("Network out", rate_text)
        for chart in (self.rx, self.tx):
            chart.set_range(0, None)
        charts = QGroupBox("Last minutes")
        grid = QGridLayout(charts)
        for i, chart in enumerate((self.cpu, self.memory, self.disk, self.load, self.rx, self.tx)):
            grid.addWidget(chart, i // 3, i % 3)

        self.backends = QTableWidget(0, 3)
        self.backends.setObjectName("host-backends")
        self.backends.setHorizontalHeaderLabels(["Backend", "Available", "Detail"])
        self.backends.verticalHeader().hide()
        self.backends.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.backends.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.backends.setWordWrap(True)
        backends = QGroupBox("Backends")
        QVBoxLayout(backends).addWidget(self.backends)

        self.model = HostSandboxes(self._tiles)
        self.sorter = _Sorter()
        self.sorter.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("host-sandboxes")
        self.table.setModel(self.sorter)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names take the rest
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.activated.connect(self._double_clicked)
        sandboxes = QGroupBox("Sandboxes (double-click to open)")
        QVBoxLayout(sandboxes).addWidget(self.table)

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.cost)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(charts)
        layout.addWidget(sandboxes, 2)
        layout.addWidget(backends, 1)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        session = self.hub.sessions.get(self.name)
        hello: dict[str, Any] = dict((session.client.hello or {}) if session else {})
        state = str(session.state) if session is not None else "not connected"
        who = f"{hello.get('user', '?')}@{hello.get('hostname', '?')}" if hello else ""
        version = f"hostd {hello['version']}" if hello.get("version") else ""
        self.header.setText(" · ".join(p for p in (label_of(self.name), who, version, state) if p))
        self._charts()
        self._backends(list(hello.get("backends") or []))
        self.model.refresh()
        total = sum_costs(estimate((t.metrics or {}).get("claude")) for t in self.model.rows)
        if total.count:
            text = f"Estimated cost: {format_usd(total.usd)}"
            if total.unpriced:
                text += f" (+{total.unpriced} not priced)"
            self.cost.setText(text)
            self.cost.setToolTip(tip(
                f"{total.priced} Claude sandboxes priced at list prices"
                + "".join(f"\n{r}" for r in total.reasons)
            ))  # fmt: skip
        else:
            self.cost.setText("")

    def backend_rows(self) -> list[tuple[str, str, str]]:
        """What the Backends table shows, row by row (for tests)."""
        rows = []
        for r in range(self.backends.rowCount()):
            cells = [self.backends.item(r, c) for c in range(3)]
            texts = [cell.text() if cell is not None else "" for cell in cells]
            rows.append((texts[0], texts[1], texts[2]))
        return rows

    # -- Qt ------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: Any) -> None:
        self._timer.stop()
        super().hideEvent(event)

    # -- internals -----------------------------------------------------------------------

    def _tiles(self) -> list[Tile]:
        return [t for t in self.hub.model.tiles() if t.host == self.name]

    def _charts(self) -> None:
        series = self.hub.history.host_series
        host = self.name
        self.cpu.set_points(series(host, h.HOST_CPU))
        self.memory.set_points(series(host, h.MEMORY_USED))
        self.memory.set_range(0, self.hub.history.host_latest(host, h.MEMORY_TOTAL))
        self.disk.set_points(series(host, h.DISK_USED))
        self.disk.set_range(0, self.hub.history.host_latest(host, h.DISK_TOTAL))
        self.load.set_points(series(host, h.LOAD_1))
        self.rx.set_points(series(host, h.NET_RX))
        self.tx.set_points(series(host, h.NET_TX))

    def _backends(self, backends: list[dict[str, Any]]) -> None:
        rows = [
            (
                str(b.get("name", "")) + ("" if b.get("isolated", True) else " (no isolation)"),
                "yes" if b.get("available") else "no",
                str(b.get("detail") or ""),
            )
            for b in backends
        ]
        if rows == self.backend_rows():
            return
        self.backends.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(tip(text))
                self.backends.setItem(r, c, item)
        self.backends.resizeColumnsToContents()
        self.backends.resizeRowsToContents()

    def _double_clicked(self, index: QModelIndex) -> None:
        key: Key | None = index.data(KeyRole)
        if key is not None:
            self.open_sandbox.emit(key)

"""The host sidebar: each host with its connection state and small system figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

HostRole = Qt.ItemDataRole.UserRole + 2
ALL_HOSTS = ""  # the "All hosts" row's name

_PHASE_COLOURS = {
    "connected": QColor(46, 160, 67),
    "connecting": QColor(66, 135, 245),
    "reconnecting": QColor(245, 166, 35),
    "failed": QColor(211, 47, 47),
}


@dataclass(frozen=True)
class HostRow:
    """What a host's row shows. Frozen: a changed row is a new object, so
    that setting it on the item is a change Qt sees and repaints."""

    name: str
    label: str
    phase: str = "idle"  # idle, connecting, connected, reconnecting, failed, closed
    state_text: str = "not connected"
    metrics: dict[str, Any] | None = None
    sandboxes: int = 0


def figures(m: dict[str, Any] | None) -> str:
    """'CPU 12% · mem 4.1/15.6G · disk 120/500G · load 0.42'"""
    if not m:
        return ""
    gib = 1024**3
    parts = [f"CPU {m.get('cpu_percent', 0):.0f}%"]
    if m.get("memory_total"):
        parts.append(f"mem {m['memory_used'] / gib:.1f}/{m['memory_total'] / gib:.0f}G")
    if m.get("disk_total"):
        parts.append(f"disk {m['disk_used'] / gib:.0f}/{m['disk_total'] / gib:.0f}G")
    load = m.get("load") or []
    if load:
        parts.append(f"load {load[0]:.2f}")
    return " · ".join(parts)


class HostDelegate(QStyledItemDelegate):
    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        fm = option.fontMetrics
        return QSize(220, 8 + fm.height() + 2 * (QFontMetrics(self._small(option)).height()) + 8)

    @staticmethod
    def _small(option: QStyleOptionViewItem) -> QFont:
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.85))
        return small

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        row: HostRow = index.data(HostRole)
        pal: QPalette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, pal.color(QPalette.ColorRole.Highlight))
        text_colour = pal.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        dim = text_colour if selected else pal.color(QPalette.ColorRole.PlaceholderText)
        r: QRect = option.rect.adjusted(10, 6, -8, -6)
        fm = option.fontMetrics
        bold = QFont(option.font)
        bold.setBold(True)
        dot = fm.height() // 2
        if row.name != ALL_HOSTS:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_PHASE_COLOURS.get(row.phase, QColor(150, 150, 150)))
            painter.drawEllipse(QRect(r.x(), r.y() + (fm.height() - dot) // 2, dot, dot))
        painter.setFont(bold)
        painter.setPen(text_colour)
        title = row.label + (f"  ({row.sandboxes})" if row.sandboxes else "")
        painter.drawText(QRect(r.x() + dot + 6, r.y(), r.width() - dot - 6, fm.height()),
                         Qt.AlignmentFlag.AlignVCenter, title)  # fmt: skip
        small = self._small(option)
        sfm = QFontMetrics(small)
        painter.setFont(small)
        y = r.y() + fm.height() + 2
        for line in (row.state_text, figures(row.metrics)):
            if line:
                painter.setPen(_PHASE_COLOURS.get(row.phase, dim) if line is row.state_text and
                               row.phase == "failed" and not selected else dim)  # fmt: skip
                painter.drawText(
                    QRect(r.x(), y, r.width(), sfm.height()),
                    Qt.AlignmentFlag.AlignVCenter,
                    sfm.elidedText(line, Qt.TextElideMode.ElideRight, r.width()),
                )
            y += sfm.height()
        painter.restore()


class HostList(QListWidget):
    """'All hosts' then one row per host; the selection filters the tiles."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setItemDelegate(HostDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._items: dict[str, QListWidgetItem] = {}
        self.set_row(HostRow(ALL_HOSTS, "All hosts", state_text=""))
        self.setCurrentRow(0)

    def set_row(self, row: HostRow) -> None:
        item = self._items.get(row.name)
        if item is None:
            item = QListWidgetItem()
            self._items[row.name] = item
            self.addItem(item)
        item.setData(HostRole, row)
        lines = (row.label, row.state_text, figures(row.metrics))
        item.setToolTip("\n".join(t for t in lines if t))

    def host_row(self, name: str) -> HostRow | None:
        item = self._items.get(name)
        return item.data(HostRole) if item is not None else None

    def remove(self, name: str) -> None:
        item = self._items.pop(name, None)
        if item is not None:
            self.takeItem(self.indexFromItem(item).row())

    def current_host(self) -> str | None:
        """The selected host's name, or None for 'All hosts'."""
        item = self.currentItem()
        if item is None:
            return None
        name: str = item.data(HostRole).name
        return name or None

    def names(self) -> list[str]:
        return [n for n in self._items if n != ALL_HOSTS]

"""The tile grid's view: a QListView in icon mode whose tiles the
:class:`~.tiles.TileDelegate` paints; it fits the tiles to a narrow window
and says when the pointer comes over it or leaves (the window holds the
tiles' order meanwhile)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import QEnterEvent, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QWidget

from .model import Tile, TileRole
from .tiles import GAP, MAX_TILE, MIN_TILE, TileDelegate


class TileView(QListView):
    """The grid. Keyboard: arrows move, Delete deletes (the window's action)."""

    # The pointer came over the grid (True) or left it: the window holds the
    # tiles' order meanwhile, so that none moves from under the pointer.
    pointer_over = Signal(bool)

    # How narrow a tile gets in a narrow grid (below MIN_TILE, the slider's
    # least): its name, status and a button still read at 120 px.
    FLOOR = 120

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(GAP // 2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tile_delegate = TileDelegate(self)
        self.setItemDelegate(self.tile_delegate)
        # Tiles shrink to the grid's width (_fit) instead of scrolling sideways.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._chosen = self.tile_delegate.tile_width

    def set_tile_width(self, width: int) -> None:
        """The width chosen (the Tile size slider); a narrower grid shrinks the tiles to fit."""
        self._chosen = max(MIN_TILE, min(MAX_TILE, width))
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Tiles as wide as chosen, or as wide as the grid when it is narrower:
        one column that fits, never a horizontal scroll bar. The room counts
        the vertical scroll bar whether it shows or not, so that a bar coming
        or going cannot make the width swing back and forth."""
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        room = self.width() - 2 * self.frameWidth() - bar - 2 * self.spacing() - 1
        width = max(self.FLOOR, min(self._chosen, room))
        if width != self.tile_delegate.tile_width:
            self.tile_delegate.tile_width = width
            self.scheduleDelayedItemsLayout()
            self.viewport().update()

    def selected_tiles(self) -> list[Tile]:
        return [i.data(TileRole) for i in self.selectionModel().selectedIndexes()]

    def tile_at(self, pos: QPoint) -> Tile | None:
        idx = self.indexAt(pos)
        return idx.data(TileRole) if idx.isValid() else None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        row = self.indexAt(event.position().toPoint()).row()
        if row != self.tile_delegate.hover_row:
            self.tile_delegate.hover_row = row
            self.viewport().update()
        super().mouseMoveEvent(event)

    def enterEvent(self, event: QEnterEvent) -> None:
        self.pointer_over.emit(True)
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.tile_delegate.hover_row = -1
        self.viewport().update()
        self.pointer_over.emit(False)
        super().leaveEvent(event)

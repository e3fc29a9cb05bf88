"""A table model over a dataset's items: 10,000 rows stay smooth because only visible rows are
asked for, and thumbnails arrive lazily from :class:`ThumbnailCache`."""

from __future__ import annotations

import os

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtGui import QBrush, QColor

from mmstudio.data import Item
from mmstudio.gui.widgets.thumbnails import ThumbnailCache

COLUMNS = ("Item", "Label", "Split", "Text", "Image", "Audio")
MISSING = "— missing —"


class ItemTableModel(QAbstractTableModel):
    def __init__(self, thumbnails: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self._items: list[Item] = []
        self._rows_by_image: dict[str, list[int]] = {}
        self._thumbs = thumbnails
        thumbnails.ready.connect(self._on_thumbnail_ready)

    def set_items(self, items: list[Item]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._rows_by_image = {}
        for row, it in enumerate(self._items):
            if it.image:
                self._rows_by_image.setdefault(it.image, []).append(row)
        self.endResetModel()

    def item(self, row: int) -> Item:
        return self._items[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        it = self._items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(it, col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and it.image:
            return self._thumbs.get(it.image)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 3 and it.text:
                return it.text
            if col == 0:
                return "\n".join(filter(None, (it.id, it.image, it.audio)))
            if col == 4 and it.image:
                return it.image
            if col == 5 and it.audio:
                return it.audio
        if role == Qt.ItemDataRole.ForegroundRole and self._display(it, col) == MISSING:
            return QBrush(QColor("#b0483a"))
        return None

    @staticmethod
    def _display(it: Item, col: int) -> str:
        if col == 0:
            return it.id
        if col == 1:
            return it.label or ""
        if col == 2:
            return it.split or ""
        if col == 3:
            return it.text[:200] if it.text else MISSING
        path = it.image if col == 4 else it.audio
        return os.path.basename(path) if path else MISSING

    @Slot(str)
    def _on_thumbnail_ready(self, path: str) -> None:
        for row in self._rows_by_image.get(path, ()):
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

"""The Data panel's tables: counts per split and modality, problems, and manifest columns."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QTableWidget, QTableWidgetItem

from mmstudio.config import COLUMN_ROLES
from mmstudio.data import MODALITIES, Dataset


def fill_counts(table: QTableWidget, ds: Dataset) -> None:
    """Items per split and modality, with a total row."""
    by_split = ds.split_counts_by_modality()
    splits = list(ds.splits())
    table.clear()
    table.setRowCount(len(splits) + 1)
    table.setColumnCount(len(MODALITIES) + 1)
    table.setHorizontalHeaderLabels(["items", *MODALITIES])
    table.setVerticalHeaderLabels([*splits, "total"])
    totals = ds.modality_counts()
    for r, split in enumerate(splits):
        table.setItem(r, 0, _cell(ds.splits()[split]))
        for c, m in enumerate(MODALITIES, 1):
            table.setItem(r, c, _cell(by_split.get(split, {}).get(m, 0)))
    table.setItem(len(splits), 0, _cell(len(ds.items)))
    for c, m in enumerate(MODALITIES, 1):
        table.setItem(len(splits), c, _cell(totals[m]))


def fill_problems(table: QTableWidget, ds: Dataset) -> int:
    """One row per problem (severity, path relative to the dataset, row, reason); returns the count."""
    table.setRowCount(len(ds.problems))
    for r, p in enumerate(ds.problems):
        table.setItem(r, 0, QTableWidgetItem(p.severity))
        path_item = QTableWidgetItem(os.path.relpath(p.path, ds.root) if p.path.startswith(ds.root) else p.path)
        path_item.setToolTip(p.path)
        table.setItem(r, 1, path_item)
        table.setItem(r, 2, QTableWidgetItem("" if p.row is None else str(p.row)))
        table.setItem(r, 3, QTableWidgetItem(p.reason))
    table.resizeColumnToContents(1)
    return len(ds.problems)


def fill_columns(table: QTableWidget, ds: Dataset) -> bool:
    """A manifest's columns with a role chooser and an example value; False when there are none."""
    table.setRowCount(len(ds.column_names))
    example = ds.items[0] if ds.items else None
    for r, name in enumerate(ds.column_names):
        table.setItem(r, 0, QTableWidgetItem(name))
        combo = QComboBox()
        combo.addItems(COLUMN_ROLES)
        combo.setCurrentText(ds.columns.get(name, "ignore"))
        table.setCellWidget(r, 1, combo)
        table.setItem(r, 2, QTableWidgetItem(_example(ds, name, example)))
    return bool(ds.column_names)


def _example(ds: Dataset, column: str, item) -> str:
    role = ds.columns.get(column)
    if item is None or role not in ("image", "audio", "text", "label", "split", "id"):
        return ""
    value = getattr(item, role if role != "id" else "id", None)
    if role in ("image", "audio") and value:
        return os.path.relpath(value, ds.root)
    return str(value or "")[:80]


def _cell(value) -> QTableWidgetItem:
    item = QTableWidgetItem(f"{value:,}")
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item

"""The Data panel's tables: counts per split and modality, problems, and manifest columns."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QTableView, QTableWidget, QTableWidgetItem

from mmstudio.config import COLUMN_ROLES
from mmstudio.data import MODALITIES, Dataset


def summary_html(ds: Dataset) -> str:
    """The Data panel's headline: name, layout, items per modality, classes (warned when none)."""
    counts = ds.modality_counts()
    mods = ", ".join(f"{n:,} {m}" for m, n in counts.items() if n) or "nothing usable"
    summary = ds.class_summary()
    classes = summary if ds.labels() else f"<span style='color:#b26a00'>{html.escape(summary)}</span>"
    return (
        f"<b>{html.escape(os.path.basename(ds.spec.path.rstrip(os.sep)))}</b> — {ds.layout.replace('_', ' ')}, "
        f"{len(ds.items):,} items: {mods}; {classes}"
    )


def show_class_counts(chart, labels: dict[str, int], top: int = 30) -> None:
    """All classes when few; else the largest ``top``, so the names stay readable."""
    if len(labels) <= top:
        chart.setTitle(f"Items per class ({len(labels)} classes)")
        chart.set_values(labels, empty="No labels: every item is unlabelled")
        return
    largest = dict(sorted(labels.items(), key=lambda kv: -kv[1])[:top])
    chart.setTitle(f"Items per class: largest {top} of {len(labels)} classes")
    chart.set_values(largest)


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
    table.resizeColumnToContents(0)
    table.resizeColumnToContents(2)
    table.resizeColumnToContents(1)
    # the file column at most a third of the table (elided in the middle): the reason stays visible
    table.setColumnWidth(1, min(table.columnWidth(1), max(120, table.viewport().width() // 3)))
    return len(ds.problems)


def fit_item_columns(table: QTableView, items: list) -> None:
    """The item table's widths for this dataset: ids as wide as the longest (within bounds),
    label and split as wide as theirs; the text column takes the rest."""
    metrics = table.fontMetrics()

    def width(texts, low: int, high: int) -> int:
        widest = max((metrics.horizontalAdvance(t) for t in texts), default=0)
        return max(low, min(high, widest + 24))

    sample = items[:2000]  # enough to size the columns; 10,000 ids take no longer to show
    thumbnails = any(it.image for it in sample)
    # Rows are as tall as a thumbnail only where there are images; text and audio rows stay compact.
    table.verticalHeader().setDefaultSectionSize(44 if thumbnails else metrics.height() + 10)
    table.setColumnWidth(0, width((it.id for it in sample), 70, 260) + (44 if thumbnails else 0))
    table.setColumnWidth(1, width((it.label or "" for it in sample), 56, 160))
    table.setColumnWidth(2, width((it.split or "" for it in sample), 50, 90))
    table.setColumnWidth(3, width((it.text or "" for it in sample), 120, 260))  # texts before file names
    for column, role in ((4, "image"), (5, "audio")):
        names = (os.path.basename(getattr(it, role) or "") for it in sample)
        table.setColumnWidth(column, width(names, 60, 150))


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

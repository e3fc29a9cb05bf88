"""Views of a generating model's texts: the Query panel's Describe result (the text and its beam
alternatives) and the Evaluate panel's report (scores beside the baselines', and every example's
input, reference and output, sortable by error). Plain values in, widgets out."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

THUMB = 56
#: Examples shown at most (the worst and the best are what a user reads; all are in the export).
MAX_ROWS = 1000


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(True)
    return table


class _Number(QTableWidgetItem):
    """A cell that sorts by its number, not its text."""

    def __init__(self, value: float, text: str) -> None:
        super().__init__(text)
        self.setData(Qt.ItemDataRole.UserRole, value)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return float(self.data(Qt.ItemDataRole.UserRole)) < float(other.data(Qt.ItemDataRole.UserRole))


class DescribeView(QWidget):
    """The text a model wrote for the query, large, and its beam alternatives with scores."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel("Drop or choose an image or a sound: the model describes it here.")
        self.text.setWordWrap(True)
        self.text.setObjectName("answer")  # normal text on the theme's base colour (style.qss, theme.py)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel("")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.alternatives = _table(["rank", "text", "log-probability"])
        self.alternatives.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(QLabel("<b>Beam alternatives</b>, most likely first"))
        layout.addWidget(self.alternatives, 1)
        layout.addWidget(self.note)

    def set_answer(self, answer: dict) -> None:
        """``answer``: ``{"texts": [{"text", "score"}, ...], "used": [...]}``."""
        texts = answer.get("texts", [])
        best = texts[0]["text"] if texts else ""
        self.text.setText(html.escape(best) or "<i>(the model wrote nothing)</i>")
        self.alternatives.setRowCount(len(texts))
        for row, t in enumerate(texts):
            self.alternatives.setItem(row, 0, _Number(row + 1, str(row + 1)))
            self.alternatives.setItem(row, 1, QTableWidgetItem(t["text"] or "(empty)"))
            self.alternatives.setItem(row, 2, _Number(t["score"], f"{t['score']:.3f}"))
        self.note.setText(
            f"Written from the {' + '.join(answer.get('used', []))} by beam search of width {len(texts)}; "
            "a from-scratch model writes the kind of text it was trained on, nothing else."
        )


class GenerationReport(QWidget):
    """Scores of the model beside the baselines, above every example, worst first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scores = _table(["score", "model"])
        self.scores.setMaximumHeight(230)
        self.note = QLabel("")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.examples = _table(["input", "reference", "generated", "alternatives", "error (CER)"])
        self.examples.setIconSize(QSize(THUMB, THUMB))
        self.examples.verticalHeader().setDefaultSectionSize(THUMB + 6)
        header = self.examples.horizontalHeader()
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        self.examples_label = QLabel("")
        self.examples_label.setObjectName("headline")
        top = QWidget()
        t_layout = QVBoxLayout(top)
        t_layout.setContentsMargins(0, 0, 0, 0)
        t_layout.addWidget(self.scores)
        t_layout.addWidget(self.note)
        bottom = QWidget()
        b_layout = QVBoxLayout(bottom)
        b_layout.setContentsMargins(0, 0, 0, 0)
        b_layout.addWidget(self.examples_label)
        b_layout.addWidget(self.examples, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([260, 540])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def show_report(self, report: dict, headers: list[str], rows: list[list[str]]) -> None:
        """``headers``/``rows``: ``engine.comparison_rows(report)``."""
        self.scores.setColumnCount(len(headers))
        self.scores.setHorizontalHeaderLabels(headers)
        self.scores.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.scores.setItem(r, c, QTableWidgetItem(value))
        self.scores.resizeColumnsToContents()
        self.note.setText(
            "★ best of the row. Most frequent: every item gets the training split's most frequent text. "
            f"Nearest neighbour: the text of the most similar training item, by {report.get('nn_feature', '')}."
        )
        self._fill_examples(report["examples"][:MAX_ROWS])
        shown = min(len(report["examples"]), MAX_ROWS)
        self.examples_label.setText(
            f"{shown:,} of {len(report['examples']):,} {report['split']} examples, worst first "
            "(click a column to sort; error: the item's character edits over its reference's length)"
        )

    def _fill_examples(self, examples: list[dict]) -> None:
        table = self.examples
        table.setSortingEnabled(False)
        table.setRowCount(len(examples))
        for r, ex in enumerate(examples):
            table.setItem(r, 0, _input_item(ex))
            table.setItem(r, 1, QTableWidgetItem(ex["reference"]))
            table.setItem(r, 2, QTableWidgetItem(ex["generated"] or "(empty)"))
            table.setItem(r, 3, QTableWidgetItem(" | ".join(ex.get("alternatives", []))))
            table.setItem(r, 4, _Number(ex["error"], f"{ex['error']:.3f}"))
        table.setSortingEnabled(True)
        table.sortItems(4, Qt.SortOrder.DescendingOrder)
        table.setColumnHidden(3, not any(ex.get("alternatives") for ex in examples))  # greedy: none


def _input_item(example: dict) -> QTableWidgetItem:
    """The example's image as a thumbnail, and/or its sound's file name."""
    names = [os.path.basename(example[m]) for m in ("image", "audio") if example.get(m)]
    item = QTableWidgetItem("\n".join(f"♪ {n}" if n.endswith(_SOUND) else n for n in names))
    item.setToolTip("\n".join(example[m] for m in ("image", "audio") if example.get(m)))
    if example.get("image"):
        pixmap = QPixmap(example["image"])
        if not pixmap.isNull():
            item.setIcon(QIcon(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio)))
            item.setText("")
    return item


_SOUND = (".wav", ".flac", ".mp3", ".ogg")

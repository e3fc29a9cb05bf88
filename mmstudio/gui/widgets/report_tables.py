"""Tabs of evaluation numbers: summary metrics, per-class precision/recall/F1, retrieval."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.widgets.regress_view import regress_rows


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: list[list]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            text = (
                f"{value:.4f}" if isinstance(value, float) else (f"{value:,}" if isinstance(value, int) else str(value))
            )
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class MetricTables(QTabWidget):
    """ "Metrics": the summary above per-class precision/recall/F1; "Retrieval": Recall@K."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.metrics = _table(["metric", "value"])
        self.per_class = _table(["class", "precision", "recall", "F1", "support"])
        for c in range(1, 5):
            self.per_class.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.retrieval = _table(["query → corpus", "R@1", "R@5", "R@10"])
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.metrics)
        self.per_class_label = QLabel("<b>Per class</b>")
        layout.addWidget(self.per_class_label)
        layout.addWidget(self.per_class, 1)
        self.addTab(page, "Metrics")
        self.addTab(self.retrieval, "Retrieval")

    def show_report(self, report: dict) -> None:
        rows: list[list] = [["items", len(report["samples"])], ["split", report["split"]]]
        rows += [
            [name, report[key]] for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro F1")) if key in report
        ]
        rows += regress_rows(report)
        a = report.get("ablation", {})
        if "gain" in a:
            rows.append([f"gain over {a['best_single']} only", a["gain"]])
        for pair, res in sorted(report.get("retrieval", {}).items()):
            kind = "label" if "label" in res else "exact"
            rows.append([f"{pair} R@10 ({'same label' if kind == 'label' else 'exact pair'})", res[kind]["recall@10"]])
        _fill(self.metrics, rows)
        _fill(
            self.per_class,
            [[n, v["precision"], v["recall"], v["f1"], v["support"]] for n, v in report.get("per_class", {}).items()],
        )
        height = self.metrics.horizontalHeader().height() + 4
        self.metrics.setMaximumHeight(height + sum(self.metrics.rowHeight(r) for r in range(len(rows))))
        self.per_class.setVisible(bool(report.get("per_class")))
        self.per_class_label.setVisible(bool(report.get("per_class")))
        ret = []
        for pair, res in sorted(report.get("retrieval", {}).items()):
            for kind in ("label", "exact"):
                if kind in res:
                    x = res[kind]
                    ret.append(
                        [
                            f"{pair} ({'same label' if kind == 'label' else 'exact pair'})",
                            x["recall@1"],
                            x["recall@5"],
                            x["recall@10"],
                        ]
                    )
        _fill(self.retrieval, ret)
        self.setTabEnabled(1, bool(ret))
        self.setCurrentIndex(0 if "accuracy" in report or not ret else 1)

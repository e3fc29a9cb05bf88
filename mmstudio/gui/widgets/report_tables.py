"""Tabs of evaluation numbers: summary metrics, per-class precision/recall/F1, retrieval."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QTabWidget


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
            text = f"{value:.4f}" if isinstance(value, float) else (f"{value:,}" if isinstance(value, int)
                                                                     else str(value))
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class MetricTables(QTabWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.metrics = _table(["metric", "value"])
        self.per_class = _table(["class", "precision", "recall", "F1", "support"])
        self.retrieval = _table(["query → corpus", "R@1", "R@5", "R@10"])
        self.addTab(self.metrics, "Metrics")
        self.addTab(self.per_class, "Per class")
        self.addTab(self.retrieval, "Retrieval")

    def show_report(self, report: dict) -> None:
        rows: list[list] = [["items", len(report["samples"])], ["split", report["split"]]]
        rows += [[name, report[key]] for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro F1"))
                 if key in report]
        a = report.get("ablation", {})
        if "gain" in a:
            rows.append([f"gain over {a['best_single']} only", a["gain"]])
        for pair, res in sorted(report.get("retrieval", {}).items()):
            kind = "label" if "label" in res else "exact"
            rows.append([f"{pair} R@10 ({'same label' if kind == 'label' else 'exact pair'})",
                         res[kind]["recall@10"]])
        _fill(self.metrics, rows)
        _fill(self.per_class, [[n, v["precision"], v["recall"], v["f1"], v["support"]]
                               for n, v in report.get("per_class", {}).items()])
        ret = []
        for pair, res in sorted(report.get("retrieval", {}).items()):
            for kind in ("label", "exact"):
                if kind in res:
                    x = res[kind]
                    ret.append([f"{pair} ({'same label' if kind == 'label' else 'exact pair'})",
                                x["recall@1"], x["recall@5"], x["recall@10"]])
        _fill(self.retrieval, ret)
        self.setTabEnabled(1, bool(report.get("per_class")))
        self.setTabEnabled(2, bool(ret))
        self.setCurrentIndex(0 if "accuracy" in report or not ret else 2)

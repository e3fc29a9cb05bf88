"""The Evaluate panel's view of a ``regress`` report: predicted against true numbers (hover a
point to preview its item), the error with each modality removed or kept alone, and the rows
of the metrics table. Plain numbers in; no tensor maths here."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QLabel, QSplitter, QToolTip, QVBoxLayout, QWidget

from mmstudio.gui.widgets.charts import BarChart


def regress_rows(report: dict) -> list[list]:
    """Rows for the metrics table: each metric beside the mean baseline's."""
    r = report.get("regression") or {}
    if "mae" not in r:
        return [["targets", r.get("note", "none")]] if "regression" in report else []
    b = r["baseline"]
    rows = [[name, r[key]] for key, name in (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"))]
    rows += [[f"{name}, mean baseline", b[key]] for key, name in (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"))]
    return rows + [["baseline predicts", b["predicts"]], ["items with a target", r["items"]]]


class RegressView(QWidget):
    """``set_report(report)``; ``hovered(index)`` names the item under the mouse."""

    hovered = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: dict | None = None
        self.scatter_plot = pg.PlotWidget(title="Predicted against true")
        self.scatter_plot.setLabel("bottom", "true")
        self.scatter_plot.setLabel("left", "predicted")
        self.scatter_plot.showGrid(x=True, y=True, alpha=0.2)
        self.scatter = pg.ScatterPlotItem(size=7, hoverable=True, hoverSize=11, tip=None)
        self.scatter.sigHovered.connect(self._on_hovered)
        self.diagonal = pg.PlotCurveItem(pen=pg.mkPen("#9aa0a6", style=Qt.PenStyle.DashLine))
        self.scatter_plot.addItem(self.diagonal)
        self.scatter_plot.addItem(self.scatter)
        self.residuals = BarChart("Mean absolute error by modality ablation")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.scatter_plot)
        split.addWidget(self.residuals)
        split.setSizes([300, 160])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addWidget(self.note)

    def set_report(self, report: dict) -> None:
        self.report = report
        values = report.get("values") or {"true": [], "pred": []}
        points: list[dict] = [
            {"pos": (t, p), "data": i, "brush": _colour(t, p)}
            for i, (t, p) in enumerate(zip(values["true"], values["pred"]))
            if t is not None
        ]
        self.scatter.setData(points)
        if points:
            xs = [pt["pos"][0] for pt in points] + [pt["pos"][1] for pt in points]
            low, high = min(xs), max(xs)
            self.diagonal.setData([low, high], [low, high])
        variants = report.get("residuals", {}).get("variants", {})
        self.residuals.set_values({name: v["mae"] for name, v in variants.items()}, color="#d08a2d")
        self.note.setText(_note(report, variants))

    def _on_hovered(self, _item, points, _event) -> None:
        if self.report is None or len(points) == 0:
            QToolTip.hideText()
            return
        index = int(points[0].data())
        self.hovered.emit(index)
        QToolTip.showText(QCursor.pos(), preview_html(self.report, index), self)


def preview_html(report: dict, index: int) -> str:
    """A tooltip for item ``index``: its picture, text and file names, true and predicted numbers."""
    s = report["samples"][index]
    true, pred = report["values"]["true"][index], report["values"]["pred"][index]
    parts = [f"<b>{html.escape(s['id'])}</b>"]
    if s.get("image"):
        parts.append(f"<img src='{html.escape(s['image'])}' width='96'>")
    if s.get("text"):
        parts.append(html.escape(s["text"][:160]))
    if s.get("audio"):
        parts.append("🔊 " + html.escape(s["audio"].rsplit("/", 1)[-1]))
    parts.append(f"true <b>{true:.4g}</b> · predicted <b>{pred:.4g}</b> · error {pred - true:+.3g}")
    return "<br>".join(parts)


def worst_caption(report: dict, index: int) -> str:
    true, pred = report["values"]["true"][index], report["values"]["pred"][index]
    return (
        f"<b>{html.escape(report['samples'][index]['id'])}</b><br>true <b>{true:.4g}</b><br>"
        f"<span style='color:#c2452d'>pred <b>{pred:.4g}</b></span> ({pred - true:+.3g})"
    )


def _colour(true: float, pred: float) -> str:
    return "#3d7bd9" if abs(pred - true) <= 0.1 * max(1.0, abs(true)) else "#c2452d"


def _note(report: dict, variants: dict) -> str:
    r = report.get("regression") or {}
    if "mae" not in r:
        return "No item of this split has a target."
    text = (
        f"MAE <b>{r['mae']:.4g}</b> against <b>{r['baseline']['mae']:.4g}</b> for always predicting the training mean."
    )
    only = {k: v["mae"] for k, v in variants.items() if k.startswith("only ")}
    if only:
        best = min(only, key=lambda k: only[k])
        text += (
            f" Best single modality: {best[5:]} (MAE {only[best]:.4g}). Ablations are this same model with inputs "
            "masked as missing. Blue points are within 10 % of the truth."
        )
    return text

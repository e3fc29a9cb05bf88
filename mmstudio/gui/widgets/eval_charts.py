"""Evaluation plots: a clickable confusion-matrix heatmap, the ablation bars and the
robustness curves (pyqtgraph; the numbers come from ``engine.evaluation_report``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

COLORS = {"fused": "#3d7bd9", "without": "#e39b35", "only": "#8c959f"}
LINE_COLORS = {"image": "#3d7bd9", "text": "#2f9e55", "audio": "#c2452d"}


def _short(name: str, n: int = 10) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


class ConfusionHeatmap(pg.PlotWidget):
    """Rows are true classes, columns predicted; colour is the row fraction, text the count.

    Clicking a cell emits ``cell_clicked(true, predicted)``.
    """

    cell_clicked = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.invertY(True)
        self.setAspectLocked(True)
        self.setLabel("left", "true class")
        self.setLabel("bottom", "predicted class")
        self.setTitle("Confusion matrix (click a cell to list its samples)")
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.ColorMap([0.0, 1.0], [(255, 255, 255), (31, 84, 170)]))
        self.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self._highlight = QGraphicsRectItem()
        self._highlight.setPen(QPen(QColor("#e0362c"), 0.08))
        self._highlight.setVisible(False)
        self.addItem(self._highlight)
        self.matrix = np.zeros((0, 0), dtype=int)
        self.names: list[str] = []
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)

    def set_matrix(self, matrix: list[list[int]], names: list[str]) -> None:
        for t in self._texts:
            self.removeItem(t)
        self._texts = []
        self._highlight.setVisible(False)
        self.matrix = np.asarray(matrix, dtype=int).reshape(len(names), len(names))
        self.names = list(names)
        n = len(names)
        if n == 0:
            self.image.clear()
            return
        rows = self.matrix.sum(1, keepdims=True).clip(min=1)
        frac = self.matrix / rows
        self.image.setImage(frac.T, levels=(0.0, 1.0))  # ImageItem's first axis is x (predicted)
        self.image.setRect(QRectF(0, 0, n, n))
        ticks = [(i + 0.5, _short(name)) for i, name in enumerate(names)]
        step = max(1, -(-n // 20))
        for axis in ("bottom", "left"):
            self.getAxis(axis).setTicks([ticks[::step], []])
        if n <= 20:
            for r in range(n):
                for c in range(n):
                    count = int(self.matrix[r, c])
                    if count == 0 and r != c:
                        continue
                    color = "w" if frac[r, c] > 0.55 else "#24292f"
                    text = pg.TextItem(str(count), color=color, anchor=(0.5, 0.5))
                    text.setPos(c + 0.5, r + 0.5)
                    self.addItem(text)
                    self._texts.append(text)
        self.setRange(QRectF(0, 0, n, n), padding=0.02)

    def cell_center(self, true: int, pred: int) -> QPoint:
        """The cell's centre in this widget's coordinates (for tests and tooltips)."""
        scene = self.plotItem.vb.mapViewToScene(QPointF(pred + 0.5, true + 0.5))
        return self.mapFromScene(scene)

    def select_cell(self, true: int, pred: int) -> None:
        self._highlight.setRect(QRectF(pred, true, 1, 1))
        self._highlight.setVisible(True)
        self.cell_clicked.emit(true, pred)

    def _on_scene_clicked(self, event) -> None:
        n = len(self.names)
        if n == 0 or event.button() != Qt.MouseButton.LeftButton:
            return
        p = self.plotItem.vb.mapSceneToView(event.scenePos())
        col, row = int(np.floor(p.x())), int(np.floor(p.y()))
        if 0 <= row < n and 0 <= col < n:
            self.select_cell(row, col)


class AblationChart(pg.PlotWidget):
    """Bars: the fused model, without each modality, and each modality alone, with values."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(y=True, alpha=0.25)
        self._items: list = []
        self.bars: dict[str, float] = {}

    def set_ablation(self, ablation: dict) -> None:
        for item in self._items:
            self.removeItem(item)
        self._items = []
        bars = [("all", ablation["fused"], COLORS["fused"])]
        bars += [(f"no {m}", v, COLORS["without"]) for m, v in ablation.get("without", {}).items()]
        bars += [(f"{m} only", v, COLORS["only"]) for m, v in ablation.get("only", {}).items()]
        self.bars = {name: value for name, value, _ in bars}
        x = list(range(len(bars)))
        item = pg.BarGraphItem(
            x=x, height=[b[1] for b in bars], width=0.7, brushes=[pg.mkBrush(b[2]) for b in bars], pen=pg.mkPen(None)
        )
        self.addItem(item)
        self._items.append(item)
        for i, (_, value, _) in enumerate(bars):
            label = pg.TextItem(f"{value:.3f}", color="#24292f", anchor=(0.5, 1.0))
            label.setPos(i, value)
            self.addItem(label)
            self._items.append(label)
        self.getAxis("bottom").setTicks([[(i, b[0]) for i, b in enumerate(bars)]])
        self.setLabel("left", ablation.get("metric", "accuracy"))
        self.setXRange(-0.6, len(bars) - 0.4, padding=0)
        self.setYRange(0, 1.12, padding=0)
        self.setTitle("Ablation: the metric with modalities removed or alone")


class RobustnessChart(pg.PlotWidget):
    """One curve per modality: the metric as that modality gets noisier."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setLabel("bottom", "noise strength (× the input's standard deviation)")
        self.setTitle("Robustness: noise added to one modality at a time")
        self.legend = self.addLegend(offset=(-10, -10))
        self.curves: dict[str, pg.PlotDataItem] = {}

    def set_curves(self, robustness: dict) -> None:
        for curve in self.curves.values():
            self.removeItem(curve)
        self.legend.clear()
        self.curves = {}
        for m, values in robustness["curves"].items():
            pen = pg.mkPen(LINE_COLORS.get(m, "#333"), width=2)
            self.curves[m] = self.plot(
                robustness["levels"],
                values,
                pen=pen,
                symbol="o",
                symbolSize=7,
                symbolBrush=LINE_COLORS.get(m, "#333"),
                name=f"noisy {m}",
            )
        self.setLabel("left", robustness.get("metric", "accuracy"))
        self.setYRange(0, 1.05, padding=0)

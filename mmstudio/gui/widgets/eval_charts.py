"""Evaluation plots: a clickable confusion-matrix heatmap, the ablation bars and the
robustness curves (pyqtgraph; the numbers come from ``engine.evaluation_report``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from mmstudio.gui import theme
from mmstudio.gui.widgets.charts import MessagePlot

theme.configure_pyqtgraph()  # new plots start in the theme's colours

COLORS = {"fused": "#3d7bd9", "without": "#e39b35", "only": "#8c959f"}
LINE_COLORS = {"image": "#3d7bd9", "text": "#2f9e55", "audio": "#c2452d"}


def _short(name: str, n: int = 10) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


class ConfusionHeatmap(MessagePlot):
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
        self.setTitle("Confusion matrix")
        self.setToolTip("Rows: true class; columns: predicted. Click a cell to list its samples.")
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self._highlight = QGraphicsRectItem()
        self._highlight.setPen(QPen(QColor("#e0362c"), 0.08))
        self._highlight.setVisible(False)
        self.addItem(self._highlight)
        self.matrix = np.zeros((0, 0), dtype=int)
        self.names: list[str] = []
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self._colors = theme.current()
        self.image.setColorMap(_heat_map(self._colors))
        self.show_message("Evaluate a model to see its confusion matrix")

    def restyle(self, colors: theme.Colors) -> None:
        """Empty cells in the plot's background, counts readable on every cell."""
        self._colors = colors
        self.image.setColorMap(_heat_map(colors))
        if len(self.names):
            self.set_matrix(self.matrix.tolist(), self.names)

    def set_matrix(self, matrix: list[list[int]], names: list[str], empty: str = "No confusion matrix to show") -> None:
        for t in self._texts:
            self.removeItem(t)
        self._texts = []
        self._highlight.setVisible(False)
        self.matrix = np.asarray(matrix, dtype=int).reshape(len(names), len(names))
        self.names = list(names)
        n = len(names)
        self.clear_message()
        if n == 0:
            self.image.clear()
            self.show_message(empty)
            return
        rows = self.matrix.sum(1, keepdims=True).clip(min=1)
        frac = self.matrix / rows
        # shaded by the square root: a few confusions in a row (2 %) show as a tint, not background
        self.image.setImage(np.sqrt(frac.T), levels=(0.0, 1.0))  # the first axis is x (predicted)
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
                    color = count_color(self.cell_color(float(frac[r, c])), self._colors)
                    text = pg.TextItem(str(count), color=color, anchor=(0.5, 0.5))
                    text.setPos(c + 0.5, r + 0.5)
                    self.addItem(text)
                    self._texts.append(text)
        self.setRange(QRectF(0, 0, n, n), padding=0.02)

    def cell_color(self, fraction: float) -> QColor:
        """The colour a cell of this row fraction is painted in (the image's colour map)."""
        return _heat_map(self._colors).map(np.sqrt(np.array([fraction])), mode="qcolor")[0]

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


class AblationChart(MessagePlot):
    """Bars: the fused model, without each modality, and each modality alone, with values."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(y=True, alpha=0.25)
        self._items: list = []
        self.bars: dict[str, float] = {}
        self.setTitle("Ablation")
        self.show_message("Evaluate a model to see its ablation")

    def set_ablation(self, ablation: dict) -> None:
        for item in self._items:
            self.removeItem(item)
        self._items = []
        self.clear_message()
        self.setTitle("Ablation")
        if ablation.get("fused") is None:
            self.bars = {}
            self.show_message("No ablation for this model (one modality, or no classification)")
            return
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
            label = theme.text_item(f"{value:.3f}", anchor=(0.5, 1.0))
            label.setPos(i, value)
            self.addItem(label)
            self._items.append(label)
        self._names = [b[0] for b in bars]
        self._update_ticks()
        self.setLabel("left", ablation.get("metric", "accuracy"))
        self.setXRange(-0.6, len(bars) - 0.4, padding=0)
        self.setYRange(0, 1.12, padding=0)
        self.setToolTip("The metric of the whole model, without each modality, and with each alone")

    def _update_ticks(self) -> None:
        """Bar names, shortened ("no img", "img") when the full ones would overlap."""
        names = getattr(self, "_names", None)
        if not names:
            return
        axis = self.getAxis("bottom")
        metrics = QFontMetrics(self.font())
        room = max(1.0, self.getPlotItem().vb.width() or self.width() * 0.85) / len(names)
        if max(metrics.horizontalAdvance(n) for n in names) + 8 > room:
            names = [_abbreviate(n) for n in names]
        axis.setTicks([list(enumerate(names))])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_ticks()


class RobustnessChart(MessagePlot):
    """One curve per modality: the metric as that modality gets noisier."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setLabel("bottom", "noise strength (× the input's standard deviation)")
        self.setTitle("Robustness to noise")
        self.setToolTip("The metric as noise is added to one modality at a time")
        self.legend = self.addLegend(offset=(-10, -10))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.show_message("Evaluate a model to see its robustness")

    def set_curves(self, robustness: dict) -> None:
        for curve in self.curves.values():
            self.removeItem(curve)
        self.legend.clear()
        self.curves = {}
        self.clear_message()
        if not robustness.get("curves"):
            self.show_message("No robustness curves for this model")
            return
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


def _heat_map(colors: theme.Colors):
    """From the plot's background (no samples) to a blue that white counts read well on."""
    low = pg.mkColor(colors.heat_low)
    return pg.ColorMap([0.0, 1.0], [low.getRgb()[:3], (31, 84, 170)])


def count_color(cell: QColor, colors: theme.Colors) -> QColor:
    """The text colour for a count on ``cell``: the theme's text colour where it reads well
    (contrast 4.5:1 or more), else white or black, whichever contrasts more with the cell."""
    candidates = [QColor(colors.fg), QColor("#ffffff"), QColor("#000000")]
    if theme.contrast_ratio(candidates[0], cell) >= theme.MIN_TEXT_CONTRAST + 0.5:  # margin: the painted LUT
        return candidates[0]
    return max(candidates[1:], key=lambda c: theme.contrast_ratio(c, cell))


def _abbreviate(name: str) -> str:
    short = {"image": "img", "text": "txt", "audio": "aud"}
    for long, brief in short.items():
        name = name.replace(long, brief)
    return name.replace(" only", "")

"""The Train panel's live curves: loss per step (raw and smoothed), validation per epoch,
learning rate, learned modality weights, and other runs overlaid for comparison.

Values go into numpy buffers as events arrive; :meth:`TrainPlots.redraw` pushes them to
pyqtgraph, and the panel calls it from a ~10 Hz timer, so plotting never slows training down.
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

from mmstudio.gui import theme

theme.configure_pyqtgraph()  # new plots start in the theme's colours

SMOOTHING = 0.8  # of the smoothed loss curve, as TensorBoard's default 0.6-0.9
MODALITY_PENS = {"image": (25, 118, 210), "text": (46, 125, 50), "audio": (230, 81, 0)}


class Buffer:
    """A growable float64 column store: appends are amortised O(1), views are free."""

    def __init__(self, columns: int, capacity: int = 1024) -> None:
        self._data = np.empty((capacity, columns))
        self.size = 0

    def append(self, *values: float) -> None:
        if self.size == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self.size] = values
        self.size += 1

    def column(self, i: int) -> np.ndarray:
        return self._data[: self.size, i]

    def truncate_from(self, x: float) -> None:
        """Drop rows whose first column is ``>= x`` (a resumed run repeats steps after its
        last checkpoint: the repeat replaces what was logged before the stop)."""
        if self.size and self._data[self.size - 1, 0] >= x:
            self.size = int(np.searchsorted(self._data[: self.size, 0], x, side="left"))

    def clear(self) -> None:
        self.size = 0


class TrainPlots(QWidget):
    """Four plots over the current run's buffers, plus overlays of other runs' curves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = Buffer(3)  # step, loss, smoothed loss (kept as points arrive: O(1) each)
        self._acc = 0.0  # the moving average before debiasing
        self.lr = Buffer(2)  # step, lr
        self.epochs = Buffer(4)  # epoch, train loss, val metric, val loss
        self.weights: dict[str, Buffer] = {}  # modality -> (epoch, weight)
        self.metric_name = ""
        self.dirty: set[str] = set()  # which curves changed since the last redraw: steps, epochs
        self._overlays: list = []
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = _plot("Training loss", "step")
        self.metric_plot = _plot("Validation", "epoch", whole=True)
        self.lr_plot = _plot("Learning rate", "step")
        self.weights_plot = _plot("Learned modality weights", "epoch", whole=True)
        self.loss_plot.addLegend(offset=(-10, 10))  # the loss falls: the top right stays free
        for p in (self.metric_plot, self.weights_plot):  # epoch curves end anywhere at the right edge
            legend_below(p)
        self.loss_raw = self.loss_plot.plot(pen=pg.mkPen((120, 150, 200), width=1), name="per step")
        self.loss_smooth = self.loss_plot.plot(pen=pg.mkPen((25, 80, 180), width=2), name="smoothed")
        # The epoch curves join the legend with their first point (no "val loss" without its line)
        self.metric_curve = self.metric_plot.plot(pen=pg.mkPen((30, 140, 60), width=2), symbol="o", symbolSize=6)
        self.val_loss_curve = self.metric_plot.plot(
            pen=pg.mkPen((200, 40, 40), width=2, style=Qt.PenStyle.DashLine), symbol="t", symbolSize=6
        )
        self.epoch_loss_curve = self.metric_plot.plot(pen=pg.mkPen((200, 110, 30), width=2), symbol="s", symbolSize=6)
        self.lr_curve = self.lr_plot.plot(pen=pg.mkPen((140, 60, 160), width=2))
        self.weight_curves: dict[str, pg.PlotDataItem] = {}
        grid.addWidget(self.loss_plot, 0, 0, 1, 3)
        grid.addWidget(self.metric_plot, 1, 0)
        grid.addWidget(self.lr_plot, 1, 1)
        grid.addWidget(self.weights_plot, 1, 2)
        grid.setRowStretch(0, 3)  # the loss keeps most of the height when the lower row fills
        grid.setRowStretch(1, 2)
        for p in (self.loss_plot, self.metric_plot, self.lr_plot, self.weights_plot):
            p.setMinimumHeight(140)
        self.weights_plot.hide()

    # ---------------------------------------------------------------- the current run
    def clear(self) -> None:
        for buf in (self.loss, self.lr, self.epochs, *self.weights.values()):
            buf.clear()
        self._acc = 0.0
        self.metric_name = ""
        self.dirty = {"steps", "epochs"}

    def reset_ranges(self) -> None:
        """Axes as an empty plot starts (not the last run's steps, rates and epochs), fitting the
        next run's points as they come."""
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot, self.weights_plot):
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            plot.enableAutoRange()

    def load(self, curves: dict) -> None:
        """Fill the buffers from a recorded run (``engine.read_curves``), e.g. before resuming."""
        self.clear()
        for s, loss, lr in zip(curves["step"], curves["loss"], curves["lr"]):
            self.add_step(s, loss, lr)
        for e, tl, m, vl, w in zip(
            curves["epoch"], curves["train_loss"], curves["metric"], curves["val_loss"], curves["weights"]
        ):
            self.add_epoch(e, tl, m, vl, w)
        self.metric_name = curves.get("metric_name", "")

    def add_step(self, step: int, loss: float, lr: float) -> None:
        size = self.loss.size
        self.loss.truncate_from(step)
        self.lr.truncate_from(step)
        n = self.loss.size
        if n != size:  # a resumed run replaces points: go on from the last one kept (undebiased)
            self._acc = self.loss.column(2)[-1] * (1 - SMOOTHING**n) if n else 0.0
        self._acc = SMOOTHING * self._acc + (1 - SMOOTHING) * loss
        self.loss.append(step, loss, self._acc / (1 - SMOOTHING ** (self.loss.size + 1)))
        self.lr.append(step, lr)
        self.dirty.add("steps")

    def add_epoch(self, epoch: int, train_loss: float, metric: float | None, val_loss, weights: dict) -> None:
        self.epochs.truncate_from(epoch)
        self.epochs.append(
            epoch,
            train_loss,
            np.nan if metric is None else metric,
            val_loss if isinstance(val_loss, (int, float)) else np.nan,
        )
        for m, w in (weights or {}).items():
            buf = self.weights.setdefault(m, Buffer(2, 64))
            buf.truncate_from(epoch)
            buf.append(epoch, w)
        self.dirty.add("epochs")

    # ---------------------------------------------------------------- other runs
    def overlay(self, runs: list[tuple[str, dict]]) -> None:
        """Draw other runs' smoothed loss and validation metric (``[(name, curves), ...]``),
        labelled by the run's name (its folder, else its start time) and what is drawn."""
        for plot, item in self._overlays:
            plot.removeItem(item)
        self._overlays.clear()
        for i, (name, curves) in enumerate(runs):
            colour = pg.intColor(i + 3, hues=9, values=1, maxValue=200)
            label = _short(name)
            if curves["step"]:
                item = self.loss_plot.plot(
                    curves["step"],
                    ema(np.asarray(curves["loss"], float)),
                    pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                    name=f"{label}: loss",
                )
                self._overlays.append((self.loss_plot, item))
            values = [np.nan if v is None else v for v in curves["metric"]]
            if curves["epoch"] and np.isfinite(values).any():
                item = self.metric_plot.plot(
                    curves["epoch"],
                    values,
                    symbol="o",
                    symbolSize=5,
                    pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                    symbolBrush=colour,
                    name=f"{label}: val {curves.get('metric_name') or 'metric'}",
                )
                self._overlays.append((self.metric_plot, item))

    @property
    def overlaid(self) -> int:
        return len(self._overlays)

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        """Push the buffers to the curves (only when something changed)."""
        dirty, self.dirty = self.dirty, set()
        if "steps" in dirty:
            steps = self.loss.column(0)
            self.loss_raw.setData(steps, self.loss.column(1))
            self.loss_smooth.setData(steps, self.loss.column(2))
            self.lr_curve.setData(self.lr.column(0), self.lr.column(1))
        if "epochs" in dirty:
            self._redraw_epochs()

    def _redraw_epochs(self) -> None:
        epochs, metric = self.epochs.column(0), self.epochs.column(2)
        if self.metric_name and np.isfinite(metric).any():
            self._show_curve(self.metric_curve, epochs, metric, f"val {self.metric_name}")
            self.metric_plot.setTitle(f"Validation {self.metric_name} and train loss per epoch")
        else:
            self._show_curve(self.metric_curve, [], [], "")
        self._show_curve(self.epoch_loss_curve, epochs, self.epochs.column(1), "train loss")
        val_loss = self.epochs.column(3)
        finite = np.isfinite(val_loss).any()
        self._show_curve(self.val_loss_curve, epochs if finite else [], val_loss if finite else [], "val loss")
        self._redraw_weights()

    def _show_curve(self, curve, x, y, name: str) -> None:
        """Set a curve's data; it is in the legend (as ``name``) exactly while it has points."""
        curve.setData(x, y)
        legend = curve.getViewBox().parentItem().legend if curve.getViewBox() is not None else None
        if legend is None:
            return
        label = legend.getLabel(curve)
        if len(x) and label is None:
            legend.addItem(curve, name)
        elif len(x) and label.text != name:
            label.setText(name)
        elif not len(x) and label is not None:
            legend.removeItem(curve)

    def _redraw_weights(self) -> None:
        # weights mean something only between two or more modalities
        shown = sum(1 for buf in self.weights.values() if buf.size) > 1
        self.weights_plot.setVisible(shown)
        for m, buf in self.weights.items():
            curve = self.weight_curves.get(m)
            if curve is None:
                curve = self.weight_curves[m] = self.weights_plot.plot(
                    pen=pg.mkPen(MODALITY_PENS.get(m, (90, 90, 90)), width=2), symbol="o", symbolSize=5, name=m
                )
            curve.setData(buf.column(0), buf.column(1))


class BelowLegend(pg.LegendItem):
    """A legend in its own row under the plot's axis, sized by the plot's layout: it can never
    cover a curve (a corner legend hid the last epochs' points, where the news is)."""

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph's name
        columns = max(1, min(3, len(self.items)))
        if columns != self.columnCount:
            self.setColumnCount(columns)  # calls back here
            return
        width = height = 0.0
        for row in range(self.layout.rowCount()):
            cells = [self.layout.itemAt(row, col) for col in range(self.layout.columnCount())]
            cells = [c for c in cells if c is not None]
            width = max(width, sum(c.preferredWidth() + 3 for c in cells))
            height += max((c.preferredHeight() for c in cells), default=0.0)
        left, top, right, bottom = self.layout.getContentsMargins()
        width, height = width + left + right, (height + top + bottom) if self.items else 0.0
        self.setMinimumSize(width, height)
        self.setMaximumSize(width, height)
        self.updateGeometry()


def legend_below(plot: pg.PlotWidget) -> BelowLegend:
    """Give ``plot`` a legend under its bottom axis (the plot's ``legend``: named curves join it)."""
    item = plot.getPlotItem()
    legend = BelowLegend(offset=None, colCount=1, brush=None, frame=False)
    legend.layout.setContentsMargins(2, 0, 2, 2)
    item.layout.addItem(legend, 4, 1)
    item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignHCenter)
    item.layout.setRowStretchFactor(4, 0)
    item.legend = legend
    return legend


class WholeAxis(pg.AxisItem):
    """An axis of whole numbers (epochs): ticks only at integers, never 0.5."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph's name
        levels = super().tickSpacing(minVal, maxVal, size)
        whole = []
        for spacing, _offset in levels:
            step = float(max(1, round(spacing)))
            if all(step != s for s, _ in whole):
                whole.append((step, 0.0))
        return whole or [(1.0, 0.0)]


def _plot(title: str, x: str, whole: bool = False) -> pg.PlotWidget:
    axes = {"bottom": WholeAxis("bottom")} if whole else None
    plot = pg.PlotWidget(title=title, axisItems=axes)
    plot.setLabel("bottom", x)
    plot.showGrid(x=True, y=True, alpha=0.2)
    item = plot.getPlotItem()
    item.setClipToView(True)
    item.setDownsampling(auto=True, mode="peak")
    return plot


def _short(name: str) -> str:
    """'20261124-203011-digits' -> '20:30:11 digits' (the folder name is a timestamp)."""
    name = os.path.basename(name)
    parts = name.split("-", 2)
    if len(parts) >= 2 and len(parts[1]) == 6 and parts[1].isdigit():
        t = parts[1]
        return f"{t[:2]}:{t[2:4]}:{t[4:]}" + (f" {parts[2]}" if len(parts) > 2 else "")
    return name


def ema(values: np.ndarray, smoothing: float = SMOOTHING) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard draws it): no lag from a zero start."""
    out = np.empty_like(values)
    acc = 0.0
    for i, v in enumerate(values):  # a few thousand points at most: cheap at 10 Hz
        acc = smoothing * acc + (1 - smoothing) * v
        out[i] = acc / (1 - smoothing ** (i + 1))
    return out

"""Small pyqtgraph charts used by several panels."""

from __future__ import annotations

from collections.abc import Mapping

import pyqtgraph as pg


class BarChart(pg.PlotWidget):
    """Vertical bars with category names on the x axis (class counts, per-class metrics)."""

    def __init__(self, title: str = "", parent=None) -> None:
        super().__init__(parent=parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        if title:
            self.setTitle(title)
        self.showGrid(y=True, alpha=0.25)
        self._bars: pg.BarGraphItem | None = None
        self.values: dict[str, float] = {}

    def set_values(self, values: Mapping[str, float], color: str = "#3d7bd9") -> None:
        self.values = dict(values)
        if self._bars is not None:
            self.removeItem(self._bars)
            self._bars = None
        names = list(values)
        axis = self.getAxis("bottom")
        step = max(1, -(-len(names) // 10))  # at most ~10 names under the bars, so they never overlap
        axis.setTicks([[(i, n.rsplit("/", 1)[-1][:12]) for i, n in enumerate(names) if i % step == 0]])
        axis.setStyle(tickTextOffset=4)
        if not names:
            return
        self._bars = pg.BarGraphItem(x=list(range(len(names))), height=list(values.values()), width=0.7, brush=color)
        self.addItem(self._bars)
        self.setToolTip("\n".join(f"{n}: {v:g}" for n, v in list(values.items())[:40]))
        self.setXRange(-0.6, len(names) - 0.4, padding=0)
        self.setYRange(0, max(values.values()) * 1.1 or 1, padding=0)

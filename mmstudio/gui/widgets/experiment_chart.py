"""An experiment's ranked configurations as horizontal bars: mean test accuracy with its spread
over seeds as error bars; fusions in blue, single modalities in grey (pyqtgraph)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

FUSED, SINGLE, BEST = "#3d7bd9", "#8c959f", "#1e7d32"
GRID_LABEL = "test accuracy (mean ± sd over seeds)"


class ExperimentChart(pg.PlotWidget):
    """``set_rows(rows)`` with the engine's table rows, best first (drawn at the top)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setBackground("w")
        self.setLabel("bottom", GRID_LABEL)
        self.invertY(True)
        self.names: list[str] = []

    def set_rows(self, rows: list) -> None:
        self.clear()
        self.names = [r.config for r in rows]
        if not rows:
            return
        search = bool(rows[0].state)  # a search's trials, ranked by their validation score
        self.setLabel("bottom", "test accuracy (trials ranked by validation)" if search else GRID_LABEL)
        ys = list(range(len(rows)))
        acc = [r.accuracy for r in rows]
        brushes = [BEST if i == 0 else FUSED if "+" in r.modalities else SINGLE for i, r in enumerate(rows)]
        low = min(a - r.spread for a, r in zip(acc, rows))
        base = max(0.0, low - (1.0 - low) * 0.25 - 0.005)
        bars = pg.BarGraphItem(x0=base, y=ys, width=[a - base for a in acc], height=0.7, brushes=brushes)
        self.addItem(bars)
        spread = np.array([r.spread for r in rows])
        err = pg.ErrorBarItem(
            x=np.array(acc), y=np.array(ys, dtype=float), left=spread, right=spread, beam=0.25, pen=pg.mkPen("#222")
        )
        self.addItem(err)
        for y, a, r in zip(ys, acc, rows):
            label = pg.TextItem(f"{a:.4f}", color="#222", anchor=(-0.1, 0.5))
            label.setPos(a + r.spread, y)
            self.addItem(label)
        axis = self.getAxis("left")
        axis.setTicks([[(y, _short(n)) for y, n in zip(ys, self.names)]])
        self.setXRange(base, 1.0 + (1.0 - base) * 0.18, padding=0)
        self.setYRange(-0.6, len(rows) - 0.4, padding=0)


def _short(name: str, n: int = 26) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"

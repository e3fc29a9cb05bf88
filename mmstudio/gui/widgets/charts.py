"""Small pyqtgraph charts used by several panels."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics

from mmstudio.gui import theme

theme.configure_pyqtgraph()  # new plots start in the theme's colours


class MessagePlot(pg.PlotWidget):
    """A plot that says why it is empty instead of showing bare axes."""

    def show_message(self, text: str) -> None:
        """Hide the axes and show ``text`` in the middle (``clear_message`` undoes it)."""
        self.clear_message()
        for axis in ("left", "bottom"):
            self.getPlotItem().hideAxis(axis)
        self._message = theme.text_item(text)
        self.addItem(self._message)
        self._message.setPos(0.5, 0.5)
        self.setXRange(0, 1, padding=0)
        self.setYRange(0, 1, padding=0)

    def clear_message(self) -> None:
        message = getattr(self, "_message", None)
        if message is not None:
            self.removeItem(message)
            self._message = None
            for axis in ("left", "bottom"):
                self.getPlotItem().showAxis(axis)

    @property
    def message(self) -> str:
        """The text shown instead of data ('' when data is shown)."""
        message = getattr(self, "_message", None)
        return message.textItem.toPlainText() if message is not None else ""


class BarChart(MessagePlot):
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

    def set_values(self, values: Mapping[str, float], color: str = "#3d7bd9", empty: str = "Nothing to show") -> None:
        self.values = dict(values)
        self.clear_message()
        if self._bars is not None:
            self.removeItem(self._bars)
            self._bars = None
        names = list(values)
        self._names = [_tick_text(n) for n in names]
        self._update_ticks()
        if not names:
            self.show_message(empty)
            return
        self._bars = pg.BarGraphItem(x=list(range(len(names))), height=list(values.values()), width=0.7, brush=color)
        self.addItem(self._bars)
        self.setToolTip("\n".join(f"{n}: {v:g}" for n, v in list(values.items())[:40]))
        self.setXRange(-0.6, len(names) - 0.4, padding=0)
        self.setYRange(0, max(values.values()) * 1.1 or 1, padding=0)

    def _update_ticks(self) -> None:
        """Every k-th name under the bars, k chosen from the width so that names never overlap."""
        names = getattr(self, "_names", None)
        if names is None:  # called by pyqtgraph's constructor, before ours has run
            return
        axis = self.getAxis("bottom")
        if not names:
            axis.setTicks([[]])
            return
        metrics = QFontMetrics(axis.style.get("tickFont") or self.font())
        widest = max(metrics.horizontalAdvance(n) for n in names) + 10
        room = max(1.0, self.getPlotItem().vb.width() or self.width() * 0.85) / len(names)
        step = max(1, math.ceil(widest / room))
        axis.setTicks([[(i, n) for i, n in enumerate(names) if i % step == 0]])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_ticks()


def _tick_text(name: str, n: int = 12) -> str:
    """A class name short enough for a tick: the last path part, elided in the middle."""
    name = name.rsplit("/", 1)[-1]
    return name if len(name) <= n else name[: n // 2] + "…" + name[-(n // 2 - 1) :]

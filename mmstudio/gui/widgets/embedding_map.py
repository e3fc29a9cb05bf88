"""A 2-D map of a collection's embeddings: points coloured by label, a preview on hover, and
the current query marked with a star."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from mmstudio.gui import theme

theme.configure_pyqtgraph()  # new plots start in the theme's colours

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


class EmbeddingMap(QWidget):
    """``set_map(map, items)`` draws it; ``set_query_position(xy or None)`` marks the query."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setAspectLocked(True)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.legend = self.plot.addLegend(offset=(5, 5), labelTextSize="8pt", colCount=2)
        self.scatter = pg.ScatterPlotItem(
            size=6, pen=None, hoverable=True, hoverPen=pg.mkPen("k", width=1.5), hoverSize=10, tip=None
        )  # no raw "x: … data=…" tooltip: the hover preview card says what the point is
        self.scatter.sigHovered.connect(self._on_hovered)
        self.plot.addItem(self.scatter)
        self.star = pg.ScatterPlotItem(
            size=26, symbol="star", pen=pg.mkPen("k", width=1.5), brush=pg.mkBrush("#ffd400")
        )
        self.star.setZValue(10)
        self.plot.addItem(self.star)
        self.ring = pg.ScatterPlotItem(size=16, symbol="o", pen=pg.mkPen("k", width=2), brush=None)
        self.ring.setZValue(9)
        self.plot.addItem(self.ring)
        self.preview = QLabel(self)
        self.preview.setObjectName("preview")
        theme.polish_widget(self.preview)
        self.preview.setFrameShape(QFrame.Shape.StyledPanel)
        self.preview.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.preview.hide()
        self.hint = QLabel("")
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.hint)
        self.items: list[dict] = []
        self.map: dict | None = None
        self.query_position: tuple[float, float] | None = None
        self.restyle(theme.current())

    def restyle(self, colors: theme.Colors) -> None:
        """Outlines of the hovered point, the ring and the star in the theme's foreground."""
        self.scatter.opts["hoverPen"] = pg.mkPen(colors.fg, width=1.5)
        self.star.setPen(pg.mkPen(colors.fg, width=1.5))
        self.ring.setPen(pg.mkPen(colors.fg, width=2))
        theme.restyle_plot(self.plot, colors)
        hovered = getattr(self, "_hovered", None)
        if hovered is not None and self.preview.isVisible():  # its caption in the new colours
            self._on_hovered(None, hovered, None)

    def set_map(self, data: dict, items: list[dict]) -> None:
        """One point per distinct item: rows sharing a file (an image with three captions) are one."""
        self.map, self.items = data, items
        keep = _distinct(data, items)
        labels = [str(x) if x is not None else "(none)" for x in np.asarray(data["labels"], dtype=object)[keep]]
        names = sorted(set(labels), key=lambda s: (len(s), s))
        color = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
        xy = np.asarray(data["xy"])[keep]
        indices = np.asarray(data["indices"])[keep]
        spots = [
            {"pos": (float(x), float(y)), "data": int(idx), "brush": pg.mkBrush(color[lab])}
            for (x, y), idx, lab in zip(xy, indices, labels)
        ]
        self.scatter.setData(spots)
        self.legend.clear()
        self.legend.setVisible(len(names) <= 20)  # past 20 labels a legend is no help: no empty box
        if len(names) <= 20:
            for n in names:
                self.legend.addItem(pg.ScatterPlotItem(size=8, pen=None, brush=pg.mkBrush(color[n])), n)
        method = {"pca": "PCA", "tsne": "t-SNE"}.get(data["method"], data["method"])
        self.hint.setText(
            f"{method} of {len(xy):,} {data['target']} embeddings, "
            "coloured by label; hover a point to preview it; ★ is the query."
        )
        self.star.setData([])
        self.ring.setData([])
        self.preview.hide()
        self.plot.autoRange()

    def clear(self) -> None:
        """No map (another model or collection is being prepared)."""
        self.map, self.items, self.query_position = None, [], None
        self.scatter.setData([])
        self.star.setData([])
        self.ring.setData([])
        self.legend.clear()
        self.preview.hide()
        self.hint.setText("")

    def set_query_position(self, position) -> None:
        self.query_position = tuple(position) if position is not None else None
        self.star.setData([] if position is None else [{"pos": tuple(position)}])

    def _on_hovered(self, _item, points, _event) -> None:
        if len(points) == 0:
            self.preview.hide()
            self.ring.setData([])
            return
        self._hovered = points
        pos = points[0].pos()
        self.ring.setData([{"pos": (pos.x(), pos.y())}])
        it = self.items[points[0].data()]
        html = f"<b>{it.get('id')}</b> · label <b>{it.get('label')}</b>"
        if it.get("text"):
            html += f"<br>{it['text'][:80]}"
        self.preview.setText(html)
        pixmap = QPixmap(it["image"]) if it.get("image") else QPixmap()
        if not pixmap.isNull():
            self.preview.setPixmap(_with_caption(pixmap, html, theme.current()))
        self.preview.adjustSize()
        # bottom-left of the plot, clear of the legend in the top-left corner
        self.preview.move(8, max(8, self.plot.height() - self.preview.height() - 8))
        self.preview.show()
        self.preview.raise_()


def _distinct(data: dict, items: list[dict]) -> list[int]:
    """Positions in the map of its first row per distinct target file (texts are all distinct)."""
    target = data.get("target")
    seen: set = set()
    keep = []
    for pos, idx in enumerate(data["indices"]):
        key = items[idx].get(target) if target in ("image", "audio") and idx < len(items) else None
        if key is None or key not in seen:
            keep.append(pos)
            if key is not None:
                seen.add(key)
    return keep


def _with_caption(pixmap: QPixmap, html: str, colors: theme.Colors) -> QPixmap:
    """A thumbnail with its caption drawn under it (QLabel shows a pixmap or text, not both)."""
    from PySide6.QtGui import QColor, QPainter, QTextDocument

    thumb = pixmap.scaled(72, 72, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    doc = QTextDocument()
    doc.setDefaultStyleSheet(f"body {{ color: {colors.fg}; }}")
    doc.setHtml(f"<body>{html}</body>")
    doc.setTextWidth(200)
    out = QPixmap(200, int(thumb.height() + doc.size().height() + 6))
    out.fill(QColor(colors.card_bg))
    painter = QPainter(out)
    painter.drawPixmap((200 - thumb.width()) // 2, 2, thumb)
    painter.translate(0, thumb.height() + 4)
    doc.drawContents(painter)
    painter.end()
    return out

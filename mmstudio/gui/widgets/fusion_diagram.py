"""A small drawing of where the modalities meet in the chosen fusion: early, mid or late.

Inputs on the left, one encoder per modality, then the point where the streams join: before a
deep shared network (early), in the fusion layer before one head (mid), or after one head per
modality whose decisions are combined (late). For ``generate`` the encoders feed the text
decoder and the text is the output node. Painted with QPainter on its own canvas (the palette's
Base), in colours chosen per theme so every node, edge and label reads at 4.5:1 or more; what
was drawn is kept in :attr:`FusionDiagram.nodes` for the tests and tooltips.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from mmstudio.gui import theme

COLOURS = {"image": QColor(25, 118, 210), "text": QColor(46, 125, 50), "audio": QColor(230, 81, 0)}
JOIN = QColor(106, 27, 154)
#: WCAG's contrast for text, asked of every node, edge and label of the drawing.
MIN_CONTRAST = 4.5
#: What the colours aim at: a margin over the minimum for antialiased small text.
TARGET_CONTRAST = 5.5


def fusion_level(fusion: str) -> str:
    """'early', 'late' or 'mid' for a registered fusion name."""
    return fusion if fusion in ("early", "late") else "mid"


class FusionDiagram(QWidget):
    """Call :meth:`set_model` with the included modalities, fusion name, task and decoder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.modalities: tuple[str, ...] = ()
        self.fusion = ""
        self.task = "classify"
        self.decoder = "transformer"
        #: What the last paint drew: label, rectangle, text colour, fill and border per node.
        self.nodes: list[dict] = []
        self.edge_colour = QColor()
        self.setMinimumHeight(166)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(520, 166)

    def restyle(self, _colors: theme.Colors) -> None:
        self.update()  # colours are read from the palette and theme at each paint

    def set_model(self, modalities: tuple[str, ...], fusion: str, task: str, decoder: str = "transformer") -> None:
        self.modalities, self.fusion, self.task, self.decoder = tuple(modalities), fusion, task, decoder
        self.setToolTip(self.caption())
        self.update()

    def level(self) -> str:
        """What is drawn after the encoders: 'generate', 'single', 'early', 'mid' or 'late'."""
        if self.task == "generate":
            return "generate"
        return fusion_level(self.fusion) if len(self.modalities) > 1 else "single"

    def caption(self) -> str:
        level = self.level()
        if level == "generate":
            return (
                f"generate: the {self.decoder} decoder reads the encoders' features and writes the text (the output)."
            )
        if level == "single":
            return "One modality: its encoder feeds the head; there is nothing to fuse."
        return {
            "early": "Early fusion: features are joined first, then one deep shared network.",
            "mid": f"Mid fusion ({self.fusion}): each encoder's features meet in the fusion layer, then one head.",
            "late": "Late fusion: each modality has its own head; their decisions are combined with learned weights.",
        }[level]

    # ---------------------------------------------------------------- painting
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.canvas = self.palette().color(QPalette.ColorRole.Base)
        self.ink = self.palette().color(QPalette.ColorRole.Text)
        p.fillRect(self.rect(), self.canvas)
        self.nodes = []
        self.edge_colour = theme.readable(QColor(110, 110, 110), self.ink, self.canvas, TARGET_CONTRAST)
        if not self.modalities:
            p.setPen(QPen(self.ink))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Include a modality to see the model")
            return
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        p.setFont(font)
        self._draw_model(p)
        if "align" in self.task:  # the whole width of its own row below the boxes: never clipped
            muted = theme.readable(
                self.palette().color(QPalette.ColorRole.PlaceholderText), self.ink, self.canvas, TARGET_CONTRAST
            )
            p.setPen(QPen(muted))
            note = "align: encoder outputs are also projected to one shared embedding space"
            row = QRectF(4, self.height() - 18, self.width() - 8, 16)
            p.drawText(
                row,
                Qt.AlignmentFlag.AlignLeft,
                p.fontMetrics().elidedText(note, Qt.TextElideMode.ElideRight, int(row.width())),
            )
            self.nodes.append({"label": note, "rect": row, "ink": muted, "fill": self.canvas, "border": muted})
        p.end()

    def _draw_model(self, p: QPainter) -> None:
        """Inputs and encoders in rows, then what follows them for the level (see :meth:`level`)."""
        mods, level = self.modalities, self.level()
        w, h = self.width(), self.height() - (18 if "align" in self.task else 0)  # room for the note
        cols = [0.02, 0.22, 0.47, 0.72, 0.72] if level == "mid" else [0.02, 0.20, 0.42, 0.64, 0.84]
        self._bw = bw = w * 0.15
        self._bh = min(26.0, (h - 20) / max(3, len(mods)) - 8)
        self._x = [c * w for c in cols]
        self._mid = mid_y = h / 2
        rows = [h * (i + 1) / (len(mods) + 1) for i in range(len(mods))]
        for m, y in zip(mods, rows):
            colour = COLOURS.get(m, QColor(90, 90, 90))
            a = self._box(p, 0, y, m, colour, filled=True)
            b = self._box(p, 1, y, "encoder", colour)
            self._arrow(p, a, b)
            if level == "late":
                c = self._box(p, 2, y, "head", colour)
                self._arrow(p, b, c)
                self._arrow(p, c, QRectF(self._x[3], mid_y, 0, 0), curve=True)
            else:
                self._arrow(p, b, QRectF(self._x[2], mid_y, 0, 0), curve=True)  # the join, the head or the decoder
        self._draw_end(p, level, bw)

    def _draw_end(self, p: QPainter, level: str, bw: float) -> None:
        """The join and what comes after it, on the middle row."""
        y = self._mid
        if level == "generate":
            d = self._box(p, 2, y, f"{self.decoder} decoder", COLOURS["text"])
            self._arrow(p, d, self._box(p, 4, y, "text", COLOURS["text"], filled=True, width=bw * 0.8))
        elif level == "single":
            self._box(p, 2, y, "head", JOIN)
        elif level == "early":
            j = self._box(p, 2, y, "join", JOIN, filled=True)
            n = self._box(p, 3, y, "deep shared net", JOIN)
            self._arrow(p, j, n)
            self._arrow(p, n, self._box(p, 4, y, "head", JOIN, width=bw * 0.8))
        elif level == "late":
            j = self._box(p, 3, y, "weighted vote", JOIN, filled=True)
            self._arrow(p, j, self._box(p, 4, y, "prediction", JOIN, width=bw * 0.8))
        else:
            j = self._box(p, 2, y, self.fusion or "fusion", JOIN, filled=True)
            self._arrow(p, j, self._box(p, 3, y, "head", JOIN))

    def _box(
        self, p: QPainter, col: int, y: float, text: str, colour: QColor, filled: bool = False, width: float = 0.0
    ) -> QRectF:
        """A node in column ``col``: filled ones (inputs, joins, outputs) in the hue with text of
        the canvas colour, outlined ones in the canvas with text and border in the hue; each
        hue made readable on its fill first; a box is wide enough for its label."""
        width = max(width or self._bw, p.fontMetrics().horizontalAdvance(text) + 12.0)
        rect = QRectF(self._x[col], y - self._bh / 2, width, self._bh)
        hue = theme.readable(colour, self.ink, self.canvas, TARGET_CONTRAST)
        if filled:
            fill, ink = hue, self.canvas
        else:
            fill, ink = self.canvas, hue
        p.setPen(QPen(hue, 1.5))
        p.setBrush(fill)
        p.drawRoundedRect(rect, 5, 5)
        p.setPen(QPen(ink))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        self.nodes.append({"label": text, "rect": rect, "ink": ink, "fill": fill, "border": hue})
        return rect

    def _arrow(self, p: QPainter, a: QRectF, b: QRectF, curve: bool = False) -> None:
        """From the middle of box ``a``'s right edge to the middle of box ``b``'s left edge."""
        start, end = QPointF(a.right(), a.center().y()), QPointF(b.left(), b.center().y())
        p.setPen(QPen(self.edge_colour, 1.3))
        p.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath(start)
        if curve:
            dx = (end.x() - start.x()) / 2
            path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
        else:
            path.lineTo(end)
        p.drawPath(path)
        p.setBrush(self.edge_colour)
        head = QPolygonF([end, QPointF(end.x() - 6, end.y() - 3.5), QPointF(end.x() - 6, end.y() + 3.5)])
        p.drawPolygon(head)

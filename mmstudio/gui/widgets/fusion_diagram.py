"""A small drawing of where the modalities meet in the chosen fusion: early, mid or late.

Inputs on the left, one encoder per modality, then the point where the streams join: before a
deep shared network (early), in the fusion layer before one head (mid), or after one head per
modality whose decisions are combined (late). Painted with QPainter; no state but the choice.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from mmstudio.gui import theme

COLOURS = {"image": QColor(25, 118, 210), "text": QColor(46, 125, 50), "audio": QColor(230, 81, 0)}
JOIN = QColor(106, 27, 154)


def fusion_level(fusion: str) -> str:
    """'early', 'late' or 'mid' for a registered fusion name."""
    return fusion if fusion in ("early", "late") else "mid"


class FusionDiagram(QWidget):
    """Call :meth:`set_model` with the included modalities, fusion name and task."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.modalities: tuple[str, ...] = ()
        self.fusion = ""
        self.task = "classify"
        self.setMinimumHeight(166)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(520, 166)

    def restyle(self, _colors: theme.Colors) -> None:
        self.update()  # colours are read from the palette and theme at each paint

    def set_model(self, modalities: tuple[str, ...], fusion: str, task: str) -> None:
        self.modalities, self.fusion, self.task = tuple(modalities), fusion, task
        self.setToolTip(self.caption())
        self.update()

    def caption(self) -> str:
        if len(self.modalities) == 1:
            return "One modality: its encoder feeds the head; there is nothing to fuse."
        level = fusion_level(self.fusion)
        return {
            "early": "Early fusion: features are joined first, then one deep shared network.",
            "mid": f"Mid fusion ({self.fusion}): each encoder's features meet in the fusion layer, then one head.",
            "late": "Late fusion: each modality has its own head; their decisions are combined with learned weights.",
        }[level]

    # ---------------------------------------------------------------- painting
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        mods = self.modalities
        if not mods:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Include a modality to see the model")
            return
        w, h = self.width(), self.height() - (18 if "align" in self.task else 0)  # room for the note
        dark = theme.current().name == "dark"
        self._fill = self.palette().color(QPalette.ColorRole.Base)
        self._line = QColor(150, 156, 164) if dark else QColor(110, 110, 110)
        self._dark = dark
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        p.setFont(font)
        level = fusion_level(self.fusion) if len(mods) > 1 else "single"
        cols = [0.02, 0.20, 0.42, 0.64, 0.84] if level != "mid" else [0.02, 0.22, 0.47, 0.72, 0.72]
        bw = self._bw = w * 0.15
        bh = min(26.0, (h - 20) / max(3, len(mods)) - 8)
        rows = [h * (i + 1) / (len(mods) + 1) for i in range(len(mods))]
        mid_y = h / 2
        align = "align" in self.task
        for m, y in zip(mods, rows):
            colour = COLOURS.get(m, QColor(90, 90, 90))
            a = self._box(p, cols[0] * w, y, bw, bh, m, colour, filled=True)
            b = self._box(p, cols[1] * w, y, bw, bh, "encoder", colour)
            self._arrow(p, a, b)
            if level == "late":
                c = self._box(p, cols[2] * w, y, bw, bh, "head", colour)
                self._arrow(p, b, c)
                self._arrow(p, c, QPointF(cols[3] * w, mid_y), curve=True)
            else:
                self._arrow(p, b, QPointF(cols[2] * w, mid_y), curve=True)  # the join, or the head
        if level == "single":
            end = self._box(p, cols[2] * w, mid_y, bw, bh, "head", JOIN)
        elif level == "early":
            j = self._box(p, cols[2] * w, mid_y, bw, bh, "join", JOIN, filled=True)
            n = self._box(p, cols[3] * w, mid_y, bw, bh, "deep shared net", JOIN)
            self._arrow(p, j, n)
            end = self._box(p, cols[4] * w, mid_y, bw * 0.8, bh, "head", JOIN)
            self._arrow(p, n, end)
        elif level == "late":
            j = self._box(p, cols[3] * w, mid_y, bw, bh, "weighted vote", JOIN, filled=True)
            end = self._box(p, cols[4] * w, mid_y, bw * 0.8, bh, "prediction", JOIN)
            self._arrow(p, j, end)
        else:
            j = self._box(p, cols[2] * w, mid_y, bw, bh, self.fusion or "fusion", JOIN, filled=True)
            end = self._box(p, cols[3] * w, mid_y, bw, bh, "head", JOIN)
            self._arrow(p, j, end)
        if align:  # the whole width of its own row below the boxes: never clipped
            p.setPen(QPen(self.palette().color(QPalette.ColorRole.PlaceholderText)))
            note = "align: encoder outputs are also projected to one shared embedding space"
            row = QRectF(4, self.height() - 18, self.width() - 8, 16)
            p.drawText(
                row,
                Qt.AlignmentFlag.AlignLeft,
                p.fontMetrics().elidedText(note, Qt.TextElideMode.ElideRight, int(row.width())),
            )
        p.end()

    def _box(
        self, p: QPainter, x: float, y: float, bw: float, bh: float, text: str, colour: QColor, filled: bool = False
    ) -> QPointF:
        rect = QRectF(x, y - bh / 2, bw, bh)
        p.setPen(QPen(colour, 1.5))
        p.setBrush(colour if filled else self._fill)
        p.drawRoundedRect(rect, 5, 5)
        ink = _towards_white(colour, 0.6) if self._dark else colour.darker(130)
        p.setPen(QPen(QColor(255, 255, 255) if filled else ink))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        return QPointF(rect.left(), y)

    def _arrow(self, p: QPainter, start_box_left: QPointF, end: QPointF, curve: bool = False) -> None:
        """From the right edge of the box whose left edge is ``start_box_left`` to ``end``."""
        start = QPointF(start_box_left.x() + self._bw, start_box_left.y())
        p.setPen(QPen(self._line, 1.3))
        p.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath(start)
        if curve:
            dx = (end.x() - start.x()) / 2
            path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
        else:
            path.lineTo(end)
        p.drawPath(path)
        p.setBrush(self._line)
        head = QPolygonF([end, QPointF(end.x() - 6, end.y() - 3.5), QPointF(end.x() - 6, end.y() + 3.5)])
        p.drawPolygon(head)


def _towards_white(colour: QColor, amount: float) -> QColor:
    """``colour`` mixed with white (readable on a dark fill, still its hue)."""
    return QColor(*(round(c + (255 - c) * amount) for c in (colour.red(), colour.green(), colour.blue())))

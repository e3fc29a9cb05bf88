"""Text that fits its label: long ids and names are elided in the middle ("digits/…/0_7.wav"),
never cut, and the full text is in the tooltip. Rich-text lines keep their markup: only the
longest run of text in a line that is too wide is shortened."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

ELLIPSIS = "…"
_TAG = re.compile(r"(<[^>]+>)")


def elide_middle(text: str, keep: int) -> str:
    """``text`` with its middle replaced by "…" so that ``keep`` characters remain."""
    if len(text) <= keep:
        return text
    keep = max(0, keep)
    head = (keep + 1) // 2
    return text[:head] + ELLIPSIS + (text[len(text) - keep // 2 :] if keep // 2 else "")


def plain(line: str) -> str:
    """A rich-text line as the reader sees it (tags gone, entities decoded)."""
    return html.unescape(_TAG.sub("", line))


def _fit(parts: list[str], index: int, fits) -> list[str]:
    """``parts`` with ``parts[index]`` (a text run) shortened in the middle until ``fits``."""
    text = html.unescape(parts[index])
    lo, hi = 0, len(text) - 1  # the most characters kept that still fit: binary search
    while lo < hi:
        mid = (lo + hi + 1) // 2
        trial = parts[:index] + [html.escape(elide_middle(text, mid), quote=False)] + parts[index + 1 :]
        lo, hi = (mid, hi) if fits(trial) else (lo, mid - 1)
    return parts[:index] + [html.escape(elide_middle(text, lo), quote=False)] + parts[index + 1 :]


def elide_html_line(line: str, font: QFont, width: int) -> str:
    """One rich-text line made to fit ``width`` pixels (measured in bold: markup may be bold)."""
    bold = QFont(font)
    bold.setBold(True)
    metrics = QFontMetrics(bold)

    def fits(parts: list[str]) -> bool:
        return metrics.horizontalAdvance(plain("".join(parts))) <= width

    parts = _TAG.split(line)
    while not fits(parts):
        runs = [(len(html.unescape(p)), i) for i, p in enumerate(parts) if p and not _TAG.fullmatch(p)]
        longest, index = max(runs, default=(0, -1))
        if longest <= 1:
            break
        shorter = _fit(parts, index, fits)
        if shorter == parts:  # even one character of it is too wide: halve it and go on
            text = html.unescape(parts[index])
            shorter[index] = html.escape(elide_middle(text, len(text) // 2), quote=False)
        parts = shorter
    return "".join(parts)


def elide_wrapped(text: str, font: QFont, width: int, height: int) -> str:
    """Plain ``text`` word-wrapped in ``width`` x ``height`` pixels, its middle elided to fit."""
    metrics = QFontMetrics(font)
    flags = int(Qt.TextFlag.TextWordWrap | Qt.TextFlag.TextWrapAnywhere)

    def fits(s: str) -> bool:
        return metrics.boundingRect(QRect(0, 0, max(1, width), 100_000), flags, s).height() <= height

    if fits(text):
        return text
    lo, hi = 0, len(text) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(elide_middle(text, mid)) else (lo, mid - 1)
    return elide_middle(text, lo)


class ElidedLabel(QLabel):
    """A label whose lines (rich text, one per ``<br>``) or wrapped plain text always fit it:
    elided in the middle as it is resized; ``full_text`` and the tooltip hold all of it."""

    def __init__(self, text: str = "", wrap: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._wrap = wrap
        self._full = ""
        self.setWordWrap(wrap)
        self.setTextFormat(Qt.TextFormat.PlainText if wrap else Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.set_full_text(text)

    @property
    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        lines = text if self._wrap else "\n".join(plain(x) for x in re.split(r"<br\s*/?>", text))
        self.setToolTip(lines)
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._elide()  # resized while hidden: elided now that it shows

    def _elide(self) -> None:
        rect = self.contentsRect()
        width = rect.width() - 2 * self.margin() - 2  # the label's own inner spacing
        laid_out = self.isVisible() and self.testAttribute(Qt.WidgetAttribute.WA_Resized)
        if width <= 0 or not laid_out:  # not laid out yet: elided when shown and given its size
            shown = self._full
        elif self._wrap:
            shown = elide_wrapped(self._full, self.font(), width, rect.height())
        else:
            lines = re.split(r"<br\s*/?>", self._full)
            shown = "<br>".join(elide_html_line(line, self.font(), width) for line in lines)
        if shown != self.text():
            self.setText(shown)

    @property
    def elided(self) -> bool:
        """Whether some of the text is hidden behind "…" (then the tooltip says it all)."""
        return ELLIPSIS in self.text() and ELLIPSIS not in (self._full if self._wrap else plain(self._full))

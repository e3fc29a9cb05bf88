"""The studio's two themes beyond Qt's palette: named widgets (muted text, headlines, cards,
the sidebar, progress bars), pyqtgraph plots (background, axes, titles, legends, curves, text
items), painted widgets and rich-text colours.

The application has no style sheet: with one, Qt no longer passes palette changes down to the
widgets, and a theme switch had to re-polish every widget (about 10 s on a full window). So a
theme is the palette (``settings.apply_theme``) plus :func:`repaint_all`, which re-applies
:func:`polish_widget` (a palette tweak, or a small per-widget sheet from ``style.qss``, by object
name) and restyles every plot and every widget with a ``restyle(colors)`` method; a tenth of a
second. Panels are polished when built (``polish``). Plot modules call
:func:`configure_pyqtgraph` when imported, so pyqtgraph is never imported just to apply a theme
and new plots start in the right colours. Exports use the light palette whatever the theme.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from string import Template

import shiboken6
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget


@dataclass(frozen=True)
class Colors:
    """Colours of one theme (hex strings)."""

    name: str
    plot_bg: str  # plot backgrounds, gallery cards, map previews
    fg: str  # titles, axis text, legend labels, text items
    axis: str  # axis lines and ticks
    muted: str  # secondary text (ids, hints)
    card_bg: str
    card_border: str
    legend_bg: str
    heat_low: str  # the confusion matrix's empty cells
    gallery_bg: str  # behind cards


LIGHT = Colors(
    "light", "#ffffff", "#24292f", "#57606a", "#57606a", "#ffffff", "#d0d7de", "#ffffffd8", "#ffffff", "#f6f8fa"
)
DARK = Colors(
    "dark", "#1e2227", "#e6e8eb", "#9aa4ae", "#9aa4ae", "#2b3036", "#4a525b", "#1e2227d8", "#262a2f", "#1e2227"
)

#: Inline colours of rich-text captions written for a light background, and their dark twins.
DARK_TEXT = {
    "#6a737d": "#9aa4ae",  # muted ids
    "#b26a00": "#f0b45a",  # warnings
    "#2f9e55": "#5cc47e",  # right
    "#c2452d": "#ff8a75",  # wrong
    "#b3261e": "#ff8a80",  # errors
}


def current() -> Colors:
    """The colours of the theme applied to the running application (light before any)."""
    app = QApplication.instance()
    return DARK if app is not None and app.property("mmstudio_theme") == "dark" else LIGHT


def adapt_html(text: str, colors: Colors | None = None) -> str:
    """``text`` with its light-theme inline colours swapped for the current theme's."""
    if (colors or current()).name != "dark":
        return text
    return re.sub("|".join(DARK_TEXT), lambda m: DARK_TEXT[m.group(0)], text, flags=re.IGNORECASE)


@functools.cache
def _sheets() -> dict[str, Template]:
    """``style.qss`` cut into its sections: object name (``#nav``) or class -> sheet template."""
    from mmstudio.gui.paths import RESOURCES

    text = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    parts = re.split(r"/\*\s*@\s*(\S+)", text)[1:]
    return {name: Template(body.split("*/", 1)[-1].strip()) for name, body in zip(parts[::2], parts[1::2])}


def _set_roles(widget: QWidget, roles: dict, fill: bool = False) -> None:
    """Only these roles on the widget (the others still follow the application's palette)."""
    current = widget.palette()
    if all(current.color(role) == QColor(colour) for role, colour in roles.items()):
        return  # already so: a palette change would repaint it and its children for nothing
    palette = QPalette()
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    widget.setPalette(palette)
    if fill:
        widget.setAutoFillBackground(True)


R = QPalette.ColorRole
#: Palette tweaks by object name: cheap to apply again on every theme change.
ROLES = {
    "muted": lambda c: {R.WindowText: c.muted, R.Text: c.muted},
    "card": lambda c: {R.Window: c.card_bg, R.Base: c.card_bg, R.Mid: c.card_border, R.Dark: c.card_border},
    # A gallery's cards inherit its palette (one palette change per gallery, not one per card:
    # a hundred cards took most of a second): the view paints Base, the cards Window.
    "gallery": lambda c: {R.Base: c.gallery_bg, R.Window: c.card_bg, R.Mid: c.card_border, R.Dark: c.card_border},
    "preview": lambda c: {R.Window: c.card_bg, R.WindowText: c.fg},
}


def polish_widget(widget: QWidget, colors: Colors | None = None) -> None:
    """The theme's touch on one widget, by its object name or class (see ``style.qss``)."""
    c = colors or current()
    name = widget.objectName()
    roles = ROLES.get(name)
    if roles is not None:
        _set_roles(widget, roles(c), fill=name in ("card", "preview"))
    elif name == "headline" and widget.font().pixelSize() != 14:
        font = widget.font()
        font.setPixelSize(14)
        widget.setFont(font)
    sheets = _sheets()
    sheet = sheets.get(f"#{name}") if name else None
    if sheet is None:
        sheet = next((t for cls, t in sheets.items() if cls[0] != "#" and widget.inherits(cls)), None)
    if sheet is not None:
        text = sheet.substitute(asdict(c))
        if widget.styleSheet() != text:
            widget.setStyleSheet(text)


def polish(root: QWidget, colors: Colors | None = None, by_class: bool = True) -> None:
    """``polish_widget`` on ``root`` and every widget inside it (a panel just built, a card).

    ``by_class=False``: only the widgets named in ``ROLES`` or ``style.qss``, for a root known to
    hold none of the classes ``style.qss`` styles (the window before its panels are built). Qt
    finds them by name, so no other child gets a Python wrapper or has its class's enums built:
    ~6 ms, 3% of the window's start-up (issue 15)."""
    c = colors or current()
    polish_widget(root, c)
    if by_class:
        children = root.findChildren(QWidget)
    else:
        names = sorted({*ROLES, "headline", *(key[1:] for key in _sheets() if key.startswith("#"))})
        children = [child for name in names for child in root.findChildren(QWidget, name)]
    for child in children:
        polish_widget(child, c)


def configure_pyqtgraph(colors: Colors | None = None) -> None:
    """New plots start in the theme's colours (no-op until pyqtgraph is imported)."""
    pg = sys.modules.get("pyqtgraph")
    if pg is None:
        return
    c = colors or current()
    pg.setConfigOptions(background=c.plot_bg, foreground=c.fg, antialias=True)


def _dark_twin(color: QColor) -> QColor:
    """A curve colour readable on the dark background: dark colours are lightened."""
    out = QColor(color)
    while out.lightnessF() < 0.55 and out.alpha():
        out = out.lighter(135)
    return out


def _restyle_item_pens(item, dark: bool) -> None:
    """Curves keep their light-theme pens as written; in dark they are drawn lightened."""
    pg = sys.modules["pyqtgraph"]
    for key in ("pen", "symbolPen", "symbolBrush"):
        value = item.opts.get(key)
        if value is None:
            continue
        stash = f"_mm_light_{key}"
        if not hasattr(item, stash):
            setattr(item, stash, value)
        light = getattr(item, stash)
        if not dark:
            new = light
        elif key == "symbolBrush":
            brush = pg.mkBrush(light)
            new = pg.mkBrush(_dark_twin(brush.color()))
        else:
            pen = pg.mkPen(light)
            pen.setColor(_dark_twin(pen.color()))
            new = pen
        {"pen": item.setPen, "symbolPen": item.setSymbolPen, "symbolBrush": item.setSymbolBrush}[key](new)


def restyle_plot(widget, colors: Colors | None = None) -> None:
    """Background, axes, title, legend, curves and themed text items of one ``pg.PlotWidget``."""
    pg = sys.modules["pyqtgraph"]
    c = colors or current()
    widget.setBackground(c.plot_bg)
    item = widget.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(c.axis)
        axis.setTextPen(c.fg)
    title = item.titleLabel
    title.setAttr("color", c.fg)
    if title.text:
        title.setText(title.text)
    legend = item.legend
    if legend is not None:
        legend.opts["labelTextColor"] = pg.mkColor(c.fg)
        legend.setBrush(pg.mkColor(c.legend_bg))
        legend.setPen(pg.mkPen(c.card_border))
        for _sample, label in legend.items:
            label.setText(label.text, color=c.fg)
    dark = c.name == "dark"
    for data in item.listDataItems():
        if isinstance(data, pg.PlotDataItem):
            _restyle_item_pens(data, dark)
    for child in item.vb.addedItems:
        if isinstance(child, pg.TextItem) and getattr(child, "theme_fg", False):
            child.setColor(c.fg)
    restyle = getattr(widget, "restyle", None)
    if restyle is not None:
        restyle(c)


def text_item(text: str, anchor=(0.5, 0.5)):
    """A ``pg.TextItem`` in the theme's foreground that follows theme changes."""
    pg = sys.modules["pyqtgraph"]
    item = pg.TextItem(text, color=current().fg, anchor=anchor)
    item.theme_fg = True
    return item


_ROOTS: list[weakref.ref] = []  # windows and dialogs whose widgets follow the theme


def watch(root: QWidget) -> None:
    """Let ``root`` and everything inside it follow theme changes (windows and dialogs)."""
    _ROOTS.append(weakref.ref(root))


def _widgets() -> list[QWidget]:
    """Every widget of the watched windows still alive. Not ``QApplication.allWidgets()``: it
    also lists widgets whose deletion is under way, and wrapping one of those crashed."""
    roots = [r() for r in _ROOTS]
    alive = [w for w in roots if w is not None and shiboken6.isValid(w)]
    _ROOTS[:] = [weakref.ref(w) for w in alive]
    return [widget for root in alive for widget in (root, *root.findChildren(QWidget))]


def repaint_all(app: QApplication | None = None) -> None:
    """Restyle every live plot and self-painted widget of the watched windows for the theme."""
    app = app or QApplication.instance()  # type: ignore[assignment]
    if app is None:
        return
    c = current()
    configure_pyqtgraph(c)
    pg = sys.modules.get("pyqtgraph")
    for widget in _widgets():
        polish_widget(widget, c)
        if pg is not None and isinstance(widget, pg.PlotWidget):
            restyle_plot(widget, c)
        elif hasattr(widget, "restyle") and isinstance(widget, QWidget):
            widget.restyle(c)


@contextlib.contextmanager
def light_for_export(widget) -> Iterator[None]:
    """Draw ``widget`` (a plot) in the light palette for the duration (exports, whatever the theme)."""
    if current().name == "light":
        yield
        return
    restyle_plot(widget, LIGHT)
    try:
        yield
    finally:
        restyle_plot(widget, current())


def export_png(plot, path: str, width: int = 900) -> bool:
    """A readable PNG of ``plot`` at ``width`` pixels, light whatever the theme."""
    import os

    from pyqtgraph.exporters import ImageExporter

    with light_for_export(plot):
        exporter = ImageExporter(plot.getPlotItem())
        exporter.parameters()["width"] = width
        exporter.parameters()["background"] = QColor(LIGHT.plot_bg)
        exporter.export(path)
    return os.path.isfile(path)


MIN_TEXT_CONTRAST = 4.5  # WCAG AA for normal text


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21; text wants 4.5 or more)."""

    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(colour: QColor, towards: QColor, against: QColor, ratio: float = MIN_TEXT_CONTRAST) -> QColor:
    """``colour`` mixed with ``towards`` (the theme's text colour) in small steps until it reads
    on ``against`` at ``ratio`` or more: the same hue where it can be, darker on a light canvas,
    lighter on a dark one."""
    for step in range(21):
        t = step / 20
        mixed = QColor(
            round(colour.red() + (towards.red() - colour.red()) * t),
            round(colour.green() + (towards.green() - colour.green()) * t),
            round(colour.blue() + (towards.blue() - colour.blue()) * t),
        )
        if contrast_ratio(mixed, against) >= ratio:
            return mixed
    return QColor(towards)


def tinted(icon, color: str, size: int = 32):
    """``icon`` in one flat ``color`` (its shape kept): a black standard icon on the always-dark
    sidebar would be invisible in either theme."""
    from PySide6.QtGui import QIcon, QPainter, QPixmap

    pixmap = icon.pixmap(size, size)
    ink = QPixmap(pixmap.size())
    ink.fill(QColor(color))
    painter = QPainter(pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.drawPixmap(0, 0, ink)  # not fillRect: its overloads build Qt's Qt namespace (start-up)
    painter.end()
    return QIcon(pixmap)

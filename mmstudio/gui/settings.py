"""The user's preferences, kept with QSettings, and applying them to the running studio.

QSettings uses the organisation and application names set in ``app.create_application``; on
Linux that is ``$XDG_CONFIG_HOME/MMStudio/MMStudio.conf`` (the tests point XDG_CONFIG_HOME into
a temporary folder, so they never touch the user's real settings).

The engine reads its limits from the environment (torch loads lazily, after the window is up),
so applying a setting exports it: ``MMSTUDIO_CACHE_DIR`` and ``MMSTUDIO_CACHE_DISK_BYTES`` (the
folder of decoded inputs too large for memory, and its bound), ``MMSTUDIO_CACHE_BYTES`` (the
in-memory budget, read when the engine is first used) and ``MMSTUDIO_WORKERS`` (threads that
decode files).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

DEVICES = ("auto", "cpu", "cuda")
THEMES = ("system", "light", "dark")


def default_cache_dir() -> str:
    """The engine's own default (mmstudio.engine.diskcache.cache_dir without the variable)."""
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("mmstudio", appauthor=False), "features")


@dataclass
class Settings:
    """Preferences; ``workers`` 0 means "as many as the CPU suggests"."""

    device: str = "auto"
    cache_dir: str = ""
    cache_gb: float = 20.0  # the cache folder's bound
    memory_gb: float = 2.0  # decoded inputs kept in memory
    theme: str = "system"
    workers: int = 0

    @classmethod
    def load(cls) -> Settings:
        qs = QSettings()
        d = cls()
        device = str(qs.value("engine/device", d.device))
        theme = str(qs.value("appearance/theme", d.theme))
        return cls(
            device=device if device in DEVICES else d.device,
            cache_dir=str(qs.value("cache/dir", "") or default_cache_dir()),
            cache_gb=_number(qs.value("cache/limit_gb", d.cache_gb), d.cache_gb, float),
            memory_gb=_number(qs.value("cache/memory_gb", d.memory_gb), d.memory_gb, float),
            theme=theme if theme in THEMES else d.theme,
            workers=_number(qs.value("data/workers", d.workers), d.workers, int),
        )

    def save(self) -> None:
        qs = QSettings()
        qs.setValue("engine/device", self.device)
        qs.setValue("cache/dir", self.cache_dir)
        qs.setValue("cache/limit_gb", float(self.cache_gb))
        qs.setValue("cache/memory_gb", float(self.memory_gb))
        qs.setValue("appearance/theme", self.theme)
        qs.setValue("data/workers", int(self.workers))
        qs.sync()

    def as_dict(self) -> dict:
        return asdict(self)


def _number(value, default, kind):
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


def apply_settings(settings: Settings, app: QApplication | None = None) -> None:
    """Export the engine's limits and apply the theme to the running application."""
    os.environ["MMSTUDIO_CACHE_BYTES"] = str(int(settings.memory_gb * (1 << 30)))
    os.environ["MMSTUDIO_CACHE_DISK_BYTES"] = str(int(settings.cache_gb * (1 << 30)))
    if settings.workers > 0:
        os.environ["MMSTUDIO_WORKERS"] = str(settings.workers)
    else:
        os.environ.pop("MMSTUDIO_WORKERS", None)
    if settings.cache_dir:
        os.environ["MMSTUDIO_CACHE_DIR"] = settings.cache_dir
    target = app or QApplication.instance()
    if isinstance(target, QApplication):
        apply_theme(target, settings.theme)


def _system_palette(app: QApplication) -> QPalette:
    """The desktop's palette as Qt's platform theme gave it at start (kept on the app object:
    once a theme is applied, ``app.palette()`` no longer shows it)."""
    saved = getattr(app, "_mmstudio_system_palette", None)
    if saved is None:
        saved = app.palette()  # a copy already; QPalette(palette) would build every Qt.* enum (55 ms)
        setattr(app, "_mmstudio_system_palette", saved)  # noqa: B010 - an attribute Qt does not declare
    return saved


def apply_theme(app: QApplication, theme: str) -> None:
    """Light, dark, or the desktop's own palette (as Qt's platform theme gave it at start).

    The application has no style sheet (with one, palette changes stop reaching the widgets and
    each switch re-polished every widget: ~10 s on a full window); ``theme.repaint_all`` then
    restyles named widgets, plots and painted widgets: a tenth of a second."""
    from mmstudio.gui import theme as colours

    system = _system_palette(app)
    system_dark = system.color(QPalette.ColorRole.Window).lightness() < 128
    dark = theme == "dark" or (theme == "system" and system_dark)
    palette = {"dark": dark_palette, "light": light_palette}.get(theme, lambda: system)()
    if app.styleSheet():
        app.setStyleSheet("")
    if app.palette() != palette:
        app.setPalette(palette)
    app.setProperty("mmstudio_theme", "dark" if dark else "light")
    colours.repaint_all(app)


def light_palette() -> QPalette:
    """The style's standard light palette with a readable colour for secondary text."""
    p = QApplication.style().standardPalette()  # a copy (see _system_palette)
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#57606a"))
    return p


def dark_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2f34",
        QPalette.ColorRole.WindowText: "#e6e8eb",
        QPalette.ColorRole.Base: "#1e2227",
        QPalette.ColorRole.AlternateBase: "#262a2f",
        QPalette.ColorRole.ToolTipBase: "#2b2f34",
        QPalette.ColorRole.ToolTipText: "#e6e8eb",
        QPalette.ColorRole.Text: "#e6e8eb",
        QPalette.ColorRole.Button: "#353a40",
        QPalette.ColorRole.ButtonText: "#e6e8eb",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Link: "#6ea8fe",
        QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#9aa4ae",
        QPalette.ColorRole.Light: "#4a525b",
        QPalette.ColorRole.Midlight: "#3d444d",
        QPalette.ColorRole.Mid: "#3d444d",
        QPalette.ColorRole.Dark: "#16191d",
        QPalette.ColorRole.Shadow: "#0d0f12",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7d8590"))
    return p

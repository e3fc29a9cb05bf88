"""Starting the studio: the QApplication, the main window, and what to open first.

Only Qt, pyqtgraph and the data layer are imported here: torch loads later, when a model is
built, so the window is on screen fast.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from mmstudio import APP_ID, __version__

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEMO_DATASET = RESOURCES / "demo" / "digits" / "manifest.csv"


def _has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def create_application(argv: list[str] | None = None):
    """The QApplication with MMStudio's names, id and style (reused if one exists, as in tests)."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["mmstudio", *(argv or [])])
    app.setApplicationName("MMStudio")
    app.setOrganizationName("MMStudio")
    app.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)  # Wayland matches windows to the launcher by it
    import pyqtgraph as pg

    pg.setConfigOptions(background="w", foreground="#333", antialias=True)
    style = RESOURCES / "style.qss"
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    return app


def run(argv: list[str]) -> int:
    """Open the window with the given datasets, or the bundled demo when none is given."""
    if not _has_display():
        print("mmstudio: no display found (DISPLAY/WAYLAND_DISPLAY are unset). Run it in a desktop "
              "session, set QT_QPA_PLATFORM=offscreen, or use the headless commands: mmstudio --help",
              file=sys.stderr)
        return 2
    app = create_application()
    from mmstudio.gui.main_window import MainWindow

    window = MainWindow()
    probe = os.environ.get("MMSTUDIO_STARTUP_PROBE")
    if probe:
        window.window_shown.connect(lambda: _write_probe(probe, app))
    window.show()
    paths = [a for a in argv if not a.startswith("-")]
    if not paths and DEMO_DATASET.is_file():
        paths = [str(DEMO_DATASET)]
    if paths:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: window.open_paths(paths))
    return app.exec()


def _write_probe(path: str, app) -> None:
    """For scripts/bench_startup.py: when the window is first shown, and whether torch was loaded."""
    app.processEvents()
    Path(path).write_text(f"{time.time()} {int('torch' in sys.modules)}\n")
    if os.environ.get("MMSTUDIO_STARTUP_PROBE_QUIT"):
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, app.quit)  # shown inside window.show(): the event loop starts after

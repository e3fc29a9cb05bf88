"""Starting the studio: the QApplication, the main window, and what to open first.

Only Qt and the studio's window are imported before the window shows: pyqtgraph and the data
layer load with the first panel, torch when a model is built, so the window is on screen fast.
Nothing before the first paint touches ``PySide6.QtCore.Qt`` either: PySide builds its ~90 enum
classes on first use, a tenth of the start-up (see ``events.py``, ``welcome.py``;
tests/gui/test_startup.py holds both rules, scripts/bench_startup.py measures the result).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

from mmstudio import APP_ID, __version__
from mmstudio.gui.paths import DEMO_DATASET, ICON, RESOURCES  # noqa: F401 - RESOURCES re-exported


def _has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def create_application(argv: list[str] | None = None):
    """The QApplication with MMStudio's names, id and style (reused if one exists, as in tests)."""
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["mmstudio", *(argv or [])])
    app.setApplicationName("MMStudio")
    app.setOrganizationName("MMStudio")
    app.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)  # Wayland matches windows to the launcher by it
    if ICON.is_file():
        app.setWindowIcon(QIcon(str(ICON)))
    from mmstudio.gui.settings import Settings, apply_settings

    apply_settings(Settings.load(), app)  # theme and style sheet, the engine's limits
    collect_garbage_on_gui_thread(app)
    return app


def collect_garbage_on_gui_thread(app) -> None:
    """Run Python's cyclic garbage collector only on the GUI thread, from a timer. Left to run
    anywhere, a collection triggered in a worker thread (a lane in torch code) may free a
    widget from an old reference cycle there; Qt then blocks on the GUI thread while the worker
    holds the GIL, and both wait for ever (seen as a hang in an ONNX export). pyqtgraph's
    GarbageCollector does the same for the same reason. Installed once per application."""
    import gc

    from PySide6.QtCore import QTimer

    if app.property("mmstudio_gc"):
        return
    app.setProperty("mmstudio_gc", True)
    gc.disable()
    thresholds = gc.get_threshold()

    def collect() -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):  # the oldest generation due, which includes the younger
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return

    timer = QTimer(app)
    timer.setInterval(500)
    timer.timeout.connect(collect)
    timer.start()


def run(argv: list[str]) -> int:
    """Open the window with the given project or datasets; with none, the welcome page (the demo
    dataset loads behind it, and the demo's trained model is one click away)."""
    if not _has_display():
        print(
            "mmstudio: no display found (DISPLAY/WAYLAND_DISPLAY are unset). Run it in a desktop "
            "session, set QT_QPA_PLATFORM=offscreen, or use the headless commands: mmstudio --help",
            file=sys.stderr,
        )
        return 2
    app = create_application()
    from mmstudio.gui.main_window import MainWindow

    window = MainWindow()
    probe = os.environ.get("MMSTUDIO_STARTUP_PROBE")
    if probe:
        window.window_shown.connect(lambda: _write_probe(probe, app))
    paths = [a for a in argv if not a.startswith("-")]
    if not paths:
        window.show_welcome()
    window.show()
    from PySide6.QtCore import QTimer

    def first_steps() -> None:
        window.projects.start_session()
        if window.projects.offer_recovery():
            return
        if paths:
            window.open_paths(paths)
            return
        if DEMO_DATASET.is_file():
            window.preload_dataset(str(DEMO_DATASET))

    # The first panel's Qt-free modules (numpy, the data layer) import in a thread while the
    # welcome page takes clicks; then the demo dataset opens behind it.
    after_imports(PANEL_MODULES, lambda: QTimer.singleShot(0, first_steps))
    demo_probe = os.environ.get("MMSTUDIO_DEMO_PROBE")
    if demo_probe:
        QTimer.singleShot(0, lambda: _demo_probe(demo_probe, window, app))
    app.aboutToQuit.connect(window.projects.end_session)
    return leave(app.exec())


def leave(code: int) -> int:
    """End the process as soon as the window has closed and saved what it keeps.

    Python's own teardown then frees every module object one by one (torch, numpy, pyqtgraph,
    Qt): 1-7 s after the window closed, measured with gdb in ``_PyModule_ClearDict``; nothing
    in it is ours to keep. Settings, logs and streams are flushed first; files we write are
    atomic (temp file, then rename), so a worker cut short leaves no half-written file behind.
    """
    import logging

    from PySide6.QtCore import QSettings

    QSettings().sync()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


#: What the Data panel needs that touches no Qt, imported off the GUI thread after the window
#: shows. Not pyqtgraph: it makes Qt objects (fonts, pens) as it loads, and those belong to the
#: GUI thread (importing it in a thread crashed when a panel was built meanwhile).
PANEL_MODULES = ("numpy", "mmstudio.data")


def after_imports(modules: tuple[str, ...], then) -> None:
    """Import ``modules`` in a background thread and call ``then`` on the GUI thread after.

    Importing holds the GIL only in short slices, so the window keeps answering clicks; a
    panel built meanwhile waits for the import lock, no longer than it would have anyway."""
    import importlib

    def work() -> None:
        for name in modules:
            with contextlib.suppress(Exception):  # a failure shows itself when the panel is built
                importlib.import_module(name)

    in_thread(work, lambda _result: then())


def in_thread(work, then) -> None:
    """Run ``work()`` in a plain daemon thread (no Qt in it) and call ``then(result)`` on the
    GUI thread when it is done (polled: no QObject crosses threads). Errors are dropped: what
    runs here is a head start, done again the ordinary way when it fails."""
    from PySide6.QtCore import QTimer

    box: list = []

    def run() -> None:
        with contextlib.suppress(Exception):
            box.append(work())

    thread = threading.Thread(target=run, name="mmstudio-start", daemon=True)
    thread.start()
    poll = QTimer(interval=50)

    def check() -> None:
        if not thread.is_alive():
            poll.stop()
            _POLLS.remove(poll)
            if box:
                then(box[0])

    poll.timeout.connect(check)
    _POLLS.append(poll)  # kept alive until it fires
    poll.start()


_POLLS: list = []


def _write_probe(path: str, app) -> None:
    """For scripts/bench_startup.py: when the window is first shown, whether torch was loaded, and
    the CPU time used so far."""
    app.processEvents()
    Path(path).write_text(f"{time.time()} {int('torch' in sys.modules)} {time.process_time()}\n")
    if os.environ.get("MMSTUDIO_STARTUP_PROBE_QUIT"):
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, app.quit)  # shown inside window.show(): the event loop starts after


def _demo_probe(path: str, window, app) -> None:
    """For packaging checks: click the welcome page's demo, ask its model "seven", write the
    answer's labels (JSON) to ``path`` and quit. Proves a build starts and answers offline."""
    import json

    from mmstudio.gui.jobs import Lane
    from mmstudio.gui.paths import DEMO_BUNDLE

    first_panel = window.current_panel_name()

    def done(result) -> None:
        labels = [r["label"] for r in result["results"]]
        Path(path).write_text(
            json.dumps(
                {
                    "first_panel": first_panel,
                    "panel": window.current_panel_name(),
                    "bundle": window.current_bundle,
                    "labels": labels,
                }
            )
            + "\n"
        )
        app.quit()

    def failed(exc) -> None:
        Path(path).write_text(json.dumps({"error": str(exc)}) + "\n")
        app.quit()

    def ask() -> None:
        from mmstudio import engine

        return engine.query(str(DEMO_BUNDLE), text="seven", top=10)

    window.welcome.demo_buttons["digits"].click()
    window.demo_probe_lane = Lane(window, name="mmstudio-demo-probe")  # torch work: a lane, like the panels'
    window.demo_probe_lane.submit(ask, on_done=done, on_error=failed)

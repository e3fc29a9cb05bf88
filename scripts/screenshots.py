"""Screenshots of the studio as a user sees it: run under a real X server (xvfb-run).

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots.py OUTDIR [DATASET...]

Opens each dataset in a real window, waits for the scan and thumbnails, selects an item, and
saves OUTDIR/data-<name>.png. Defaults to the shared datasets when none are given.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULTS = ["digits/pairs.csv", "digits/audio", "clipart/captions.csv", "prompts/transcripts.csv", "demo/manifest.csv"]


def wait(app, seconds: float, until=None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until is not None and until():
            return
        time.sleep(0.02)


def open_and_wait(app, window, path: str, seconds: float = 60):
    """Open ``path`` in the window as a user would and wait for the scan; returns the Dataset."""
    loaded: list = []
    window.data_panel.dataset_loaded.connect(loaded.append)
    window.open_paths([path])
    wait(app, seconds, until=lambda: bool(loaded))
    window.data_panel.dataset_loaded.disconnect(loaded.append)
    return loaded[0] if loaded else None


def start_app(out: Path):
    """Make ``out``, a throwaway home and cache (unless set) and the QApplication, light.

    Qt is set up before anything imports torch (importing torch before PySide6 breaks
    pyqtgraph's import), so scripts that train a bundle call this first.
    """
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MMSTUDIO_HOME", tempfile.mkdtemp(prefix="mmstudio-shots-"))
    os.environ.setdefault("MMSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="mmstudio-shots-cache-"))
    # settings and recent projects (QSettings) of a new user, not this machine's
    os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="mmstudio-shots-config-"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mmstudio.gui.app import create_application
    from mmstudio.gui.settings import apply_theme

    app = create_application()
    apply_theme(app, "light")  # every set starts light, whatever the desktop says
    return app


def show_window(app):
    """The studio's main window, shown and given a second to settle."""
    from mmstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    wait(app, 1.0)
    return window


def main() -> int:
    targets = sys.argv[2:] or [str(SHARED / d) for d in DEFAULTS]
    out = Path(sys.argv[1])
    app = start_app(out)
    window = show_window(app)
    for target in targets:
        open_and_wait(app, window, target)
        panel = window.data_panel
        if panel.model.rowCount() > 3:
            panel.table.selectRow(3)
        wait(app, 2.5)
        name = target.rstrip("/").replace(str(SHARED) + os.sep, "").replace("/", "-").replace(".", "-")
        path = out / f"data-{name}.png"
        window.grab().save(str(path))
        print(path)
        if panel.dataset and panel.dataset.problems:  # and the list of what could not be used
            panel.tabs.setCurrentIndex(2)
            wait(app, 0.3)
            window.grab().save(str(out / f"data-{name}-problems.png"))
            panel.tabs.setCurrentIndex(0)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

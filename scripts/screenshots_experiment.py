"""Screenshots of an experiment: the runs list with its row, and its window (ranked table, chart,
gain with CI). Run under a real X server::

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_experiment.py \\
        EXPERIMENT_FOLDER OUTDIR

The experiment (made by ``mmstudio experiment grid|search``) is listed through a runs folder of
its own (a link to it in a temporary MMSTUDIO_HOME), so nothing is written into it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from screenshots import wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    folder, out = os.path.abspath(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="mmstudio-shots-")
    os.makedirs(os.path.join(home, "runs"))
    os.symlink(folder, os.path.join(home, "runs", os.path.basename(folder)))
    os.environ["MMSTUDIO_HOME"] = home
    sys.path.insert(0, str(ROOT))
    from mmstudio.gui.app import create_application
    from mmstudio.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    wait(app, 1.0)
    window.show_panel(2)
    wait(app, 1.0)
    runs = window.train_panel.runs
    runs.refresh()
    path = os.path.join(home, "runs", os.path.basename(folder))
    runs.select_paths([os.path.abspath(path)])
    wait(app, 0.5)
    window.grab().save(str(out / "runs-experiment.png"))
    view = runs.experiments.show(path)
    view.resize(1300, 760)
    wait(app, 1.5)
    view.grab().save(str(out / "experiment.png"))
    print(f"saved {out}/runs-experiment.png and {out}/experiment.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

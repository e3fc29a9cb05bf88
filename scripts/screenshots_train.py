"""Screenshots of the Model and Train panels: run under a real X server (xvfb-run).

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_train.py OUTDIR [DATASET]

Opens the dataset (the bundled digits demo by default), saves OUTDIR/model.png, trains the
suggested model with weighted_sum fusion for 6 epochs and saves OUTDIR/train-running.png mid-run
and train-done.png; then trains a concat model and saves train-compare.png with both runs
selected in the runs list, their curves overlaid.
"""

from __future__ import annotations

import sys
from pathlib import Path

from screenshots import open_and_wait, show_window, start_app, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "digits" / "manifest.csv"


def main() -> int:
    out = Path(sys.argv[1])
    target = sys.argv[2] if len(sys.argv) > 2 else str(DEMO)
    app = start_app(out)
    window = show_window(app)
    open_and_wait(app, window, target)
    window.show_panel(1)
    model = window.model_panel
    wait(app, 60, until=model.start_button.isEnabled)
    model.epochs.setValue(6)
    model.batch.setValue(16)
    model.device.setCurrentText("cpu")
    model.fusion.setCurrentText("weighted_sum")
    wait(app, 1.5)
    window.grab().save(str(out / "model.png"))
    train = window.train_panel
    model.start_button.click()
    wait(app, 300, until=lambda: train.epochs.size >= 3 or not train.running)
    wait(app, 0.3)
    window.grab().save(str(out / "train-running.png"))
    wait(app, 600, until=lambda: not train.running)
    wait(app, 0.5)
    window.grab().save(str(out / "train-done.png"))
    first = train.out_dir
    window.show_panel(1)
    model.fusion.setCurrentText("concat")
    model.epochs.setValue(4)
    model.start_button.click()
    wait(app, 600, until=lambda: not train.running)
    train.tabs.setCurrentWidget(train.runs)
    train.runs.select_paths([first, train.out_dir])
    wait(app, 1.0)
    window.grab().save(str(out / "train-compare.png"))
    print("\n".join(str(out / n) for n in ("model.png", "train-running.png", "train-done.png", "train-compare.png")))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

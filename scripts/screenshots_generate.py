"""Screenshots of the generate task: the Query panel's Describe mode and the Evaluate panel's
examples. Run under a real X server (xvfb-run):

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_generate.py [OUTDIR]

Trains (once, under runs/) a model that writes the caption of a bundled demo digit from its
image and its sound, describes a test image (docs/screenshot-describe.png) and evaluates the
demo's test split (docs/screenshot-evaluate-generate.png).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from screenshots import open_and_wait, show_window, start_app, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "digits" / "manifest.csv"


def generator_bundle(run_dir: str = str(ROOT / "runs" / "demo-generate")) -> str:
    """Image + audio -> caption on the 500 demo triplets (a minute or two on a CPU)."""
    from mmstudio import engine
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

    bundle = os.path.join(run_dir, "bundle")
    if os.path.isfile(os.path.join(bundle, "bundle.json")):
        return bundle
    run = RunConfig(
        DatasetSpec(str(DEMO)),
        ModelSpec(modalities=("image", "audio"), task="generate", decoder_options={"width": 64, "layers": 2}),
        TrainSpec(epochs=25, seed=0, device="cpu"),
    )
    return engine.drive(engine.train(run, run_dir)).bundle


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    app = start_app(out)  # Qt before torch
    bundle = generator_bundle()
    window = show_window(app)
    window.resize(1440, 900)
    dataset = open_and_wait(app, window, str(DEMO), 120)

    query = window.query_panel
    ready: list = []
    query.ready.connect(ready.append)
    query.set_bundle(bundle)
    window.show_panel(4)
    wait(app, 300, until=lambda: bool(ready))
    answers: list = []
    query.results_ready.connect(answers.append)
    seven = next(it for it in dataset.subset("test") if it.label == "7")
    query.inputs.set_image(seven.image)
    wait(app, 60, until=lambda: bool(answers))
    wait(app, 2.0)
    window.grab().save(str(out / "screenshot-describe.png"))

    evaluate = window.evaluate_panel
    reports: list = []
    evaluate.report_ready.connect(reports.append)
    evaluate.set_bundle(bundle)
    window.show_panel(3)  # showing the panel starts the evaluation
    wait(app, 900, until=lambda: bool(reports))
    wait(app, 3.0)
    window.grab().save(str(out / "screenshot-evaluate-generate.png"))
    window.close()
    return 0 if answers and reports else 1


if __name__ == "__main__":
    sys.exit(main())

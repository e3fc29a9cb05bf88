"""Screenshots of the Evaluate and Query panels: run under a real X server (xvfb-run).

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_eval_query.py [OUTDIR]

Opens ../shared/datasets/digits, evaluates an image+audio model on its test split
(docs/screenshot-evaluate.png), then asks the aligned image+audio+text bundle of
``scripts/bench_query.py`` with the text "seven" (screenshot-query-text.png), a spoken "three"
from the test split (screenshot-query-audio.png), and shows the t-SNE map with a hovered point
(screenshot-query-map.png). Both bundles are trained once under runs/ when missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench_query import DIGITS, ensure_bundle  # scripts/ is on sys.path when run as a script
from screenshots import open_and_wait, show_window, start_app, wait

ROOT = Path(__file__).resolve().parents[1]


def image_audio_bundle(run_dir: str = str(ROOT / "runs" / "digits-image-audio")) -> str:
    """A quick image+audio model (no text: digits' captions name the class, a shortcut)."""
    from mmstudio import engine
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

    bundle = os.path.join(run_dir, "bundle")
    if os.path.isfile(os.path.join(bundle, "bundle.json")):
        return bundle
    run = RunConfig(
        DatasetSpec(DIGITS),
        ModelSpec(modalities=("image", "audio"), dim=64, fusion="weighted_sum"),
        TrainSpec(epochs=1, batch_size=64, lr=2e-3, seed=0, val_split="none", device="cpu"),
    )
    return engine.drive(engine.train(run, run_dir)).bundle


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    app = start_app(out)
    # Trained once under runs/ (importing torch before PySide6 breaks pyqtgraph's import).
    eval_bundle, query_bundle = image_audio_bundle(), ensure_bundle()
    window = show_window(app)
    dataset = open_and_wait(app, window, DIGITS, 120)

    evaluate = window.evaluate_panel
    reports = []
    evaluate.report_ready.connect(reports.append)
    evaluate.set_bundle(eval_bundle)
    window.show_panel(3)
    evaluate.evaluate()  # it runs when asked, never by itself
    wait(app, 900, until=lambda: bool(reports))
    wait(app, 3.0)
    window.grab().save(str(out / "screenshot-evaluate.png"))

    query = window.query_panel
    ready = []
    query.ready.connect(ready.append)
    query.set_bundle(query_bundle)
    window.show_panel(4)
    wait(app, 900, until=lambda: bool(ready))
    answers = []
    query.results_ready.connect(answers.append)
    query.inputs.set_text("seven")
    wait(app, 60, until=lambda: bool(answers))
    wait(app, 3.0)  # thumbnails, and the query's star on the map
    window.grab().save(str(out / "screenshot-query-text.png"))

    answers.clear()
    three = next(it.audio for it in dataset.subset("test") if it.label == "3")
    query.accept_drop([three])
    wait(app, 60, until=lambda: bool(answers))
    wait(app, 3.0)
    window.grab().save(str(out / "screenshot-query-audio.png"))

    maps = []
    query.map_ready.connect(maps.append)
    query.map_method.setCurrentText("t-SNE")
    wait(app, 600, until=lambda: bool(maps))
    wait(app, 3.0)
    points = query.map.scatter.points()
    three_points = [p for p in points if query.map.items[p.data()].get("label") == "3"]
    if three_points:
        query.map._on_hovered(query.map.scatter, [three_points[0]], None)
    wait(app, 1.0)
    window.grab().save(str(out / "screenshot-query-map.png"))
    print("\n".join(str(out / f"screenshot-{n}.png") for n in ("evaluate", "query-text", "query-audio", "query-map")))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

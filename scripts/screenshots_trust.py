"""Screenshots of the "display you can trust" states: run under a real X server (xvfb-run).

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_trust.py [OUTDIR]

With the offline digits demo (no shared data, no training): Evaluate idle with its Evaluate
button (screenshot-trust-evaluate-idle.png), evaluating with its progress and Cancel
(-evaluate-running), and done (-evaluate-done); Query with results for "seven"
(-query-results), and right after another collection was chosen: the old results cleared
under a stale banner while the new one is indexed (-query-stale).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from screenshots import open_and_wait, show_window, start_app, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="mmstudio-shots-cache-"))
    app = start_app(out)
    from mmstudio.gui.paths import CLIPART_DATASET, DEMO_BUNDLE, DEMO_DATASET

    window = show_window(app)
    open_and_wait(app, window, str(DEMO_DATASET), 120)
    shot = lambda name: window.grab().save(str(out / f"screenshot-trust-{name}.png"))  # noqa: E731

    evaluate = window.evaluate_panel
    evaluate.set_bundle(str(DEMO_BUNDLE))
    window.show_panel(3)
    wait(app, 1.5)
    shot("evaluate-idle")
    running, reports = [], []
    evaluate.report_ready.connect(reports.append)

    def on_progress(fraction: float, _message: str) -> None:
        if fraction >= 0.15 and not running:
            running.append(True)
            shot("evaluate-running")

    evaluate.lane.progress.connect(on_progress)
    evaluate.evaluate()
    wait(app, 600, until=lambda: bool(reports))
    wait(app, 2.0)
    shot("evaluate-done")

    query = window.query_panel
    ready, answers = [], []
    query.ready.connect(ready.append)
    query.results_ready.connect(answers.append)
    query.set_bundle(str(DEMO_BUNDLE))
    window.show_panel(4)
    wait(app, 600, until=lambda: bool(ready))
    query.inputs.set_text("seven")
    wait(app, 60, until=lambda: bool(answers))
    wait(app, 3.0)
    shot("query-results")
    query.open_collection(str(CLIPART_DATASET))  # another collection: the digits results go
    wait(app, 120, until=lambda: "Cleared" in query.message.text())
    wait(app, 0.5)
    shot("query-stale")
    print("\n".join(str(p) for p in sorted(out.glob("screenshot-trust-*.png"))))
    wait(app, 300, until=lambda: len(ready) > 1)  # let the clip art indexing end before quitting
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

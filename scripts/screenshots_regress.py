"""Screenshots of the Evaluate panel on a regress model and of its "Make it smaller" tab.

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_regress.py \
        BUNDLE MANIFEST COLUMN [OUTDIR]

``BUNDLE`` is a regress bundle trained on ``MANIFEST`` whose ``COLUMN`` holds the target, e.g.
the ``bright-image+text`` bundle and ``data/bright_count/items.csv`` (column ``price``) that
``scripts/bench_regress.py`` leaves in its ``--out`` folder. Writes
docs/screenshot-evaluate-regress.png and docs/screenshot-compress.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from screenshots import show_window, start_app, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    bundle, manifest, column = sys.argv[1:4]
    out = Path(sys.argv[4]) if len(sys.argv) > 4 else ROOT / "docs"
    app = start_app(out)
    window = show_window(app)
    from mmstudio.config import DatasetSpec
    from mmstudio.data import open_dataset

    dataset = open_dataset(DatasetSpec(manifest, columns={column: "target"}))
    evaluate = window.evaluate_panel
    reports: list = []
    evaluate.report_ready.connect(reports.append)
    evaluate.set_dataset(dataset)
    evaluate.set_bundle(bundle)
    window.show_panel(3)  # showing the panel starts the evaluation
    wait(app, 900, until=lambda: bool(reports))
    wait(app, 3.0)  # thumbnails of the worst items
    window.grab().save(str(out / "screenshot-evaluate-regress.png"))

    tab = evaluate.compress_tab
    evaluate.tabs.setCurrentIndex(1)
    tab.measure()
    wait(app, 1800, until=lambda: tab.result is not None)
    tab.table.selectRow(1)
    wait(app, 1.0)
    window.grab().save(str(out / "screenshot-compress.png"))
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

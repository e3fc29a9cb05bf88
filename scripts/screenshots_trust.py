"""Query and Train as a user sees them when the key changes (issue 15), in both themes: run
under a real X server (xvfb-run).

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_trust.py OUTDIR

The digits demo answers "seven" with a dropped image as well; then the clip-art model is opened
over the shared 10,000-item digits set: OUTDIR/query-indexing-<theme>.png while it indexes,
query-stopped-<theme>.png after Stop; then File ▸ New: new-welcome-<theme>.png, and
new-query-<theme>.png, new-train-<theme>.png with those panels shown again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from screenshots import open_and_wait, start_app, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT.parent / "shared" / "datasets" / "digits" / "pairs.csv"


def shoot(app, window, out: Path, name: str) -> None:
    from mmstudio.gui.settings import apply_theme

    for theme in ("light", "dark"):
        apply_theme(app, theme)
        wait(app, 0.4)
        window.grab().save(str(out / f"{name}-{theme}.png"))
        print(out / f"{name}-{theme}.png", window.windowTitle(), flush=True)
    apply_theme(app, "light")


def main() -> int:
    out = Path(sys.argv[1])
    app = start_app(out)
    from mmstudio.gui.main_window import MainWindow
    from mmstudio.gui.paths import CLIPART_BUNDLE, DEMO_DATASET

    window = MainWindow()
    window.show_welcome()
    window.show()
    wait(app, 0.5)
    window.open_demo("digits")
    query = window.query_panel
    wait(app, 60, until=lambda: query.last is not None)
    query.inputs.set_file(str(DEMO_DATASET.parent / window.dataset.items[3].image))
    wait(app, 2.0)
    window.show_panel(2)  # the Train panel, seen once (its runs list read)
    wait(app, 0.5)
    open_and_wait(app, window, str(DIGITS), 120)
    window.open_bundle(str(CLIPART_BUNDLE))
    wait(app, 60, until=lambda: "mbedded" in query.progress.label.text())
    wait(app, 1.0)
    shoot(app, window, out, "query-indexing")
    query.stop()
    wait(app, 10, until=lambda: not query.lane.busy)
    shoot(app, window, out, "query-stopped")
    window.projects.new()
    wait(app, 0.5)
    shoot(app, window, out, "new-welcome")
    for row, name in ((4, "new-query"), (2, "new-train")):
        window.show_panel(row)
        wait(app, 0.5)
        shoot(app, window, out, name)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

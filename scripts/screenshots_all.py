"""Every panel in both themes, as a user sees it: run under a real X server (xvfb-run).

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_all.py [OUTDIR] [--first]

Writes OUTDIR/<panel>-light.png and -dark.png (default docs/screenshots/) for: welcome, data
(the shared digits dataset, 10,000 items), model, train-running, train-done (a small model
trained for three epochs on the shared 500-item demo set), evaluate (that model on its test
split), query-text, query-audio, query-map (the bundled demo model) and settings. Each view is
shot in light, then switched to dark in place (the theme switch is timed: it must stay under
0.5 s) and shot again. About two minutes on two CPU cores.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from screenshots import open_and_wait, start_app, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
DIGITS = SHARED / "digits" / "pairs.csv"
DEMO = SHARED / "demo" / "manifest.csv"
SWITCHES: list[float] = []


def shoot(app, widget, out: Path, name: str, before=None) -> None:
    """``widget`` in light, then in dark (the theme switched while it is on screen)."""
    from mmstudio.gui.settings import apply_theme

    for theme in ("light", "dark"):
        if before is not None:
            before(theme)
        t0 = time.perf_counter()
        apply_theme(app, theme)
        app.processEvents()
        SWITCHES.append(time.perf_counter() - t0)
        wait(app, 0.4)
        path = out / f"{name}-{theme}.png"
        widget.grab().save(str(path))
        print(path, flush=True)
    apply_theme(app, "light")


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else ROOT / "docs" / "screenshots"
    app = start_app(out)
    from mmstudio.gui.main_window import MainWindow
    from mmstudio.gui.paths import DEMO_BUNDLE

    window = MainWindow()
    window.show_welcome()
    window.show()
    wait(app, 1.5)
    shoot(app, window, out, "welcome")
    size = window.size()

    open_and_wait(app, window, str(DIGITS), 120)
    window.data_panel.table.selectRow(3)
    wait(app, 2.5)
    assert window.size() == size, f"the window resized itself when data loaded: {size} -> {window.size()}"
    shoot(app, window, out, "data")
    if "--first" in sys.argv:  # the welcome page and the Data panel only (a quick look)
        window.close()
        return 0

    open_and_wait(app, window, str(DEMO), 60)
    window.show_panel(1)
    model = window.model_panel
    wait(app, 120, until=model.start_button.isEnabled)
    model.epochs.setValue(3)
    model.batch.setValue(32)
    model.device.setCurrentText("cpu")
    wait(app, 2.0)
    shoot(app, window, out, "model")

    train = window.train_panel
    model.start_button.click()
    wait(app, 600, until=lambda: train.epochs.size >= 1 or not train.running)
    wait(app, 1.5)
    shoot(app, window, out, "train-running")
    wait(app, 900, until=lambda: not train.running)
    wait(app, 1.0)
    shoot(app, window, out, "train-done")

    evaluate = window.evaluate_panel
    reports: list = []
    evaluate.report_ready.connect(reports.append)
    train.evaluate_next.click()  # the next step the Train panel offers
    wait(app, 3.0, until=lambda: bool(reports))
    if not reports and evaluate.evaluate_button.isEnabled():  # evaluation runs when asked
        evaluate.evaluate_button.click()
    wait(app, 900, until=lambda: bool(reports))
    wait(app, 2.0)
    shoot(app, window, out, "evaluate")

    query = window.query_panel
    ready: list = []
    query.ready.connect(ready.append)
    window.open_bundle(str(DEMO_BUNDLE))
    wait(app, 600, until=lambda: bool(ready))
    answers: list = []
    query.results_ready.connect(answers.append)
    query.inputs.set_text("seven")
    wait(app, 120, until=lambda: bool(answers))
    wait(app, 2.5)
    shoot(app, window, out, "query-text")
    answers.clear()
    dataset = window.data_panel.dataset
    three = next(it.audio for it in dataset.items if it.label == "3" and it.audio)
    query.accept_drop([three])
    wait(app, 120, until=lambda: bool(answers))
    wait(app, 2.5)
    shoot(app, window, out, "query-audio")
    points = query.map.scatter.points()
    threes = [p for p in points if query.map.items[p.data()].get("label") == "3"]
    if threes:
        query.map._on_hovered(query.map.scatter, [threes[0]], None)
    wait(app, 0.5)
    shoot(app, window, out, "query-map")

    from mmstudio.gui.settings import THEMES
    from mmstudio.gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window)
    dialog.show()
    wait(app, 0.8)
    shoot(app, dialog, out, "settings", before=lambda t: dialog.theme.setCurrentIndex(THEMES.index(t)))
    dialog.reject()
    print(
        f"theme switches: {len(SWITCHES)}, slowest {max(SWITCHES):.3f} s, median {sorted(SWITCHES)[len(SWITCHES) // 2]:.3f} s"
    )
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

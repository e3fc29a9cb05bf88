"""The Evaluate panel (report, gallery of audio-only and text-only cards, "Make it smaller" with
Cancel) and the Train panel's validation plot, in both themes, under a real X server:

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots_evaluate.py OUTDIR

Uses the bundled demo model on the shared 500-item demo set (about a minute on two CPU cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

from screenshots import open_and_wait, start_app, wait  # scripts/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"


def shoot(app, widget, out: Path, name: str) -> None:
    from mmstudio.gui.settings import apply_theme

    for theme in ("light", "dark"):
        apply_theme(app, theme)
        wait(app, 0.5)
        path = out / f"{name}-{theme}.png"
        widget.grab().save(str(path))
        print(path, flush=True)
    apply_theme(app, "light")


def audio_and_text_cards(evaluate) -> None:
    """Cards of audio-only and text-only items, as Evaluate lays them out (ids long on purpose)."""
    audio = sorted((SHARED / "digits" / "audio").glob("*.wav"))[:4]
    import csv

    with open(SHARED / "prompts" / "transcripts.csv", encoding="utf-8") as fh:
        lines = [row["text"] for row in csv.DictReader(fh)][:5]
    samples = [
        {
            "id": f"digits/audio/{p.name}",
            "audio": str(p),
            "caption": f"<b>digits/audio/{p.name}</b><br>true <b>seven</b><br>"
            "<span style='color:#c2452d'>pred <b>a-very-long-class-name</b></span> 0.93",
        }
        for p in audio
    ]
    texts = [
        {
            "id": f"prompts/{i:04d}-a-rather-long-identifier",
            "text": line,
            "caption": f"<b>prompts/{i:04d}-a-rather-long-identifier</b><br>true <b>x</b><br>pred <b>y</b> 0.51",
        }
        for i, line in enumerate(lines)
    ]
    evaluate.gallery.set_samples(samples)
    return samples, texts


def main() -> int:
    out = Path(sys.argv[1])
    app = start_app(out)
    from mmstudio.gui.main_window import MainWindow
    from mmstudio.gui.paths import DEMO_BUNDLE

    window = MainWindow()
    window.resize(1440, 860)
    window.show()
    wait(app, 1.0)
    open_and_wait(app, window, str(SHARED / "demo" / "manifest.csv"), 60)
    window.open_bundle(str(DEMO_BUNDLE), switch=False)
    window.show_panel(3)
    evaluate = window.evaluate_panel
    reports: list = []
    evaluate.report_ready.connect(reports.append)
    evaluate.evaluate()
    wait(app, 600, until=lambda: bool(reports))
    wait(app, 1.5)
    shoot(app, window, out, "evaluate")
    evaluate.heatmap.select_cell(7, 7)  # a cell's items: image, audio and text cards
    wait(app, 2.0)
    shoot(app, window, out, "evaluate-cell")
    window.resize(1100, 640)
    wait(app, 1.0)
    shoot(app, window, out, "evaluate-small")
    window.resize(1440, 860)
    names = [str(i) for i in range(10)]
    matrix = [[40 - 3 * i if r == c else (i + r) % 4 for c, i in enumerate(range(10))] for r in range(10)]
    evaluate.heatmap.set_matrix(matrix, names)  # low counts in every shade (not this model's)
    wait(app, 0.5)
    shoot(app, evaluate.heatmap, out, "heatmap-low-counts")
    samples, texts = audio_and_text_cards(evaluate)
    wait(app, 2.0)
    shoot(app, window, out, "evaluate-audio-cards")
    evaluate.gallery.set_samples(texts)
    wait(app, 0.5)
    shoot(app, window, out, "evaluate-text-cards")
    evaluate.tabs.setCurrentIndex(1)
    tab = evaluate.compress_tab
    tab.measure()
    wait(app, 30, until=lambda: tab.progress.percent > 0)
    wait(app, 1.0)
    shoot(app, window, out, "compress-running")
    tab.progress.cancel_button.click()
    wait(app, 120, until=lambda: not tab.lane.busy)
    wait(app, 0.5)
    shoot(app, window, out, "compress-cancelled")
    window.show_panel(2)
    plots = window.train_panel.plots
    for step in range(1, 200):
        plots.add_step(step, 2.0 / step**0.5, 0.01)
    for epoch in range(1, 9):
        plots.add_epoch(epoch, 1.0 / epoch, 0.5 + 0.06 * epoch, 0.9 / epoch, {})
    plots.metric_name = "accuracy"
    plots.redraw()
    wait(app, 0.5)
    shoot(app, window, out, "train-plots")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

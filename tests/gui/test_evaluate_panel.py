"""The Evaluate panel on a tiny trained model: tables, confusion cells, gallery, export."""

from __future__ import annotations

import csv
import json
import os

import pytest
from eval_helpers import train_synth_bundle

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    # Few epochs: a model that still makes some mistakes, so the gallery has something to show.
    return train_synth_bundle(tmp_path_factory.mktemp("evaluate"), epochs=2)


@pytest.fixture
def panel(qtbot, trained):
    from mmstudio.gui.app import create_application
    from mmstudio.gui.panels.evaluate_panel import EvaluatePanel

    create_application()
    bundle, dataset = trained
    p = EvaluatePanel()
    qtbot.addWidget(p)
    p.set_dataset(dataset)
    p.set_bundle(bundle)
    p.resize(1280, 820)
    yield p
    p.shutdown()


def _evaluate(qtbot, panel) -> dict:
    with qtbot.waitSignal(panel.report_ready, timeout=120000) as blocker:
        panel.evaluate()
    return blocker.args[0]


def test_report_fills_tables_plots_and_gallery(qtbot, panel):
    assert panel.split_combo.currentText() == "test"
    report = _evaluate(qtbot, panel)
    assert report["split"] == "test" and len(report["samples"]) == 12
    metrics = {
        panel.tables.metrics.item(r, 0).text(): panel.tables.metrics.item(r, 1).text()
        for r in range(panel.tables.metrics.rowCount())
    }
    assert metrics["accuracy"] == f"{report['accuracy']:.4f}"
    assert "macro F1" in metrics
    assert panel.tables.per_class.rowCount() == 3
    assert panel.tables.retrieval.rowCount() >= 6  # both directions of every modality pair
    assert panel.heatmap.matrix.sum() == 12
    # ablation: the fused model, each modality removed, each alone
    assert set(panel.ablation_chart.bars) == {
        "all",
        "no image",
        "no text",
        "no audio",
        "image only",
        "text only",
        "audio only",
    }
    assert "gain" in panel.ablation_note.text() and "masked" in panel.ablation_note.text()
    assert set(panel.robustness_chart.curves) == {"image", "text", "audio"}
    assert set(panel.weights_chart.values) == {"image", "text", "audio"}
    wrong = [i for i, (t, q) in enumerate(zip(report["predictions"]["true"], report["predictions"]["pred"])) if t != q]
    assert sorted(panel.shown_rows) == wrong and len(panel.gallery.cards) == len(wrong)


def test_clicking_a_confusion_cell_lists_its_samples(qtbot, panel):
    from PySide6.QtCore import Qt

    report = _evaluate(qtbot, panel)
    panel.show()
    qtbot.waitExposed(panel)
    names = report["class_names"]
    true, pred = 1, 1
    expected = [
        i
        for i, it in enumerate(report["samples"])
        if it["label"] == names[true] and report["predictions"]["pred"][i] == pred
    ]
    with qtbot.waitSignal(panel.heatmap.cell_clicked) as blocker:
        qtbot.mouseClick(panel.heatmap.viewport(), Qt.MouseButton.LeftButton, pos=panel.heatmap.cell_center(true, pred))
    assert blocker.args == [true, pred]
    assert panel.shown_rows == expected and len(expected) == panel.heatmap.matrix[true, pred]
    assert [c.sample["id"] for c in panel.gallery.cards] == [report["samples"][i]["id"] for i in expected]
    card = panel.gallery.cards[0]
    assert f"true <b>{names[true]}</b>" in card.caption.text()
    assert card.play.isEnabled() and card.sample["text"] in card.text.toolTip()
    qtbot.waitUntil(lambda: card.thumb.pixmap() is not None and not card.thumb.pixmap().isNull(), timeout=10000)


def test_export_writes_png_csv_json(qtbot, panel, tmp_path):
    report = _evaluate(qtbot, panel)
    written = panel.export_report(str(tmp_path / "report"))
    names = {os.path.basename(p) for p in written}
    assert {
        "confusion.png",
        "ablation.png",
        "robustness.png",
        "metrics.csv",
        "per_class.csv",
        "confusion.csv",
        "ablation.csv",
        "robustness.csv",
        "report.json",
    } <= names
    for p in written:
        assert os.path.getsize(p) > 0
    with open(tmp_path / "report" / "confusion.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert [int(v) for v in rows[1][1:]] == report["confusion"][0]
    with open(tmp_path / "report" / "report.json", encoding="utf-8") as fh:
        saved = json.load(fh)
    assert saved["accuracy"] == report["accuracy"] and "ablation" in saved
    with open(tmp_path / "report" / "confusion.png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_broken_bundle_gives_a_message(qtbot, panel, tmp_path):
    (tmp_path / "bundle.json").write_text("{not json")
    panel.set_bundle(str(tmp_path))
    panel.evaluate()
    qtbot.waitUntil(lambda: not panel.message.isHidden(), timeout=30000)
    assert "Could not evaluate" in panel.message.text() and "bundle.json" in panel.message.text()
    assert panel.evaluate_button.isEnabled()

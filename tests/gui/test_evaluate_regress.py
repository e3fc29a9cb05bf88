"""The Evaluate panel on a regress model (scatter, ablation errors, worst items), the Query
panel's predicted number, and the "Make it smaller" tab measuring and keeping a variant."""

from __future__ import annotations

import json
import os

import pytest
from eval_helpers import drain, tiny_run
from synth import make_regress_dataset

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def regress_trained(tmp_path_factory):
    from mmstudio import engine
    from mmstudio.config import DatasetSpec
    from mmstudio.data import open_dataset

    root = tmp_path_factory.mktemp("regress-gui")
    manifest = make_regress_dataset(root / "data", n=60)
    spec = DatasetSpec(str(manifest), columns={"score": "target"})
    run = tiny_run(manifest, task="regress", train={"epochs": 12, "batch_size": 16}).replace(dataset=spec)
    _, result = drain(engine.train(run, str(root / "run")))
    return result.bundle, open_dataset(spec)


@pytest.fixture
def panel(qtbot, regress_trained):
    from mmstudio.gui.app import create_application
    from mmstudio.gui.panels.evaluate_panel import EvaluatePanel

    create_application()
    bundle, dataset = regress_trained
    p = EvaluatePanel()
    qtbot.addWidget(p)
    p.set_dataset(dataset)
    p.set_bundle(bundle)
    p.resize(1280, 820)
    yield p
    p.shutdown()


def test_regress_report_shows_scatter_errors_and_worst_items(qtbot, panel):
    with qtbot.waitSignal(panel.report_ready, timeout=120000) as blocker:
        panel.evaluate()
    report = blocker.args[0]
    assert panel.regress_view.isVisibleTo(panel) and not panel.heatmap.isVisibleTo(panel)
    assert len(panel.regress_view.scatter.data) == 12
    metrics = {
        panel.tables.metrics.item(r, 0).text(): panel.tables.metrics.item(r, 1).text()
        for r in range(panel.tables.metrics.rowCount())
    }
    assert metrics["MAE"] == f"{report['regression']['mae']:.4f}"
    assert "MAE, mean baseline" in metrics
    assert set(panel.regress_view.residuals.values) >= {"fused", "without image", "only text"}
    assert panel.gallery.count() == len(report["worst"]) == 12
    assert "Worst predicted" in panel.gallery_label.text()
    from mmstudio.gui.widgets.regress_view import preview_html

    tip = preview_html(report, report["worst"][0])
    assert "<img" in tip and "true" in tip and "predicted" in tip


def test_make_it_smaller_measures_and_keeps_a_variant(qtbot, panel, tmp_path):
    tab = panel.compress_tab
    assert tab.measure_button.isEnabled()
    with qtbot.waitSignal(tab.status, timeout=5000):
        tab.measure()
    qtbot.waitUntil(lambda: tab.result is not None, timeout=300000)
    names = [r["name"] for r in tab.result["rows"]]
    assert names[0] == "fp32" and "dynamic_int8" in names and "prune" in names
    assert tab.table.rowCount() == len(names)
    int8 = next(r for r in tab.result["rows"] if r["name"] == "dynamic_int8")
    assert int8["bytes"] < tab.result["rows"][0]["bytes"] and int8["metric"] == "mae"
    assert int8["latency_ms"] > 0 and int8["value"] is not None
    tab.table.selectRow(names.index("dynamic_int8"))
    assert tab.keep_button.isEnabled()
    with qtbot.waitSignal(tab.status, timeout=30000):
        tab.keep(tab.selected_row(), str(tmp_path / "kept"))
    with open(tmp_path / "kept" / "bundle.json", encoding="utf-8") as fh:
        assert json.load(fh)["compression"]["method"] == "dynamic_int8"
    assert sorted(os.listdir(tmp_path / "kept")) == ["bundle.json", "model.safetensors"]


def test_cancelling_make_it_smaller_leaves_no_file_and_says_cancelled(qtbot, panel):
    import glob
    import shutil

    from mmstudio import engine

    tab = panel.compress_tab
    folder = engine.variants_folder(engine.load_bundle(tab.bundle_path))
    shutil.rmtree(folder, ignore_errors=True)  # an earlier measurement of this bundle
    making = os.path.join(os.path.dirname(folder), ".making-*")
    third = lambda _f, message: message.startswith("Variant 3 of")  # noqa: E731
    with qtbot.waitSignal(tab.lane.progress, timeout=300000, check_params_cb=third):
        tab.measure()
    assert tab.progress.isVisibleTo(tab) and tab.progress.cancel_button.isVisibleTo(tab)
    assert tab.progress.label.text().startswith("Variant 3 of") and tab.progress.percent > 0
    assert glob.glob(os.path.join(making, "dynamic_int8")), "a variant was half-way written when cancelled"
    with qtbot.waitSignal(tab.lane.busy_changed, timeout=300000, check_params_cb=lambda busy: not busy):
        tab.progress.cancel_button.click()
    assert not os.path.exists(folder) and not glob.glob(making), "nothing of the cancelled run is on disk"
    assert tab.note.text().startswith("Cancelled") and not tab.progress.isVisibleTo(tab)
    assert tab.result is None and tab.table.rowCount() == 0
    assert tab.measure_button.isEnabled()

"""Experiments in the window: listed in the runs list, their window runs them off the GUI thread
(stop, resume), shows the ranked table, the chart and the gain, and opens the chosen bundle."""

from __future__ import annotations

import os
import time

import pytest
from synth import make_triplet_dataset

from mmstudio import engine
from mmstudio.config import DatasetSpec, ImageSpec, ModelSpec, RunConfig, TrainSpec
from mmstudio.gui.panels.train_run import runs_dir
from mmstudio.gui.widgets.new_experiment import NewExperimentDialog

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _run(manifest) -> RunConfig:
    model = ModelSpec(dim=16, image=ImageSpec(size=16))
    train = TrainSpec(epochs=2, batch_size=8, lr=3e-3, device="cpu", log_every_s=0.05)
    return RunConfig(DatasetSpec(str(manifest)), model, train, name="tiny")


def test_an_experiment_runs_stops_resumes_and_opens_its_best_bundle(window, qtbot, tmp_path):
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=12)
    folder = os.path.join(runs_dir(), "grid-tiny")
    engine.save_plan(folder, engine.grid_plan(_run(manifest), ("image", "audio"), ("concat",), (0,), name="tiny"))
    runs = window.train_panel.runs
    runs.set_root(runs_dir())
    row = [r["path"] for r in runs.runs].index(os.path.abspath(folder))
    assert runs.table.item(row, 1).text() == "experiment · 0/3 runs"
    assert "fusion grid · image+audio" in runs.table.item(row, 5).text()
    runs.select_paths([os.path.abspath(folder)])
    runs._on_double_clicked()
    view = runs.experiments.windows[os.path.abspath(folder)]
    assert view.isVisible() and view.progress.value() == 0

    view.start()
    qtbot.waitUntil(lambda: "image-s0: started" in view.current.text(), timeout=60000)
    t0 = time.monotonic()
    while view.running and time.monotonic() - t0 < 60:  # the window answers while it trains
        qtbot.wait(20)
        if "epoch 1" in view.current.text():
            view.stop_button.click()
            break
    qtbot.waitUntil(lambda: not view.running, timeout=60000)
    assert view.progress.value() < 3 and view.resume_button.isEnabled()

    view.resume_button.click()
    qtbot.waitUntil(lambda: not view.running, timeout=120000)
    assert view.progress.value() == 3 and not view.resume_button.isEnabled()
    assert view.table.rowCount() == 3
    assert {view.table.item(r, 1).text() for r in range(3)} == {"image", "audio", "image+audio-concat"}
    assert view.chart.names == [r.config for r in view.rows]
    assert "image+audio-concat over" in view.gain.text() and "95% CI" in view.gain.text()
    assert [r["status"] for r in runs.runs if r["path"] == os.path.abspath(folder)] == ["experiment · 3/3 runs"]

    view.table.selectRow(0)
    best = view.rows[0]
    with qtbot.waitSignal(window.train_panel.open_bundle_requested) as blocker:
        view.use_button.click()
    assert blocker.args == [best.bundle, "Evaluate"]
    assert window.stack.currentWidget() is window.evaluate_panel
    view.close()


def test_new_experiment_dialog_builds_the_engine_plan(qtbot, tmp_path):
    run = _run(tmp_path / "m.csv")
    dialog = NewExperimentDialog(run, ["image", "audio", "text"])
    qtbot.addWidget(dialog)
    dialog.modalities["text"].setChecked(False)
    for i in range(dialog.fusions.count()):
        item = dialog.fusions.item(i)
        if item.text() not in ("concat", "gated"):
            item.setCheckState(item.checkState().Unchecked)
    dialog.seeds.setValue(2)
    dialog._on_accept()
    plan = dialog.plan
    assert (plan.kind, plan.modalities, plan.fusions, plan.seeds) == (
        "grid",
        ("image", "audio"),
        ("concat", "gated"),
        (0, 1),
    )
    assert len(engine.grid_runs(plan)) == 8

    dialog.plan = None
    dialog.modalities["audio"].setChecked(False)
    dialog._on_accept()
    assert dialog.plan is None and "at least two modalities" in dialog.error.text()

    dialog.kind.setCurrentIndex(1)  # a search over the image modality alone is fine
    dialog.trials.setValue(5)
    dialog._on_accept()
    assert (dialog.plan.kind, dialog.plan.trials, dialog.plan.run.model.modalities) == ("search", 5, ("image",))

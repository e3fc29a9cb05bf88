"""Runs list, overlays, resume after a restart, learned weights curve and the Model panel's
options (layers, weights file, schedule, L1, precision, memory, fusion diagram)."""

from __future__ import annotations

import os

import pytest
from test_model_train import _load, _small_image_audio

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def window(window):
    yield window
    window.train_panel.stop_and_wait()


def _train(window, qtbot, epochs=2, fusion="concat"):
    panel = window.model_panel
    _small_image_audio(panel, epochs=epochs)
    panel.fusion.setCurrentText(fusion)
    panel.val_split.setCurrentText("test")
    train = window.train_panel
    with qtbot.waitSignal(train.run_finished, timeout=120000):
        panel.start_button.click()
    return train


def test_runs_are_listed_overlaid_and_opened(window, qtbot, tmp_path):
    _load(window, qtbot, tmp_path)
    train = _train(window, qtbot, epochs=2, fusion="weighted_sum")
    first = train.out_dir
    # weighted_sum learns one weight per modality: the weights plot shows them per epoch
    assert set(train.plots.weights) == {"image", "audio"}
    assert train.plots.weights["image"].size == 2 and train.plots.weights_plot.isVisible()
    assert "modality weights image" in train.log.toPlainText()
    train = _train(window, qtbot, epochs=2, fusion="concat")
    assert not train.plots.weights_plot.isVisible()  # concat learns no modality weights

    runs = train.runs
    listed = {r["path"]: r for r in runs.runs}
    assert first in listed and train.out_dir in listed
    assert listed[first]["status"] == "completed" and listed[first]["best_metric"] == "accuracy"
    row = [r["path"] for r in runs.runs].index(first)
    assert runs.table.item(row, 1).text() == "completed"
    assert runs.table.item(row, 4).text().startswith("accuracy ")

    # selecting the earlier run overlays its curves beside the current one
    runs.select_paths([first, train.out_dir])
    assert train.plots.overlaid == 2  # its smoothed loss and its validation accuracy
    runs.select_paths([train.out_dir])
    assert train.plots.overlaid == 0

    runs.select_paths([first])
    with qtbot.waitSignal(train.open_bundle_requested) as blocker:
        runs.query_button.click()
    assert blocker.args == [os.path.join(first, "bundle"), "Query"]
    assert window.stack.currentWidget() is window.query_panel
    assert window.query_panel.bundle_path == os.path.join(first, "bundle")


def test_a_stopped_run_is_resumable_after_a_restart(window, qtbot, tmp_path):
    from mmstudio.gui.main_window import MainWindow

    panel = _load(window, qtbot, tmp_path)
    _small_image_audio(panel, epochs=3)
    train = window.train_panel
    panel.start_button.click()
    qtbot.waitUntil(lambda: train.epochs.size >= 1, timeout=60000)
    train.stop()
    qtbot.waitUntil(lambda: not train.running, timeout=60000)
    stopped, epochs_before = train.out_dir, train.epochs.size

    again = MainWindow()  # a new window reads the runs from disk, as after a restart
    qtbot.addWidget(again)
    again.show()
    again.show_panel(2)
    runs = again.train_panel.runs
    qtbot.waitUntil(lambda: any(r["path"] == stopped for r in runs.runs), timeout=5000)
    runs.select_paths([stopped])
    assert runs.resume_button.isEnabled()
    with qtbot.waitSignal(again.train_panel.run_finished, timeout=120000):
        runs.resume_button.click()
    resumed = again.train_panel
    assert resumed.reason == "completed" and resumed.out_dir == stopped
    assert resumed.epochs.size == 3 >= epochs_before  # the earlier epochs came back from the log
    steps = list(resumed.loss.column(0))
    assert steps == sorted(set(steps)), "no step drawn twice after the resume"
    assert {r["path"]: r for r in runs.runs}[stopped]["status"] == "completed"
    # one duration in both views: the progress bar's "in m:ss" is the runs list's (every
    # session's training seconds, pauses left out)
    row = [r["path"] for r in runs.runs].index(stopped)
    qtbot.waitUntil(lambda: resumed.progress.format().endswith(" in " + runs.table.item(row, 3).text()), timeout=5000)
    resumed.stop_and_wait()


def test_model_options_reach_the_run_and_bad_ones_are_explained(window, qtbot, tmp_path):
    panel = _load(window, qtbot, tmp_path)
    panel.include["text"].setChecked(True)
    panel.encoder["text"].setCurrentText("transformer")
    assert panel.layers["text"].value() == 2, "each encoder starts at its own default depth"
    assert "layers" not in panel.config().model.text.options
    panel.encoder["text"].setCurrentText("gru")
    assert panel.layers["text"].isEnabled() and panel.layers["text"].value() == 1
    panel.layers["text"].setValue(2)
    panel.encoder["audio"].setCurrentText("mel_lstm")
    panel.layers["audio"].setValue(3)
    panel.features.setCurrentText("mfcc")
    panel.n_mels.setValue(32)
    panel.schedule.setCurrentText("constant")
    panel.l1.setValue(1e-5)
    panel.early_stopping.setValue(2)
    run = panel.config()
    assert run.model.text.options["layers"] == 2 and run.model.audio.options["layers"] == 3
    assert run.model.audio.features == "mfcc" and run.model.audio.n_mels == 32
    assert run.train.schedule == "constant" and run.train.l1 == 1e-5 and run.train.early_stopping == 2
    panel.encoder["text"].setCurrentText("bag")
    assert not panel.layers["text"].isEnabled() and "layers" not in panel.config().model.text.options

    # a weights file that is not there, and bf16 on the CPU, are explained before Start
    panel.weights.setText(str(tmp_path / "missing.safetensors"))
    assert "does not exist" in panel.problem_label.text() and not panel.start_button.isEnabled()
    panel.weights.setText("")
    panel.device.setCurrentText("cpu")
    panel.precision.setCurrentText("bf16")
    assert "for CUDA" in panel.problem_label.text() and not panel.start_button.isEnabled()
    panel.precision.setCurrentText("auto")
    assert panel.start_button.isEnabled()
    if not panel.gpu_list:
        assert not panel.auto_batch.isEnabled() and not panel.gpus.isVisible()

    # the diagram follows the fusion; the memory estimate follows the batch size
    panel.fusion.setCurrentText("late")
    assert panel.diagram.caption().startswith("Late fusion")
    panel.fusion.setCurrentText("gated")
    assert panel.diagram.caption().startswith("Mid fusion (gated)")
    qtbot.waitUntil(lambda: "memory" in panel.count_label.text(), timeout=10000)

    def mib() -> float:
        return float(panel.count_label.text().split("≈ ")[1].split(" ")[0].replace(",", ""))

    small = mib()
    panel.batch.setValue(panel.batch.value() * 8)
    qtbot.waitUntil(lambda: mib() > small, timeout=10000)


@pytest.mark.slow
def test_several_processes_train_through_torchrun_into_the_same_curves(window, qtbot, tmp_path):
    """What "GPUs: 2" does, on the CPU (gloo): a torchrun child whose events draw the curves."""
    panel = _load(window, qtbot, tmp_path)
    _small_image_audio(panel, epochs=2)
    panel.val_split.setCurrentText("test")
    train = window.train_panel
    window.show_panel(2)
    with qtbot.waitSignal(train.run_finished, timeout=180000) as blocker:
        train.start(panel.config(), None, nproc=2)
        assert not train.pause_button.isEnabled()
    assert train.reason == "completed" and os.path.isfile(os.path.join(blocker.args[0], "bundle.json"))
    assert train.loss.size >= 2 and train.epochs.size == 2
    started = [e for e in train.events if type(e).__name__ == "RunStarted"][0]
    assert started.out_dir == os.path.abspath(train.out_dir)
    assert {r["path"]: r for r in train.runs.runs}[train.out_dir]["status"] == "completed"
    train.nproc = 1


def test_smoothed_loss_is_kept_as_points_arrive_and_survives_a_resume_overlap(qtbot):
    import numpy as np

    from mmstudio.gui.widgets.train_plots import TrainPlots, ema

    plots = TrainPlots()
    qtbot.addWidget(plots)
    values = np.random.default_rng(0).random(60)
    for step, v in enumerate(values, start=1):
        plots.add_step(step, float(v), 0.1)
    assert np.allclose(plots.loss.column(2), ema(values))
    for step, v in enumerate(values[40:], start=41):  # a resumed run logs steps 41.. again
        plots.add_step(step, float(v), 0.1)
    assert list(plots.loss.column(0)) == list(range(1, 61))
    assert np.allclose(plots.loss.column(2), ema(values))


def test_a_project_keeps_its_runs_even_after_they_move(window, qtbot, tmp_path):
    import shutil

    from mmstudio.gui.main_window import MainWindow

    _load(window, qtbot, tmp_path)
    train = _train(window, qtbot, epochs=1)
    project = window.projects.capture()
    assert project.runs == [train.out_dir]

    moved = tmp_path / "elsewhere" / "my-run"  # runs outside the runs folder are listed too
    shutil.copytree(train.out_dir, moved)
    again = MainWindow()
    qtbot.addWidget(again)
    again.projects.apply(project.__class__(**{**project.__dict__, "runs": [str(moved)]}))
    again.show_panel(2)
    runs = again.train_panel.runs
    assert str(moved) in [r["path"] for r in runs.runs]
    runs.project_only.setChecked(True)
    assert [r["path"] for r in runs.runs] == [str(moved)]
    assert runs.runs[0]["status"] == "completed" and runs.runs[0]["bundle"]

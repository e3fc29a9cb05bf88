"""Model and Train panels: build a small image+audio model, train it, pause, resume, stop."""

from __future__ import annotations

import os

import pytest
from gui_helpers import drop_and_wait
from synth import make_triplet_dataset

from mmstudio.config import RunConfig

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def window(window):
    """The shared window, with any run still training stopped before it closes."""
    yield window
    window.train_panel.stop_and_wait()


DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "demo", "digits", "manifest.csv")


def _load(window, qtbot, tmp_path, demo=False):
    """Drop a dataset (the bundled digits demo, or a small synthetic one) and open the Model panel."""
    manifest = os.path.abspath(DEMO) if demo else make_triplet_dataset(tmp_path / "data", classes=3, per_class=8)
    drop_and_wait(qtbot, window, window.data_panel, [manifest])
    panel = window.model_panel
    window.show_panel(1)
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=60000)
    return panel


def _small_image_audio(panel, epochs=2):
    panel.include["text"].setChecked(False)
    panel.include["image"].setChecked(True)
    panel.include["audio"].setChecked(True)
    panel.option["image"].setValue(16)
    panel.option["audio"].setValue(0.5)
    panel.dim.setValue(16)
    panel.epochs.setValue(epochs)
    panel.batch.setValue(4)
    panel.device.setCurrentText("cpu")


def test_build_train_pause_resume(window, qtbot, tmp_path):
    panel = _load(window, qtbot, tmp_path, demo=True)
    _small_image_audio(panel)
    panel.batch.setValue(32)
    run = panel.config()
    assert run.model.modalities == ("image", "audio")
    assert run.train.epochs == 2 and run.model.dim == 16
    qtbot.waitUntil(
        lambda: panel.count_label.text().startswith("Parameters: 0.") or "M" in panel.count_label.text(), timeout=10000
    )

    # combinations that cannot work are explained and block Start
    panel.task.setCurrentText("align")
    panel.include["audio"].setChecked(False)
    assert not panel.start_button.isEnabled()
    assert "align" in panel.problem_label.text()
    panel.include["image"].setChecked(False)
    assert "at least one modality" in panel.problem_label.text()
    panel.include["image"].setChecked(True)
    panel.include["audio"].setChecked(True)
    panel.task.setCurrentText("classify")
    assert panel.start_button.isEnabled()

    # the run saves and loads as run.toml
    path = str(tmp_path / "run.toml")
    panel.save_config(path)
    assert RunConfig.load(path).model.modalities == ("image", "audio")
    panel.epochs.setValue(7)
    panel.load_config(path)
    assert panel.epochs.value() == 2

    train = window.train_panel
    panel.start_button.click()
    assert window.stack.currentWidget() is train
    train.pause()  # acts at the first step
    qtbot.waitUntil(lambda: train._state == "paused", timeout=60000)
    assert train.resume_button.isEnabled()
    train.resume_button.click()
    qtbot.waitUntil(lambda: train._state == "running", timeout=10000)
    with qtbot.waitSignal(train.run_finished, timeout=60000) as blocker:
        pass
    bundle = blocker.args[0]
    assert train.reason == "completed"
    assert os.path.isfile(os.path.join(bundle, "bundle.json"))
    assert bundle.startswith(os.environ["MMSTUDIO_HOME"])
    assert train.loss.size >= 2 and train.epochs.size == 2
    assert len(train.plots.loss_raw.getData()[0]) == train.loss.size
    assert len(train.plots.epoch_loss_curve.getData()[0]) == 2
    assert "epoch 2" in train.log.toPlainText()


def test_stop_mid_epoch_keeps_checkpoint_and_resumes(window, qtbot, tmp_path):
    panel = _load(window, qtbot, tmp_path, demo=True)
    _small_image_audio(panel, epochs=3)
    panel.batch.setValue(16)
    train = window.train_panel
    panel.start_button.click()

    def in_epoch_two() -> bool:
        return any(type(e).__name__ == "StepLogged" and e.epoch == 2 for e in train.events)

    qtbot.waitUntil(in_epoch_two, timeout=120000)
    train.stop_button.click()  # mid-epoch 2: epoch 1's checkpoint is what is kept
    qtbot.waitUntil(lambda: not train.running, timeout=60000)
    assert train.reason == "stopped"
    assert os.path.isdir(os.path.join(train.out_dir, "checkpoints", "last"))
    finished = [e for e in train.events if type(e).__name__ == "RunFinished"][-1]
    steps = [e.step for e in train.events if type(e).__name__ == "StepLogged"]
    # epoch 2 was cut short: one whole epoch is done, and every step taken is in the checkpoint
    assert finished.reason == "stopped" and finished.epochs == 1 and finished.steps >= steps[-1]
    assert train.resume_button.isEnabled()
    with qtbot.waitSignal(train.run_finished, timeout=60000):
        train.resume_button.click()
    assert train.reason == "completed"
    assert train.epochs.size == 3  # resumed epochs extend the same curves


def test_closing_during_a_run_asks_then_stops(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    panel = _load(window, qtbot, tmp_path)
    _small_image_audio(panel, epochs=50)
    train = window.train_panel
    panel.start_button.click()
    qtbot.waitUntil(lambda: train.loss.size >= 1, timeout=60000)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    window.close()
    assert asked and window.isVisible() and train.running  # "No" keeps training
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.close()
    assert not train.running and train.reason == "stopped"
    assert os.path.isdir(os.path.join(train.out_dir, "checkpoints", "last"))


def test_a_failing_run_shows_advice_not_a_crash(window, qtbot, tmp_path):
    from mmstudio.config import DatasetSpec

    panel = _load(window, qtbot, tmp_path)
    _small_image_audio(panel)
    run = panel.config().replace(dataset=DatasetSpec(str(tmp_path / "gone")))
    train = window.train_panel
    train.start(run, dataset=None)
    qtbot.waitUntil(lambda: not train.running, timeout=60000)
    assert train.reason == "failed" and not train.error_label.isHidden()
    assert "Training failed" in train.error_label.text()
    assert train.start_button.isEnabled()


def test_presets_change_the_model_and_the_count(window, qtbot, tmp_path):
    panel = _load(window, qtbot, tmp_path)
    qtbot.waitUntil(lambda: "M" in panel.count_label.text(), timeout=10000)
    panel.apply_preset("accurate")
    run = panel.config()
    # on CUDA it picks the GPU; without one it stays on "auto" rather than a device that fails
    assert run.model.image.encoder == "resnet18"
    assert run.train.device == ("cuda" if panel.gpu_list else "auto")
    qtbot.waitUntil(lambda: panel.parameters > 10_000_000, timeout=10000)
    panel.apply_preset("quick")
    run = panel.config()
    assert run.model.image.encoder == "cnn" and run.train.device == "cpu"
    qtbot.waitUntil(lambda: panel.parameters < 5_000_000, timeout=10000)

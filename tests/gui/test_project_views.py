"""What a view shows belongs to the project, dataset and run named on it (issue 15's new-user
review): a project's saved model settings go back only on the dataset they were saved with, and
the explanation says whose settings they are; File ▸ New leaves no axis, waveform or picture of
the previous project; a reopened project's Train panel points at its runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from synth import make_triplet_dataset

from mmstudio import engine
from mmstudio.config import DatasetSpec, RunConfig
from mmstudio.data import open_dataset
from mmstudio.gui import projects as projects_module
from mmstudio.project import Project, save_project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _dataset(root: Path, keep: tuple[str, ...]) -> Path:
    """A small labelled dataset with only the ``keep`` modalities (its manifest's other columns dropped)."""
    manifest = make_triplet_dataset(root, classes=2, per_class=6)
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fields = ["id", "label", *keep, "split"]
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def _new_window(qtbot):
    from mmstudio.gui.app import create_application
    from mmstudio.gui.main_window import MainWindow

    create_application()

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _open_dataset(qtbot, win, path):
    with qtbot.waitSignal(win.data_panel.dataset_loaded, timeout=30000) as blocker:
        win.open_paths([str(path)])
    return blocker.args[0]


def _model_ready(qtbot, win):
    """The Model panel on screen with a run for the loaded dataset (the project's saved one, if any, applied)."""
    win.show_panel(1)
    qtbot.waitUntil(
        lambda: (
            win.model_panel.config() is not None
            and win.model_panel.presets.load_button.isEnabled()
            and not win.model_panel._loading
            and not win.model_panel._pending
            and win.projects._pending_run is None
        ),
        timeout=60000,
    )
    return win.model_panel


def _save_project(monkeypatch, qtbot, tmp_path, audio_text: Path, panel_shown: int) -> Path:
    """A saved project on a speech+text dataset whose model settings differ from the suggestion."""
    win = _new_window(qtbot)
    _open_dataset(qtbot, win, audio_text)
    model = _model_ready(qtbot, win)
    model.epochs.setValue(model.epochs.value() + 5)
    model.batch.setValue(model.batch.value() + 16)
    win.show_panel(panel_shown)
    path = tmp_path / "speech.mmstudio"
    monkeypatch.setattr(projects_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    assert win.projects.save_as()
    win.close()
    return path


def _assert_fresh_suggestion(model, image_text: Path) -> None:
    """The controls hold the engine's suggestion for ``image_text`` and the explanation says so."""
    fresh, _chosen = engine.suggest_settings(open_dataset(DatasetSpec(path=str(image_text))))
    run = model.config()
    assert model.include["image"].isChecked() and not model.include["audio"].isChecked()
    assert run.model.task == fresh.model.task
    assert (run.train.epochs, run.train.batch_size) == (fresh.train.epochs, fresh.train.batch_size)
    assert run.dataset.path == str(image_text)
    assert model.problems() == [] and model.start_button.isEnabled()
    assert "Chosen from your data" in model.auto_label.text()


def test_a_dataset_opened_in_a_reopened_project_gets_its_own_settings(qtbot, tmp_path, monkeypatch):
    audio_text = _dataset(tmp_path / "speech", ("audio", "text"))
    image_text = _dataset(tmp_path / "pictures", ("image", "text"))
    project = _save_project(monkeypatch, qtbot, tmp_path, audio_text, panel_shown=0)  # saved on the Data panel

    win = _new_window(qtbot)
    with qtbot.waitSignal(win.data_panel.dataset_loaded, timeout=30000):
        assert win.projects.open(str(project))
    assert win.built_panel("Model") is None  # the saved run still waits for its dataset's suggestion
    _open_dataset(qtbot, win, image_text)  # File ▸ Open Dataset, before the Model panel was ever shown
    model = _model_ready(qtbot, win)
    _assert_fresh_suggestion(model, image_text)
    assert win.projects.capture().run_configs[0].dataset.path == str(image_text)
    win.close()


def test_a_reopened_project_says_its_settings_are_the_saved_ones_until_another_dataset(qtbot, tmp_path, monkeypatch):
    audio_text = _dataset(tmp_path / "speech", ("audio", "text"))
    image_text = _dataset(tmp_path / "pictures", ("image", "text"))
    project = _save_project(monkeypatch, qtbot, tmp_path, audio_text, panel_shown=1)  # saved on the Model panel
    suggested, _chosen = engine.suggest_settings(open_dataset(DatasetSpec(path=str(audio_text))))

    win = _new_window(qtbot)
    with qtbot.waitSignal(win.data_panel.dataset_loaded, timeout=30000):
        assert win.projects.open(str(project))
    model = _model_ready(qtbot, win)
    assert model.epochs.value() == suggested.train.epochs + 5  # the project's settings, not the suggestion
    assert model.batch.value() == suggested.train.batch_size + 16
    text = model.auto_label.text()
    assert "project's saved model settings" in text and "Chosen from your data" not in text
    assert not win.projects.is_dirty()

    _open_dataset(qtbot, win, image_text)  # the Model panel was built and showed the saved run
    _assert_fresh_suggestion(_model_ready(qtbot, win), image_text)
    win.close()


def _fake_curves(steps: int = 45, epochs: int = 6) -> dict:
    """Curves as ``engine.read_curves`` gives them: a run of ``steps`` steps over ``epochs`` epochs."""
    e = list(range(1, epochs + 1))
    return {
        "step": list(range(1, steps + 1)),
        "loss": [2.0 / s for s in range(1, steps + 1)],
        "lr": [1e-3 * (1 - s / (steps + 1)) for s in range(1, steps + 1)],
        "epoch": e,
        "train_loss": [1.0 / k for k in e],
        "metric": [0.5 + k / 20 for k in e],
        "val_loss": [1.2 / k for k in e],
        "weights": [{"image": 0.4, "text": 0.6} for _ in e],
        "metric_name": "accuracy",
    }


def test_new_project_leaves_no_axes_of_the_last_run(qtbot, window):
    window.show_panel(2)
    train = window.built_panel("Train")
    plots = train.plots
    shown = (plots.loss_plot, plots.metric_plot, plots.lr_plot)
    plots.load(_fake_curves())
    plots.redraw()
    qtbot.waitUntil(lambda: plots.loss_plot.viewRange()[0][1] >= 45 and plots.metric_plot.viewRange()[0][1] >= 6)
    window.projects.new()
    assert train.progress.format() == "No run yet"
    for plot in shown:
        (x0, x1), (y0, y1) = plot.viewRange()
        assert (x0, x1, y0, y1) == pytest.approx((0, 1, 0, 1)), plot.getPlotItem().titleLabel.text
    window.show_panel(2)  # New went to the welcome page
    plots.load(_fake_curves(steps=10, epochs=2))  # the next run's points fit again
    plots.redraw()
    qtbot.waitUntil(lambda: 10 <= plots.loss_plot.viewRange()[0][1] < 12)


def test_new_project_leaves_no_waveform_picture_or_text(qtbot, window, tmp_path):
    _open_dataset(qtbot, window, make_triplet_dataset(tmp_path / "data", classes=2, per_class=3))
    panel = window.data_panel
    qtbot.waitUntil(lambda: panel.current_item() is not None)
    qtbot.waitUntil(lambda: not panel.audio_view.is_empty(), timeout=10000)
    assert panel.text_view.toPlainText()
    window.projects.new()
    audio = panel.audio_view
    assert audio.is_empty() and audio.path is None and not audio.play_button.isEnabled()
    assert audio.wave_plot.viewRange()[0] == pytest.approx([0, 1])
    assert audio.spec_plot.viewRange() == [pytest.approx([0, 1]), pytest.approx([0, 1])]
    assert panel.image_label.pixmap().isNull() and panel.text_view.toPlainText() == ""


def _project_with_runs(tmp_path: Path, n: int) -> Path:
    """A saved project listing ``n`` run folders (each with its run.toml)."""
    manifest = make_triplet_dataset(tmp_path / "data", classes=2, per_class=3)
    spec = DatasetSpec(path=str(manifest))
    runs = []
    for i in range(n):
        folder = tmp_path / "runs" / f"20261202-04000{i}-demo"
        folder.mkdir(parents=True)
        RunConfig(dataset=spec).save(str(folder / "run.toml"))
        runs.append(str(folder))
    path = tmp_path / "with-runs.mmstudio"
    save_project(Project(datasets=[spec], runs=runs), str(path))
    return path


def test_a_reopened_project_with_runs_points_at_them(qtbot, window, tmp_path):
    project = _project_with_runs(tmp_path, 2)
    window.show_panel(2)  # the Train panel is already built when the project opens
    train = window.built_panel("Train")
    assert train.progress.format() == "No run yet"
    with qtbot.waitSignal(window.data_panel.dataset_loaded, timeout=30000):
        assert window.projects.open(str(project))
    assert train.progress.format() == "2 runs in this project: select one in the list to see its curves"
    window.projects.new()
    assert train.progress.format() == "No run yet"


def test_a_project_with_runs_opened_before_the_train_panel_points_at_them(qtbot, window, tmp_path):
    project = _project_with_runs(tmp_path, 1)
    with qtbot.waitSignal(window.data_panel.dataset_loaded, timeout=30000):
        assert window.projects.open(str(project))
    window.show_panel(2)
    text = window.built_panel("Train").progress.format()
    assert text == "1 run in this project: select one in the list to see its curves"

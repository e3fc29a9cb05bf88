"""Projects in the window: save, close, reopen restores exactly; moved data is asked for; recent
projects; and a real app killed with SIGKILL offers its last autosave at the next start."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from synth import make_triplet_dataset

from mmstudio.gui import projects as projects_module
from mmstudio.project import load_project

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _new_window(qtbot):
    from mmstudio.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def drop_and_wait(qtbot, win, _target, paths):
    """Open a dataset as a drop does (File > Open takes the same path), and wait for it."""
    with qtbot.waitSignal(win.data_panel.dataset_loaded, timeout=30000) as blocker:
        win.open_paths([str(p) for p in paths])
    return blocker.args[0]


def _model_ready(qtbot, win):
    win.show_panel(1)
    qtbot.waitUntil(
        lambda: win.model_panel.start_button.isEnabled() and win.projects._pending_run is None, timeout=60000
    )


def _save_as(monkeypatch, win, path):
    monkeypatch.setattr(projects_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    assert win.projects.save_as()


def test_save_close_reopen_restores_the_project_exactly(qtbot, window, tmp_path, monkeypatch):
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=6)
    drop_and_wait(qtbot, window, window.data_panel, [manifest])
    window.data_panel.seed_spin.setValue(3)
    window.data_panel.ratio_spins[0].setValue(0.6)
    window.data_panel.ratio_spins[2].setValue(0.3)
    with qtbot.waitSignal(window.data_panel.dataset_loaded, timeout=30000):
        window.data_panel.rescan()
    _model_ready(qtbot, window)
    window.model_panel.epochs.setValue(7)
    window.model_panel.include["text"].setChecked(False)
    (tmp_path / "some-bundle").mkdir()
    window.open_bundle(str(tmp_path / "some-bundle"), switch=False)
    before = window.projects.capture()
    assert before.run_configs[0].train.epochs == 7 and before.datasets[0].split.seed == 3
    path = tmp_path / "proj" / "work.mmstudio"
    path.parent.mkdir()
    _save_as(monkeypatch, window, path)
    assert not window.projects.is_dirty()
    assert window.windowTitle().startswith("work.mmstudio")
    assert window.projects.capture() == before.__class__(**{**vars(before), "name": "work"})
    before = window.projects.capture()
    window.close()

    again = _new_window(qtbot)
    with qtbot.waitSignal(again.data_panel.dataset_loaded, timeout=30000):
        assert again.projects.open(str(path))
    assert again.current_panel_name() == "Model"
    qtbot.waitUntil(
        lambda: again.model_panel.start_button.isEnabled() and again.projects._pending_run is None, timeout=60000
    )
    after = again.projects.capture()
    assert after == before
    assert again.data_panel.seed_spin.value() == 3 and again.model_panel.epochs.value() == 7
    assert not again.model_panel.include["text"].isChecked()
    assert not again.projects.is_dirty()
    again.model_panel.epochs.setValue(9)
    assert again.projects.is_dirty()
    assert again.projects.recent()[0] == str(path)
    monkeypatch.setattr(
        projects_module.QMessageBox, "question", lambda *a, **k: projects_module.QMessageBox.StandardButton.Discard
    )
    again.close()


def test_opening_a_project_whose_data_moved_asks_where_it_went(qtbot, window, tmp_path, monkeypatch):
    manifest = make_triplet_dataset(tmp_path / "old" / "data", classes=2, per_class=4)
    drop_and_wait(qtbot, window, window.data_panel, [manifest])
    path = tmp_path / "p.mmstudio"
    _save_as(monkeypatch, window, path)
    shutil.move(str(tmp_path / "old"), str(tmp_path / "new"))
    moved = tmp_path / "new" / "data" / manifest.name
    asked = []

    def answer(_parent, title, *_args, **_kwargs):
        asked.append(title)
        return str(moved), ""

    monkeypatch.setattr(projects_module.QFileDialog, "getOpenFileName", answer)
    again = _new_window(qtbot)
    with qtbot.waitSignal(again.data_panel.dataset_loaded, timeout=30000) as blocker:
        again.projects.open(str(path))
    assert len(asked) == 1 and manifest.name in asked[0] and str(manifest) in asked[0]
    assert blocker.args[0].spec.path == str(moved)


def test_an_unreadable_project_is_reported_and_nothing_changes(qtbot, window, tmp_path, monkeypatch):
    bad = tmp_path / "bad.mmstudio"
    bad.write_text("{oops")
    warned = []
    monkeypatch.setattr(projects_module.QMessageBox, "warning", lambda _p, title, text: warned.append(text))
    assert not window.projects.open(str(bad))
    assert str(bad) in warned[0] and "bad JSON" in warned[0]
    assert window.projects.path == ""


def test_autosave_writes_only_when_something_changed(qtbot, window, tmp_path):
    window.projects.start_session()
    try:
        assert window.projects.autosave()  # the first state
        assert not window.projects.autosave()  # nothing changed
        manifest = make_triplet_dataset(tmp_path / "d", classes=2, per_class=3)
        drop_and_wait(qtbot, window, window.data_panel, [manifest])
        assert window.projects.autosave()
        assert load_project(window.projects.recovery_path).datasets[0].path == str(manifest)
    finally:
        window.projects.end_session()
    assert not os.path.exists(window.projects.recovery_path)  # a clean exit leaves nothing to recover


def test_kill_9_during_editing_offers_the_last_autosave(qtbot, tmp_path, monkeypatch):
    manifest = make_triplet_dataset(tmp_path / "data", classes=2, per_class=4)
    state = tmp_path / "state"
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(state),
        "MMSTUDIO_AUTOSAVE_MS": "300",
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmstudio", str(manifest)],
        env=env,
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sessions = state / "mmstudio" / "sessions"
    recovery = sessions / f"{proc.pid}.mmstudio"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if recovery.is_file() and str(manifest) in recovery.read_text():
                break
            assert proc.poll() is None, "the app exited by itself"
            time.sleep(0.2)
        else:
            pytest.fail("no autosave holding the dataset within 60 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert (sessions / f"{proc.pid}.lock").exists()  # left behind: the session did not exit cleanly

    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    asked = []
    monkeypatch.setattr(
        projects_module.QMessageBox,
        "question",
        lambda _p, title, text, *a: asked.append(text) or projects_module.QMessageBox.StandardButton.Yes,
    )
    win = _new_window(qtbot)
    win.projects.start_session()
    try:
        assert win.projects.crashed_sessions() == [str(recovery)]
        with qtbot.waitSignal(win.data_panel.dataset_loaded, timeout=30000) as blocker:
            assert win.projects.offer_recovery()
        assert "did not close cleanly" in asked[0] and manifest.name in asked[0]
        assert blocker.args[0].spec.path == str(manifest)
        assert not recovery.exists()  # offered once
        assert win.projects.crashed_sessions() == []
    finally:
        win.projects.end_session()

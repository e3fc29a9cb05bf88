"""Torch work never runs on the GUI thread (the Model panel's estimates, indexing, queries,
evaluation), and the demo runs without writing into the installation's resources."""

from __future__ import annotations

import os
import threading

import pytest
from eval_helpers import train_synth_bundle
from gui_helpers import drop_and_wait
from synth import make_triplet_dataset

from mmstudio.gui.paths import DEMO_BUNDLE, DEMO_DATASET, RESOURCES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_synth_bundle(tmp_path_factory.mktemp("threads"), epochs=1)


@pytest.fixture
def torch_on_gui_thread(monkeypatch):
    """Every torch module built or called on the main (GUI) thread, by class name."""
    import torch

    seen: list[str] = []
    real_call, real_init = torch.nn.Module.__call__, torch.nn.Module.__init__

    def on_main(what: str, module) -> None:
        if threading.current_thread() is threading.main_thread():
            seen.append(f"{what} {type(module).__name__}")

    def spy_call(self, *args, **kwargs):
        on_main("called", self)
        return real_call(self, *args, **kwargs)

    def spy_init(self, *args, **kwargs):
        on_main("built", self)
        return real_init(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "__call__", spy_call)
    monkeypatch.setattr(torch.nn.Module, "__init__", spy_init)
    return seen


def test_estimates_indexing_queries_and_evaluation_run_off_the_gui_thread(
    qtbot, window, trained, torch_on_gui_thread, tmp_path
):
    bundle, dataset = trained
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=6)
    # the Model panel: a suggested first run, then its parameter estimate (a meta model)
    drop_and_wait(qtbot, window, window.data_panel, [manifest])
    with qtbot.waitSignal(window.model_panel.suggested, timeout=120000):
        window.show_panel(1)  # the Model panel suggests once shown
    qtbot.waitUntil(lambda: window.model_panel.parameters > 0, timeout=60000)
    # Query: load the bundle, index the collection, ask
    window.open_bundle(bundle)
    with qtbot.waitSignal(window.query_panel.ready, timeout=120000):
        window.query_panel.set_dataset(dataset)
    with qtbot.waitSignal(window.query_panel.results_ready, timeout=60000):
        window.query_panel.inputs.set_text("one")
    # Evaluate
    window.evaluate_panel.set_dataset(dataset)
    with qtbot.waitSignal(window.evaluate_panel.report_ready, timeout=120000):
        assert window.evaluate_panel.evaluate()
    assert torch_on_gui_thread == []


def _snapshot(folder) -> dict[str, tuple[int, int]]:
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            st = os.stat(path)
            out[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns)
    return out


def test_the_demo_after_another_dataset_indexes_only_the_demo_and_writes_no_resource(qtbot, window, tmp_path):
    """A second "Try the demo" once indexed the previous dataset with the demo model first."""
    before = _snapshot(RESOURCES)
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=6)
    drop_and_wait(qtbot, window, window.data_panel, [manifest])
    panel = window.query_panel
    prepared = []
    real_index = panel._asker.index

    def spy_index(dataset, rebuild=False, progress=None):
        prepared.append((panel._asker.bundle, str(dataset.spec.path)))
        return real_index(dataset, rebuild, progress=progress)

    panel._asker.index = spy_index
    window.show_panel(4)
    with qtbot.waitSignal(panel.results_ready, timeout=120000) as blocker:
        window.open_demo("digits")
    assert prepared == [(str(DEMO_BUNDLE), str(DEMO_DATASET))]
    labels = [r["label"] for r in blocker.args[0]["results"]]
    assert labels.count("7") >= 9, labels  # the demo model answers its first question, "seven"
    assert _snapshot(RESOURCES) == before


def test_a_finished_training_run_is_evaluated_once_and_opening_evaluate_runs_nothing(qtbot, window, trained):
    bundle, dataset = trained
    panel = window.evaluate_panel
    panel.set_dataset(dataset)
    reports = []
    panel.report_ready.connect(reports.append)
    with qtbot.waitSignal(panel.report_ready, timeout=120000):
        window.train_panel.run_finished.emit(os.path.dirname(bundle))  # the run folder
    assert panel.bundle_path == bundle and reports[0]["split"] == "test"
    window.show_panel(3)
    qtbot.wait(200)
    assert not panel.lane.busy and len(reports) == 1

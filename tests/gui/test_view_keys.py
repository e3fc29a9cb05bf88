"""One rule for every view: it shows results only for the (model, dataset, split) named on it.

The work in flight is made slow with gates (``threading.Event``), not timers, so each test
decides when an old key's late result arrives: after the key changed. Then the view must show
nothing of it.
"""

from __future__ import annotations

import threading

import pytest
from synth import make_triplet_dataset

from mmstudio.gui.jobs import Cancelled, Lane, ViewKey

GATE_S = 30.0


class Gate:
    """A job that waits until the test opens it; ``entered`` says it started."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def wait(self) -> None:
        self.entered.set()
        assert self.opened.wait(GATE_S), "the test never opened the gate"

    def open(self) -> None:
        self.opened.set()


# ---------------------------------------------------------------- the lane itself


def test_a_late_result_of_an_old_key_is_dropped(qtbot):
    lane = Lane()
    gate, got = Gate(), []
    old, new = ViewKey("a", "d", "test"), ViewKey("b", "d", "test")
    lane.set_view(old)
    token = lane.submit(lambda: (gate.wait(), "old")[1], view=old, on_done=got.append)
    assert gate.entered.wait(GATE_S)
    lane.set_view(new)
    assert token.cancelled  # the running job of the old key is cancelled
    lane.submit(lambda: "new", view=new, on_done=got.append)
    gate.open()
    qtbot.waitUntil(lambda: not lane.busy, timeout=10000)
    assert got == ["new"]
    lane.close()


def test_cancel_stops_a_job_at_its_next_progress_report(qtbot):
    lane = Lane()
    gate, reached, got, errors = Gate(), [], [], []

    def work(progress):
        for i in range(10):
            if i == 1:
                gate.wait()
            progress(i / 10, f"step {i}")
            reached.append(i)
        return "finished"

    lane.submit(work, with_progress=True, on_done=got.append, on_error=errors.append)
    assert gate.entered.wait(GATE_S)
    lane.cancel()
    gate.open()
    qtbot.waitUntil(lambda: not lane.busy, timeout=10000)
    assert reached == [0] and got == [] and errors == []  # stopped at step 1; nothing delivered
    lane.close()


def test_a_queued_job_of_the_same_slot_is_replaced_and_jobs_run_off_the_gui_thread(qtbot):
    lane = Lane(name="test-lane")
    gate, threads, got = Gate(), [], []
    lane.submit(gate.wait)
    lane.submit(lambda: got.append("first"), slot="query")
    lane.submit(lambda: (got.append("second"), threads.append(threading.current_thread().name)), slot="query")
    gate.open()
    qtbot.waitUntil(lambda: not lane.busy, timeout=10000)
    assert got == ["second"] and threads == ["test-lane"]
    lane.close()


def test_the_key_names_model_dataset_and_split():
    key = ViewKey("/runs/run-3/bundle", "/data/digits", "test")
    assert "run-3/bundle" in key.describe() and "digits" in key.describe() and "test" in key.describe()
    assert ViewKey("m", "d", "test", 1) != ViewKey("m", "d", "test", 2)  # a re-scan is another key
    with pytest.raises(Cancelled):
        from mmstudio.gui.jobs import Token

        t = Token()
        t.cancel()
        t.check()


# ---------------------------------------------------------------- the Data panel


@pytest.fixture
def two_datasets(tmp_path):
    a = make_triplet_dataset(tmp_path / "first", classes=2, per_class=4)
    b = make_triplet_dataset(tmp_path / "second", classes=3, per_class=4)
    return a, b


def test_data_panel_clears_the_previous_dataset_while_another_loads(qtbot, window, two_datasets, monkeypatch):
    from mmstudio.gui.panels import data_panel as module

    first, second = two_datasets
    panel = window.data_panel
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000):
        panel.open_path(str(first))
    qtbot.waitUntil(lambda: panel.audio_view.path is not None, timeout=10000)
    gate, real = Gate(), module.open_dataset

    def slow_open(spec, progress=None):
        gate.wait()
        return real(spec, progress=progress)

    monkeypatch.setattr(module, "open_dataset", slow_open)
    panel.open_path(str(second))
    assert gate.entered.wait(GATE_S)
    # at once, while the second is read: nothing of the first on screen, nor in Evaluate/Query
    assert panel.dataset is None and panel.model.rowCount() == 0
    assert panel.audio_view.path is None and panel.class_chart.values == {}
    assert window.evaluate_panel.dataset is None and window.query_panel.collection is None
    assert panel.progress.isVisible() and panel.progress.cancel_button.isVisible()
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000) as blocker:
        gate.open()
    assert str(blocker.args[0].spec.path) == str(second)
    assert panel.model.rowCount() == 12 and not panel.progress.isVisible()


def test_data_panel_drops_the_late_result_of_an_earlier_scan(qtbot, window, two_datasets, monkeypatch):
    from mmstudio.gui.panels import data_panel as module

    first, second = two_datasets
    panel = window.data_panel
    gate, real = Gate(), module.open_dataset

    def open_first_slowly(spec, progress=None):
        if str(first.parent) in str(spec.path):
            gate.wait()
        return real(spec, progress=progress)

    monkeypatch.setattr(module, "open_dataset", open_first_slowly)
    loaded = []
    panel.dataset_loaded.connect(loaded.append)
    panel.open_path(str(first))
    assert gate.entered.wait(GATE_S)
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000):
        panel.open_path(str(second))
    gate.open()
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    assert QThreadPool.globalInstance().waitForDone(30000)  # the first scan has ended...
    for _ in range(3):
        QApplication.processEvents()  # ...and its queued result was delivered: and dropped
    assert [str(d.spec.path) for d in loaded] == [str(second)]
    assert str(panel.dataset.spec.path) == str(second)

"""Evaluate and Query keep to their key while work is in flight (gated, not timed): switching
model or dataset clears what was shown, cancels the old work, and drops its late results;
Evaluate never starts by itself; Cancel and Stop work."""

from __future__ import annotations

import pytest
from eval_helpers import train_synth_bundle
from test_view_keys import Gate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_synth_bundle(tmp_path_factory.mktemp("keys"), epochs=1)


@pytest.fixture(scope="module")
def real_report(trained):
    from mmstudio import engine

    bundle, dataset = trained
    return engine.evaluation_report(bundle, dataset, split="test")


# ---------------------------------------------------------------- Evaluate


@pytest.fixture
def evaluate(qtbot, trained, real_report, monkeypatch):
    """The panel over the trained bundle, with a gated evaluation that marks its report with
    the bundle it was asked for; ``gates`` are opened by the test, one per evaluation."""
    from mmstudio import engine
    from mmstudio.gui.app import create_application
    from mmstudio.gui.panels.evaluate_panel import EvaluatePanel

    create_application()
    gates = [Gate() for _ in range(4)]  # made beforehand: the test may look before a job starts
    calls: list[str] = []

    def gated_report(bundle, data, split="test", progress=None):
        gate = gates[len(calls)]
        calls.append(bundle)
        progress(0.1, "Decoding image: 1/12")
        gate.wait()
        progress(0.9, "Running the model")
        return dict(real_report, asked_bundle=bundle, asked_split=split)

    monkeypatch.setattr(engine, "evaluation_report", gated_report, raising=False)
    bundle, dataset = trained
    panel = EvaluatePanel()
    qtbot.addWidget(panel)
    panel.set_dataset(dataset)
    panel.set_bundle(bundle)
    panel.resize(1280, 820)
    panel.show()
    qtbot.waitExposed(panel)
    panel.gates, panel.calls = gates, calls
    yield panel
    for gate in gates:
        gate.open()
    panel.shutdown()


def test_evaluate_does_not_start_by_itself(qtbot, evaluate):
    qtbot.wait(100)
    evaluate.set_bundle(evaluate.bundle_path + "/")  # another model: still nothing by itself
    evaluate.hide()
    evaluate.show()
    qtbot.wait(100)
    assert evaluate.calls == [] and not evaluate.lane.busy and evaluate.report is None
    assert evaluate.evaluate_button.isEnabled() and "Press <b>Evaluate</b>" in evaluate.idle_label.text()


def test_switching_model_while_evaluating_drops_the_old_report(qtbot, evaluate, trained):
    bundle, _ = trained
    shown = []
    evaluate.report_ready.connect(shown.append)
    assert evaluate.evaluate()
    assert evaluate.gates[0].entered.wait(30)
    qtbot.waitUntil(lambda: evaluate.progress.percent == 10, timeout=5000)
    assert "1/12" in evaluate.progress.label.text()
    other = bundle.rstrip("/") + "/../" + bundle.rstrip("/").split("/")[-1]  # the same files, another key
    evaluate.set_bundle(other)
    assert not evaluate.progress.isVisible() and evaluate.report is None and evaluate.pages.currentIndex() == 0
    assert other.split("/")[-1] in evaluate.key_label.text()
    evaluate.gates[0].open()
    qtbot.waitUntil(lambda: not evaluate.lane.busy, timeout=10000)
    assert shown == [] and evaluate.report is None  # the old model's late report never shows
    assert evaluate.evaluate()
    evaluate.gates[1].open()
    qtbot.waitUntil(lambda: evaluate.report is not None, timeout=10000)
    assert evaluate.report["asked_bundle"] == other and evaluate.pages.currentIndex() == 1


def test_switching_split_while_evaluating_drops_the_old_report(qtbot, evaluate):
    assert evaluate.evaluate()
    assert evaluate.gates[0].entered.wait(30)
    evaluate.split_combo.setCurrentText("all")
    evaluate.gates[0].open()
    qtbot.waitUntil(lambda: not evaluate.lane.busy, timeout=10000)
    assert evaluate.report is None and "all" in evaluate.key_label.text()


def test_cancel_stops_the_evaluation_and_shows_nothing(qtbot, evaluate):
    assert evaluate.evaluate()
    assert evaluate.gates[0].entered.wait(30)
    assert evaluate.progress.cancel_button.isVisible()
    evaluate.progress.cancel_button.click()
    evaluate.gates[0].open()
    qtbot.waitUntil(lambda: not evaluate.lane.busy, timeout=10000)
    assert evaluate.report is None and "cancelled" in evaluate.idle_label.text()
    assert evaluate.evaluate_button.isEnabled()


def test_evaluate_asks_first_while_a_model_trains(qtbot, evaluate):
    asked = []
    evaluate.is_training = lambda: True
    evaluate.confirm = lambda question: asked.append(question) or False
    assert not evaluate.evaluate() and evaluate.calls == [] and "training" in asked[0]
    evaluate.confirm = lambda question: True
    assert evaluate.evaluate()
    evaluate.gates[0].open()
    qtbot.waitUntil(lambda: evaluate.report is not None, timeout=10000)


def test_a_new_dataset_loading_clears_the_report(qtbot, evaluate, trained):
    _, dataset = trained
    assert evaluate.evaluate()
    evaluate.gates[0].open()
    qtbot.waitUntil(lambda: evaluate.report is not None, timeout=10000)
    evaluate.set_dataset(None)  # the Data panel started reading another dataset
    assert evaluate.report is None and evaluate.pages.currentIndex() == 0
    assert not evaluate.evaluate_button.isEnabled()
    evaluate.set_dataset(dataset)
    assert evaluate.report is None and evaluate.evaluate_button.isEnabled()


# ---------------------------------------------------------------- Query


class FakeAsker:
    """Stands in for the model and index: each call waits on a gate when one is set for it,
    and every answer names the (bundle, collection) it was computed for."""

    def __init__(self) -> None:
        self.gates: dict[str, Gate] = {}
        self.current = ("", "")
        self.fail_next = False
        self.bundle = ""
        self.modalities: dict[str, list[str]] = {}  # per bundle (default: text and image)
        self.describes: set[str] = set()  # bundles of generating models
        self.indexed: list[tuple[str, str, bool]] = []  # (bundle, collection, rebuild) per indexing

    def _maybe_wait(self, name: str) -> None:
        gate = self.gates.get(name)
        if gate is not None:
            gate.wait()

    def load(self, bundle, dataset, progress=None):
        progress(0.0, "Loading the model…")
        self._maybe_wait("load")
        self.bundle = bundle
        modalities = self.modalities.get(bundle, ["text", "image"])
        return {
            "bundle": bundle,
            "modalities": modalities,
            "describes": bundle in self.describes,
            "classify": False,
            "align": True,
            "targets": [] if bundle in self.describes or dataset is None else modalities,
        }

    def index(self, dataset, rebuild=False, progress=None):
        self.indexed.append((self.bundle, str(dataset.spec.path), rebuild))
        progress(0.1, "Indexing: embedded 0/12")
        self._maybe_wait("prepare")  # indexing in flight
        for i in range(1, 4):
            progress(i / 4, f"Indexing: embedded {i * 4}/12")
        self.current = (self.bundle, str(dataset.spec.path))
        return {
            "bundle": self.bundle,
            "modalities": self.modalities.get(self.bundle, ["text", "image"]),
            "targets": self.modalities.get(self.bundle, ["text", "image"]),
            "items": 12,
            "collection": str(dataset.spec.path),
            "examples": ["two", "one"],
        }

    def ask(self, question, map_method):
        self._maybe_wait("ask")
        if self.fail_next:
            self.fail_next = False
            raise ValueError("this query cannot be answered")
        row = {"rank": 1, "score": 0.9, "index": 0, "id": f"{self.current[0]}|{self.current[1]}", "label": "one"}
        return {
            "mode": "search",
            "value": "one",
            "query": "text",
            "target": "image",
            "results": [row],
            "key": self.current,
        }

    def more_like(self, index, target, top):
        answer = self.ask({}, None)
        return dict(answer, mode="like", value=str(index))

    def embedding_map(self, target, method):
        self._maybe_wait("map")
        return {
            "method": method,
            "target": target,
            "xy": [[0.0, 0.0]],
            "indices": [0],
            "labels": ["one"],
            "items": [{"id": "x"}],
            "key": self.current,
        }


@pytest.fixture
def query(qtbot, trained, tmp_path):
    from synth import make_triplet_dataset

    from mmstudio.data import open_dataset
    from mmstudio.gui.app import create_application
    from mmstudio.gui.panels.query_panel import QueryPanel

    create_application()
    bundle, dataset = trained
    panel = QueryPanel()
    qtbot.addWidget(panel)
    panel._asker = FakeAsker()
    panel.resize(1280, 820)
    panel.show()
    qtbot.waitExposed(panel)
    panel.other_dataset = open_dataset(str(make_triplet_dataset(tmp_path / "other", classes=2, per_class=3)))
    yield panel
    for gate in panel._asker.gates.values():
        gate.open()
    panel.shutdown()


def _shown_keys(panel) -> set[str]:
    """The keys the result cards on screen were computed for."""
    return {card.sample["id"] for card in panel.gallery.cards}


def _key_id(panel) -> str:
    return f"{panel.bundle_path}|{panel.collection.spec.path}"


def test_query_switching_model_while_indexing_drops_the_old_index(qtbot, query, trained):
    bundle, dataset = trained
    asker = query._asker
    asker.gates["prepare"] = Gate()
    query.set_dataset(dataset)
    query.set_bundle(bundle)
    qtbot.waitUntil(asker.gates["prepare"].entered.is_set, timeout=30000)  # indexing (after the model loaded)
    assert query.progress.isVisible() and query.progress.cancel_button.text() == "Stop"
    readies = []
    query.ready.connect(readies.append)
    other = bundle.rstrip("/") + "/."
    query.set_bundle(other)  # while the first is still indexing
    asker.gates.pop("prepare").open()
    qtbot.waitUntil(lambda: query.info is not None, timeout=10000)
    qtbot.waitUntil(lambda: not query.lane.busy, timeout=10000)
    assert [r["bundle"] for r in readies] == [other]
    assert query.key_label.toolTip().splitlines()[0] == other
    assert query.inputs.text_edit.placeholderText() == "Type to search, e.g. “two”, “one”"


def test_query_switching_dataset_while_a_query_runs_drops_its_answer(qtbot, query, trained):
    bundle, dataset = trained
    asker = query._asker
    with qtbot.waitSignal(query.ready, timeout=10000):
        query.set_dataset(dataset)
        query.set_bundle(bundle)
    with qtbot.waitSignal(query.results_ready, timeout=10000):
        query.inputs.set_text("one")
    assert _shown_keys(query) == {_key_id(query)}
    qtbot.waitUntil(lambda: query.map.map is not None, timeout=10000)
    asker.gates["ask"] = Gate()
    asker.gates["map"] = Gate()
    query.inputs.set_text("two")
    query.run_query()
    assert asker.gates["ask"].entered.wait(30)
    query.set_dataset(query.other_dataset)  # the answer in flight is for the old collection
    assert query.gallery.cards == [] and query.map.map is None  # cleared at once
    assert "Cleared the results" in query.message.text() and query.message.isVisible()
    answers = []
    query.results_ready.connect(answers.append)
    asker.gates.pop("ask").open()
    asker.gates.pop("map").open()
    qtbot.waitUntil(lambda: query.info is not None and not query.lane.busy, timeout=10000)
    assert all(a["key"] == (bundle, str(query.other_dataset.spec.path)) for a in answers)
    assert _shown_keys(query) <= {_key_id(query)}
    assert query.map.map is None or query.map.map["key"][1] == str(query.other_dataset.spec.path)


def test_query_error_banner_goes_with_its_key(qtbot, query, trained):
    bundle, dataset = trained
    with qtbot.waitSignal(query.ready, timeout=10000):
        query.set_dataset(dataset)
        query.set_bundle(bundle)
    with qtbot.waitSignal(query.results_ready, timeout=10000):
        query.inputs.set_text("one")
    query._asker.fail_next = True
    query.inputs.set_text("two")
    query.run_query()
    qtbot.waitUntil(lambda: query.message.isVisible(), timeout=10000)
    assert "cannot be answered" in query.message.text() and query.gallery.cards == []  # no old results under it
    query.set_dataset(query.other_dataset)
    assert "cannot be answered" not in query.message.text()


def test_query_stop_keeps_the_panel_usable_and_resume_indexes_again(qtbot, query, trained):
    bundle, dataset = trained
    asker = query._asker
    asker.gates["prepare"] = Gate()
    query.set_dataset(dataset)
    query.set_bundle(bundle)
    qtbot.waitUntil(asker.gates["prepare"].entered.is_set, timeout=30000)  # indexing (after the model loaded)
    query.progress.cancel_button.click()
    asker.gates.pop("prepare").open()
    qtbot.waitUntil(lambda: not query.lane.busy, timeout=10000)
    assert query.info is None and query.resume_button.isVisible() and "stopped" in query.message.text()
    with qtbot.waitSignal(query.ready, timeout=10000):
        query.resume_button.click()
    assert not query.resume_button.isVisible()


def test_more_like_this_asks_from_a_result(qtbot, query, trained):
    bundle, dataset = trained
    with qtbot.waitSignal(query.ready, timeout=10000):
        query.set_dataset(dataset)
        query.set_bundle(bundle)
    with qtbot.waitSignal(query.results_ready, timeout=10000):
        query.inputs.set_text("one")
    query._on_sample_clicked(query.gallery.cards[0].sample)
    assert query.middle.more_button.isEnabled() and "#1" in query.middle.more_button.text()
    with qtbot.waitSignal(query.results_ready, timeout=10000) as blocker:
        query.middle.more_button.click()
    assert blocker.args[0]["mode"] == "like" and "items like" in query.results_label.text()

"""The Query panel: index a collection, search by typing (debounced), by a dropped sound, or
classify; the map marks the query. The digits acceptance checks need ../shared."""

from __future__ import annotations

import dataclasses
import glob
import os
from pathlib import Path

import pytest
from eval_helpers import train_synth_bundle

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_synth_bundle(tmp_path_factory.mktemp("query"))


def _ready(qtbot, window, bundle, dataset):
    """Show the Query panel of ``window`` with ``bundle`` over ``dataset`` and wait for its index."""
    panel = window.query_panel
    window.show_panel(list(window.panels).index("Query"))
    with qtbot.waitSignal(panel.ready, timeout=600000):
        panel.set_dataset(dataset)
        panel.set_bundle(bundle)
    return panel


def _type(qtbot, panel, text):
    with qtbot.waitSignal(panel.results_ready, timeout=60000) as blocker:
        qtbot.keyClicks(panel.inputs.text_edit, text)
    return blocker.args[0]


def test_typing_searches_after_a_pause(qtbot, window, trained):
    bundle, dataset = trained
    panel = _ready(qtbot, window, bundle, dataset)
    assert panel.inputs.target.currentText() == "image"
    assert panel.inputs.record_button.isEnabled() == panel.inputs.recorder.available
    asked = []
    panel.results_ready.connect(asked.append)
    answer = _type(qtbot, panel, "the number two")
    assert len(asked) == 1  # one query for the whole phrase: typing is debounced
    assert answer["query"] == "text" and answer["target"] == "image"
    assert [r["label"] for r in answer["results"]][:5] == ["two"] * 5
    cards = panel.gallery.cards
    assert len(cards) == 10 and all(c.sample["image"] for c in cards)
    assert cards[0].play.isEnabled() and "#1" in cards[0].caption.text()
    assert "labelled two" in panel.results_label.text()
    # the index is kept in the user cache folder, keyed by model and collection; never beside
    # the bundle (a bundle may be read-only, shared or shipped)
    from mmstudio.engine.collection import cache_root

    assert not glob.glob(os.path.join(bundle, "index*"))
    assert len(glob.glob(os.path.join(cache_root(), "*", "*", "store.json"))) >= 1
    # the map shows the collection's images and marks the query
    qtbot.waitUntil(lambda: panel.map.map is not None and panel.map.query_position is not None, timeout=30000)
    assert len(panel.map.map["xy"]) == len(dataset.items)


def test_index_is_instant_the_second_time(qtbot, window, trained):
    from mmstudio import engine

    bundle, dataset = trained
    _ready(qtbot, window, bundle, dataset)  # built or loaded from the cache beside the bundle
    session = engine.QuerySession(bundle)
    path = session.index(dataset)
    mtime = os.path.getmtime(path)
    assert session.index(dataset) == path and os.path.getmtime(path) == mtime  # nothing rebuilt
    other = engine.QuerySession(bundle)
    assert other.index(dataset) == path and os.path.getmtime(path) == mtime  # read from disk


def test_dropping_a_sound_asks_with_it(qtbot, window, trained):
    from gui_helpers import drop_paths

    bundle, dataset = trained
    panel = _ready(qtbot, window, bundle, dataset)
    clip = next(it.audio for it in dataset.items if it.label == "one" and it.split == "test")
    with qtbot.waitSignal(panel.results_ready, timeout=60000) as blocker:
        drop_paths(panel.inputs, [clip])
    answer = blocker.args[0]
    assert answer["query"] == "audio" and answer["value"] == clip
    assert [r["label"] for r in answer["results"]][:3] == ["one"] * 3
    assert window.data_panel.dataset is None  # the drop went to the query, not the Data panel


def test_fewer_distinct_items_than_top_k_are_explained(qtbot, window, trained):
    """48 items share 3 captions: Top K 10 texts can only be 3, and the heading says why."""
    bundle, dataset = trained
    panel = _ready(qtbot, window, bundle, dataset)
    panel.inputs.target.setCurrentText("text")
    item = next(it for it in dataset.items if it.label == "two")
    with qtbot.waitSignal(panel.results_ready, timeout=60000, check_params_cb=lambda a: a["target"] == "text"):
        panel.inputs.set_image(item.image)
    answer = panel.last
    assert answer["query"] == "image" and answer["exhausted"]
    assert sorted(r["text"] for r in answer["results"]) == ["the number one", "the number two", "the number zero"]
    assert "Top 3 text items (only 3 distinct in this collection)" in panel.results_label.text()
    panel.inputs.top.setValue(2)  # as many as asked for: no note
    qtbot.waitUntil(lambda: len(panel.last["results"]) == 2, timeout=60000)
    assert not panel.last["exhausted"] and "only" not in panel.results_label.text()


def test_classify_any_subset_shows_probabilities(qtbot, window, trained):
    bundle, dataset = trained
    panel = _ready(qtbot, window, bundle, dataset)
    item = next(it for it in dataset.items if it.label == "zero")
    panel.inputs.set_image(item.image)
    panel.inputs.set_text("the number zero")
    panel.inputs.classify_mode.setChecked(True)
    qtbot.waitUntil(lambda: panel.last is not None and panel.last["mode"] == "classify", timeout=60000)
    answer = panel.last
    assert set(answer["used"]) == {"image", "text"}
    assert panel.results.currentWidget() is panel.probabilities
    assert answer["label"] == "zero"
    assert set(panel.probabilities.values) == {"zero", "one", "two"}
    assert abs(sum(panel.probabilities.values.values()) - 1) < 1e-3
    panel.inputs.use["text"].setChecked(False)
    qtbot.waitUntil(lambda: panel.last["used"] == ["image"], timeout=60000)


DIGITS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "digits" / "pairs.csv"


@pytest.fixture(scope="module")
def digits_bundle(tmp_path_factory):
    """An image+audio+text bundle aligned on half of digits' train split (a few CPU minutes)."""
    if not DIGITS.is_file():
        pytest.skip(f"needs the shared digits dataset ({DIGITS} is absent)")
    from mmstudio import engine
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec
    from mmstudio.data import open_dataset

    dataset = open_dataset(str(DIGITS))
    half = [it for i, it in enumerate(dataset.subset("train")) if i % 2 == 0]
    run = RunConfig(
        DatasetSpec(str(DIGITS)),
        ModelSpec(
            modalities=("image", "audio", "text"), task="classify+align", dim=64, embed_dim=64, fusion="weighted_sum"
        ),
        TrainSpec(epochs=3, batch_size=64, lr=2e-3, seed=0, val_split="none", device="cpu"),
    )
    out = tmp_path_factory.mktemp("digits")
    result = engine.drive(engine.train(run, str(out), dataset=dataclasses.replace(dataset, items=half)))
    return result.bundle, dataset


@pytest.mark.slow
def test_digits_text_seven_and_spoken_three_find_their_images(qtbot, window, digits_bundle):
    from gui_helpers import drop_paths

    bundle, dataset = digits_bundle
    panel = _ready(qtbot, window, bundle, dataset)  # the whole collection: 10,000 items
    assert panel.info["items"] == 10000
    answer = _type(qtbot, panel, "seven")
    labels = [r["label"] for r in answer["results"]]
    assert answer["target"] == "image" and len(labels) == 10
    assert labels.count("7") >= 9, labels
    three = next(it.audio for it in dataset.subset("test") if it.label == "3")
    with qtbot.waitSignal(panel.results_ready, timeout=60000) as blocker:
        drop_paths(panel.inputs, [three])
    answer = blocker.args[0]
    labels = [r["label"] for r in answer["results"]]
    assert answer["query"] == "audio" and answer["value"] == three
    assert labels.count("3") >= 9, labels
    assert [c.sample["label"] for c in panel.gallery.cards] == labels

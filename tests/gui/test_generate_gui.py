"""The generate task in the window: Query's Describe mode writes the text for a dropped image,
with its beam alternatives; Evaluate shows the scores beside the baselines and every example,
worst first and sortable; the Model panel offers the decoders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_helpers import drain, tiny_run  # noqa: E402
from synth import make_triplet_dataset  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    """(bundle path, Dataset): image -> "the number <word>"."""
    from mmstudio import engine
    from mmstudio.data import open_dataset

    root = tmp_path_factory.mktemp("generate")
    manifest = make_triplet_dataset(root / "data", classes=3, per_class=16)
    run = tiny_run(
        manifest,
        task="generate",
        modalities=("image",),
        decoder_options={"width": 32, "heads": 2, "layers": 1},
        train={"epochs": 8},
    )
    _, result = drain(engine.train(run, str(root / "run")))
    return result.bundle, open_dataset(str(manifest))


def test_describe_writes_the_caption_of_a_dropped_image(qtbot, window, generator):
    from mmstudio import engine

    bundle, dataset = generator
    panel = window.query_panel
    window.show_panel(list(window.panels).index("Query"))
    with qtbot.waitSignal(panel.ready, timeout=600000):
        panel.set_bundle(bundle)  # no collection needed to describe
    inputs = panel.inputs
    assert inputs.describe_mode.isVisible() and inputs.describe_mode.isChecked()
    assert not inputs.search_mode.isEnabled() and not inputs.text_edit.isEnabled()
    assert not panel.map_side.isVisible()
    item = next(it for it in dataset.subset("test") if it.label == "two")
    with qtbot.waitSignal(panel.results_ready, timeout=60000) as blocker:
        assert panel.accept_drop([item.image])
    answer = blocker.args[0]
    expected = engine.describe_files(engine.load_bundle(bundle), image=item.image, beam=3)
    assert answer["texts"] == expected["texts"] and answer["used"] == ["image"]
    assert panel.describe_view.text.text() == "the number two"
    table = panel.describe_view.alternatives
    assert table.rowCount() == 3 and table.item(0, 1).text() == "the number two"
    inputs.beam.setValue(1)  # greedy: one text (an answer still on its way may come first)
    qtbot.waitUntil(lambda: panel.describe_view.alternatives.rowCount() == 1, timeout=60000)
    assert panel.last is not None and len(panel.last["texts"]) == 1


def test_evaluate_shows_scores_baselines_and_examples_worst_first(qtbot, generator):
    from PySide6.QtCore import Qt

    from mmstudio.gui.panels.evaluate_panel import EvaluatePanel

    bundle, dataset = generator
    panel = EvaluatePanel()
    qtbot.addWidget(panel)
    panel.set_dataset(dataset)
    panel.set_bundle(bundle)
    with qtbot.waitSignal(panel.report_ready, timeout=300000) as blocker:
        panel.evaluate()
    report = blocker.args[0]
    assert report["task"] == "generate" and panel.views.currentWidget() is panel.generation
    view = panel.generation
    headers = [view.scores.horizontalHeaderItem(c).text() for c in range(view.scores.columnCount())]
    assert headers == ["score", "model", "most frequent", "nearest neighbour"]
    cer_row = [view.scores.item(0, c).text() for c in range(view.scores.columnCount())]
    assert cer_row[0].startswith("CER") and "★" in cer_row[1]  # the model has the lowest CER
    table = view.examples
    assert table.rowCount() == report["items"] == len(dataset.subset("test"))
    errors = [float(table.item(r, 4).text()) for r in range(table.rowCount())]
    assert errors == sorted(errors, reverse=True)
    table.sortItems(4, Qt.SortOrder.AscendingOrder)
    assert float(table.item(0, 4).text()) == min(errors)
    assert table.item(0, 0).icon() is not None and table.item(0, 1).text().startswith("the number")


def test_model_panel_offers_the_decoders(qtbot, window):
    panel = window.model_panel
    names = [panel.decoder.itemText(i) for i in range(panel.decoder.count())]
    assert names == ["ctc", "transformer"]
    assert panel.task.findText("generate") >= 0

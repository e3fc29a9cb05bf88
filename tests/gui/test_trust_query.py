"""Query's controls and banner belong to the model and collection named on the panel (issue 15):
while a newly opened model indexes, and after Stop, the inputs are the new model's; the offer to
resume or rebuild an incomplete index goes when it no longer applies. Gated, never timed."""

from __future__ import annotations

import pytest
from synth import make_triplet_dataset
from test_view_keys import Gate
from test_view_keys_panels import FakeAsker

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TRIPLE, IMAGE_ONLY, WRITER = "models/triple", "models/image-only", "models/writer"


@pytest.fixture
def query(qtbot, tmp_path):
    """A shown Query panel over a stand-in model and index (``FakeAsker``): the triple model
    (text, image, audio), an image-only one and a generating one."""
    from mmstudio.data import open_dataset
    from mmstudio.gui.app import create_application
    from mmstudio.gui.panels.query_panel import QueryPanel

    create_application()
    panel = QueryPanel()
    qtbot.addWidget(panel)
    asker = panel._asker = FakeAsker()
    asker.modalities = {TRIPLE: ["text", "image", "audio"], IMAGE_ONLY: ["image"], WRITER: ["image", "text"]}
    asker.describes = {WRITER}
    panel.resize(1280, 820)
    panel.show()
    qtbot.waitExposed(panel)
    panel.datasets = [
        open_dataset(str(make_triplet_dataset(tmp_path / name, classes=2, per_class=3))) for name in ("a", "b")
    ]
    yield panel
    for gate in asker.gates.values():
        gate.open()
    panel.shutdown()


def _ready(qtbot, query, bundle: str, dataset) -> None:
    with qtbot.waitSignal(query.ready, timeout=10000):
        query.set_dataset(dataset)
        query.set_bundle(bundle)


def _offered(query) -> dict:
    """What the inputs offer: the modality rows shown, the "Find" targets, the Beam row."""
    inputs = query.inputs
    return {
        "rows": sorted(m for m, row in inputs.rows.items() if not row.isHidden()),
        "find": [inputs.target.itemText(i) for i in range(inputs.target.count())],
        "beam": inputs._form.isRowVisible(inputs.beam),
        "describe": not inputs.describe_mode.isHidden(),
    }


def _stop_indexing(qtbot, query, bundle: str, dataset) -> None:
    """Open ``bundle`` over ``dataset`` and press Stop while it indexes."""
    query._asker.gates["prepare"] = gate = Gate()
    query.set_dataset(dataset)
    query.set_bundle(bundle)
    qtbot.waitUntil(gate.entered.is_set, timeout=30000)
    query.progress.cancel_button.click()
    query._asker.gates.pop("prepare").open()
    qtbot.waitUntil(lambda: not query.lane.busy, timeout=10000)
    assert query.banner.incomplete


def test_the_controls_are_the_new_models_while_it_loads_indexes_and_after_stop(qtbot, query):
    asker = query._asker
    _ready(qtbot, query, WRITER, None)  # a generating model: Describe and the Beam row
    assert _offered(query) == {"rows": ["image", "text"], "find": [], "beam": True, "describe": True}
    asker.gates["load"], asker.gates["prepare"] = Gate(), Gate()
    query.set_dataset(query.datasets[0])
    query.set_bundle(IMAGE_ONLY)
    # while the new model loads: nothing of the writer's controls, and why
    assert _offered(query) == {"rows": [], "find": [], "beam": False, "describe": False}
    assert "Loading the model" in query.inputs.hint.text() and not query.inputs.search_mode.isEnabled()
    asker.gates.pop("load").open()
    qtbot.waitUntil(asker.gates["prepare"].entered.is_set, timeout=30000)
    image_only = {"rows": ["image"], "find": ["image"], "beam": False, "describe": False}
    assert _offered(query) == image_only and query.info is None  # still indexing: the new model's controls
    assert query.inputs.search_mode.isChecked() and query.inputs.search_mode.isEnabled()
    query.progress.cancel_button.click()  # Stop
    asker.gates.pop("prepare").open()
    qtbot.waitUntil(lambda: not query.lane.busy, timeout=10000)
    assert _offered(query) == image_only and query.info is None
    assert "incomplete" in query.message.text() and query.message.isVisible()
    assert query.banner.resume_button.isVisible() and query.banner.rebuild_button.isVisible()
    assert "incomplete" in query.results_label.text()


def test_stop_while_the_model_loads_still_shows_its_controls_and_indexes_nothing(qtbot, query):
    asker = query._asker
    asker.gates["load"] = Gate()
    query.set_dataset(query.datasets[0])
    query.set_bundle(TRIPLE)
    qtbot.waitUntil(asker.gates["load"].entered.is_set, timeout=30000)
    query.progress.cancel_button.click()
    asker.gates.pop("load").open()
    qtbot.waitUntil(lambda: not query.lane.busy, timeout=10000)
    assert _offered(query)["rows"] == ["audio", "image", "text"] and asker.indexed == []
    assert query.banner.incomplete and query.info is None


def test_rebuild_indexes_from_nothing_and_resume_from_what_was_kept(qtbot, query):
    asker = query._asker
    _stop_indexing(qtbot, query, TRIPLE, query.datasets[0])
    path = str(query.datasets[0].spec.path)
    with qtbot.waitSignal(query.ready, timeout=10000):
        query.banner.rebuild_button.click()
    assert asker.indexed[-1] == (TRIPLE, path, True) and not query.banner.incomplete
    _stop_indexing(qtbot, query, IMAGE_ONLY, query.datasets[0])
    with qtbot.waitSignal(query.ready, timeout=10000):
        query.resume_button.click()
    assert asker.indexed[-1] == (IMAGE_ONLY, path, False)


def test_the_resume_offer_goes_when_indexing_resumes_and_when_it_finishes(qtbot, query):
    _stop_indexing(qtbot, query, TRIPLE, query.datasets[0])
    query.hide()
    query.show()  # coming back to the panel does not resume by itself
    qtbot.waitExposed(query)
    assert query.banner.incomplete and not query.lane.busy and query.info is None
    query._asker.gates["prepare"] = gate = Gate()
    query.resume_button.click()
    assert not query.banner.incomplete and not query.message.isVisible()  # at once, while it indexes
    qtbot.waitUntil(gate.entered.is_set, timeout=30000)
    assert not query.resume_button.isVisible() and "incomplete" not in query.message.text()
    with qtbot.waitSignal(query.ready, timeout=10000):
        query._asker.gates.pop("prepare").open()
    assert not query.message.isVisible() and not query.banner.incomplete


@pytest.mark.parametrize("change", ["model", "dataset", "new project"])
def test_the_resume_offer_goes_when_the_model_or_dataset_changes_or_on_new_project(qtbot, query, change):
    _stop_indexing(qtbot, query, TRIPLE, query.datasets[0])
    if change == "model":
        query.set_bundle(IMAGE_ONLY)
    elif change == "dataset":
        query.set_dataset(query.datasets[1])
    else:
        query.reset()
    assert not query.banner.incomplete and not query.resume_button.isVisible()
    assert "incomplete" not in query.message.text() and "incomplete" not in query.results_label.text()
    if change == "new project":
        assert not query.message.isVisible() and query.bundle_path == "" and query.collection is None
        assert _offered(query)["rows"] == [] and not query.lane.busy
    else:
        qtbot.waitUntil(lambda: query.info is not None, timeout=10000)  # the new key indexes
        assert not query.banner.incomplete


def test_a_model_that_fails_to_load_offers_no_controls_and_says_why(qtbot, query):
    _ready(qtbot, query, TRIPLE, query.datasets[0])

    def broken(bundle, dataset, progress=None):
        raise ValueError(f"{bundle}/bundle.json: not a bundle")

    query._asker.load = broken
    query.set_bundle("models/broken")
    qtbot.waitUntil(lambda: "not a bundle" in query.message.text(), timeout=10000)
    assert query.message.isVisible() and _offered(query)["rows"] == []
    assert "could not be loaded" in query.inputs.hint.text() and not query.inputs.search_mode.isEnabled()

"""New Project and opening another project leave nothing of the previous one on screen, and the
window title names a project or dataset only while a panel showing it is in view (issue 15)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from gui_helpers import drop_and_wait
from synth import make_triplet_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from engine_helpers import tiny_run  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def window(window):
    yield window
    window.train_panel.stop_and_wait()
    query = window.built_panel("Query")
    if query is not None:
        query.lane.wait_idle(30)


def _work_in_it(qtbot, window, tmp_path):
    """A dataset, a trained run (curves, log, status lines, its row selected) and a question in
    Query with typed text, a dropped image and a dropped sound, answered."""
    manifest = make_triplet_dataset(tmp_path / "data", classes=2, per_class=4)
    dataset = drop_and_wait(qtbot, window, window.data_panel, [manifest])
    with qtbot.waitSignal(window.model_panel.suggested, timeout=120000):
        window.show_panel(1)  # the Model panel, holding the old dataset's suggestion
    window.show_panel(2)
    train = window.train_panel
    with qtbot.waitSignal(train.run_finished, timeout=180000):
        train.start(tiny_run(manifest, task="classify+align", train={"epochs": 1}), dataset)
    train.runs.select_paths([train.out_dir])
    assert train.plots.loss.size and train.log.toPlainText() and train.next_bar.isVisible()
    assert train.runs.selected() and train.progress.format() != "No run yet"
    query = window.query_panel
    window.evaluate_panel.cancel()  # the finished run's one evaluation: not what this test is about
    with qtbot.waitSignal(query.ready, timeout=120000):
        window.show_panel(4)
    first = dataset.items[0]
    query.inputs.set_text("class one")
    query.inputs.set_file(first.audio)
    with qtbot.waitSignal(query.results_ready, timeout=60000):
        query.inputs.set_file(first.image)
    assert query.gallery.cards and query.inputs.image_path and query.inputs.audio_path
    return manifest


def _nothing_of_it_on_screen(window) -> None:
    from mmstudio.gui.widgets.query_inputs import AUDIO_PROMPT, IMAGE_PROMPT

    query, train, data = window.query_panel, window.train_panel, window.data_panel
    inputs = query.inputs
    assert inputs.text_edit.text() == "" and inputs.image_path is None and inputs.audio_path is None
    assert inputs.image_label.pixmap().isNull() and inputs.image_label.text() == IMAGE_PROMPT
    assert inputs.audio_label.text() == AUDIO_PROMPT and not inputs.play_button.isEnabled()
    assert query.gallery.cards == [] and query.map.map is None and query.info is None and query.last is None
    assert not query.message.isVisible() or "Cleared" not in query.message.text()
    assert "no model" in query.key_label.text() and "no dataset" in query.key_label.text()  # nothing old named
    assert train.plots.loss.size == 0 and train.plots.overlaid == 0 and train.log.toPlainText() == ""
    assert train.progress.format() == "No run yet" and train.device_label.text() == "Device: –"
    assert train.next_bar.isHidden() and train.error_label.isHidden() and train.runs.selected() == []
    assert not train.start_button.isEnabled()  # no run of the old project to start again
    assert data.dataset is None and data.model.rowCount() == 0 and window.dataset is None
    assert window.evaluate_panel.report is None and window.evaluate_panel.bundle_path == ""
    model = window.built_panel("Model")
    if model is not None:  # no model of the old dataset offered to train
        assert model.dataset is None and not model.start_button.isEnabled()
        assert model.count_label.text() == "Parameters: –" and "first" in model.hint.text()


def test_new_project_leaves_nothing_of_the_old_one_on_screen(qtbot, window, tmp_path):
    _work_in_it(qtbot, window, tmp_path)
    window.projects.new()
    assert window.current_panel_name() == "Welcome" and window.windowTitle() == "MMStudio"
    assert window.status_label.text().startswith("New project")  # no status line of the old one
    _nothing_of_it_on_screen(window)
    for row in (0, 1, 2, 4):  # and on each panel, once shown again
        window.show_panel(row)
        _nothing_of_it_on_screen(window)
    assert not window.query_panel.lane.working  # no model: nothing is prepared (old work cancelled)
    assert window.windowTitle() == "Untitled — MMStudio"


def test_opening_another_project_clears_the_last_ones_inputs_and_run(qtbot, window, tmp_path):
    from mmstudio.project import Project, save_project

    _work_in_it(qtbot, window, tmp_path)
    other = make_triplet_dataset(tmp_path / "other", classes=2, per_class=3)
    path = tmp_path / "other.mmstudio"
    from mmstudio.data import open_dataset

    project = Project(datasets=[open_dataset(str(other)).spec], current_panel="Query", name="other")
    save_project(project, str(path))
    with qtbot.waitSignal(window.data_panel.dataset_loaded, timeout=30000):
        assert window.projects.open(str(path))
    query = window.query_panel
    assert window.current_panel_name() == "Query" and query.bundle_path == ""  # the project has no model
    assert query.inputs.text_edit.text() == "" and query.inputs.image_path is None and query.gallery.cards == []
    assert str(other) in str(query.collection.spec.path) and window.windowTitle() == "other.mmstudio — MMStudio"
    train = window.train_panel
    assert train.plots.loss.size == 0 and train.runs.selected() == [] and train.log.toPlainText() == ""
    assert not window.projects.is_dirty()  # as opened: closing asks nothing
    with qtbot.waitSignal(window.model_panel.suggested, timeout=120000):
        window.show_panel(1)  # the Model panel suggests a run for the opened dataset
    assert window.model_panel.dataset is not None and str(other) in window.model_panel.dataset.spec.path
    assert not window.projects.is_dirty(), "a suggestion is not a change of the user's to save"


def test_the_title_names_the_dataset_only_while_a_panel_shows_it(qtbot, window, tmp_path):
    manifest = make_triplet_dataset(tmp_path / "data", classes=2, per_class=2)
    window.show_welcome()
    with qtbot.waitSignal(window.data_panel.dataset_loaded, timeout=30000):
        window.data_panel.open_path(str(manifest))  # read behind the welcome page (as the demo at start)
    assert window.current_panel_name() == "Welcome" and window.windowTitle() == "MMStudio"
    window.show_panel(0)
    assert window.windowTitle() == f"{os.path.basename(manifest)} — MMStudio"
    window.show_welcome()
    assert window.windowTitle() == "MMStudio"
    window.show_panel(4)
    assert window.windowTitle() == f"{os.path.basename(manifest)} — MMStudio"
    window.projects.new()
    assert window.windowTitle() == "MMStudio"
    window.show_panel(1)
    assert window.windowTitle() == "Untitled — MMStudio"


def _pages_shown(window) -> list[str]:
    """The pages of the panel stack that are on screen (one, the current, when all is well)."""
    stack = window.stack
    return [type(stack.widget(i)).__name__ for i in range(stack.count()) if stack.widget(i).isVisible()]


def test_a_second_try_the_demo_shows_query_alone(qtbot, window):
    """The Data panel was seen painted under the welcome page and Query after the demo, twice:
    focus leaving Query landed on the sidebar, which selected "Data" in the middle of the switch."""
    query = window.query_panel
    for round_ in range(2):
        window.show_welcome()
        assert _pages_shown(window) == ["WelcomePage"] and window.windowTitle() == "MMStudio"
        assert window.nav.currentRow() == -1  # no panel selected in the sidebar
        if round_ == 0:
            with qtbot.waitSignal(query.ready, timeout=120000):
                window.welcome.demo_buttons["digits"].click()
        else:
            window.welcome.demo_buttons["digits"].click()  # the same model and data: nothing to redo
        assert _pages_shown(window) == ["QueryPanel"] and window.stack.currentWidget() is query
        assert not window.data_panel.isVisible() and window.windowTitle() == "manifest.csv — MMStudio"
        assert query.info is not None

"""The Model panel reads the engine's registries and rules: a fusion registered in one decorator
is listed with its help and level, and a run it cannot show is explained before Start."""

from __future__ import annotations

import dataclasses

import pytest
from gui_helpers import drop_and_wait
from synth import make_triplet_dataset

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_registered_fusion_is_listed_and_loaded_run_problems_are_named(window, qtbot, tmp_path):
    from mmstudio.engine.components import FUSIONS  # the test registers; the panel only reads

    @FUSIONS.register("mean_pool", level="early", options={"scale": 1.0})
    def mean_pool(**kw):
        """Mean of the present modalities' features."""
        raise AssertionError("the panel lists components; it never builds one")

    try:
        manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=4)
        drop_and_wait(qtbot, window, window.data_panel, [manifest])
        panel = window.model_panel
        window.show_panel(1)
        qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=60000)
        names = [panel.fusion.itemText(i) for i in range(panel.fusion.count())]
        assert "mean_pool" in names and names == FUSIONS.names()
        panel.fusion.setCurrentText("mean_pool")
        assert "Mean of the present modalities' features." in panel.fusion_doc.text()
        assert "early: features meet before one shared network" in panel.fusion_doc.text()

        # a run.toml naming what this MMStudio does not have: said before Start, by field
        run = panel.config()
        text = dataclasses.replace(run.model.text, encoder="transformer", options={"layrs": 3})
        bad = run.replace(model=run.model.replace(fusion="nope", text=text))
        bad.save(str(tmp_path / "run.toml"))
        panel.load_config(str(tmp_path / "run.toml"))
        shown = panel.problem_label.text()
        assert "model.fusion unknown fusion 'nope'; choose one of: attention" in shown
        assert "model.text.options text encoder 'transformer' has no option 'layrs'" in shown
        assert not panel.start_button.isEnabled() and "has no option 'layrs'" in panel.problems()[0]
    finally:
        FUSIONS.unregister("mean_pool")


def test_training_processes_follow_the_gpus_found_not_widget_visibility(qtbot):
    """Start asks for one process per GPU chosen: from the GPUs the engine found, whether or not
    the Model panel is on screen (it is hidden by then: Start switches to the Train panel)."""
    from mmstudio.gui.panels.train_options import TrainOptions

    options = TrainOptions()
    qtbot.addWidget(options)
    assert options.processes() == 1  # no GPU
    options.set_gpus([{"name": "A", "memory": 1}, {"name": "B", "memory": 1}])
    options.gpus.setValue(2)
    assert not options.isVisible() and options.processes() == 2
    options.set_gpus([{"name": "A", "memory": 1}])
    assert options.processes() == 1


#: TrainSpec fields the form does not show: they are set in run.toml (or by the CLI).
NOT_IN_FORM = {"momentum", "grad_clip", "max_steps", "num_threads", "log_every_s"}


def test_the_training_form_is_one_table_over_trainspec(qtbot):
    """Every field of the form names a TrainSpec field (or none, for the GPU count), every
    TrainSpec field is in the form or named as run.toml-only, and a run shown then read back
    is the same run."""
    import dataclasses

    from mmstudio.config import TrainSpec
    from mmstudio.gui.panels.train_options import FIELDS, TrainOptions

    fields = {f.name for f in dataclasses.fields(TrainSpec)}
    shown = {f.field for f in FIELDS if f.field}
    assert shown <= fields and fields - shown == NOT_IN_FORM
    options = TrainOptions()
    qtbot.addWidget(options)
    tr = TrainSpec(
        epochs=7,
        batch_size=24,
        optimizer="sgd",
        lr=0.0125,
        weight_decay=0.002,
        dropout=0.3,
        modality_dropout=0.2,
        schedule="constant",
        warmup_epochs=1.5,
        l1=1e-5,
        precision="fp32",
        device="cpu",
        seed=11,
        early_stopping=3,
        val_split="test",
        compile=True,
    )
    options.set_train(tr, ["val", "test"])
    assert options.train(TrainSpec()) == tr
    assert options.batch.value() == 24 and options.warmup.value() == 1.5

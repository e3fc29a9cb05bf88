"""The Model panel as a new user reads it: for generate the text is the output (no input box,
the decoder drawn as what writes it, a size that counts the decoder and follows the task), and a
preset says at once what it changed; a GPU preset is not offered on a machine without one."""

from __future__ import annotations

import pytest
from synth import make_triplet_dataset

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def panel(qtbot, tmp_path):
    """A Model panel with a suggested first run for a 3-class image+audio+text dataset."""
    from mmstudio.data import open_dataset
    from mmstudio.gui.panels.model_panel import ModelPanel

    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    dataset = open_dataset(str(make_triplet_dataset(tmp_path / "data", classes=3, per_class=4)))
    with qtbot.waitSignal(panel.suggested, timeout=120_000):
        panel.set_dataset(dataset)
    yield panel
    panel.shutdown()


def _estimate(qtbot, panel, change) -> dict:
    """The estimate the panel shows after ``change`` (the engine's, from the panel's lane)."""
    with qtbot.waitSignal(panel.estimated, timeout=60_000) as blocker:
        change()
    return blocker.args[0]


def test_generate_takes_text_as_the_output_draws_the_decoder_and_counts_it(qtbot, panel):
    from mmstudio import engine
    from mmstudio.gui.panels.encoder_options import TEXT_IS_OUTPUT

    text = panel.include["text"]
    assert text.isChecked() and text.isEnabled()
    classify = _estimate(qtbot, panel, lambda: panel.dim.setValue(panel.dim.value() + 8))
    generate = _estimate(qtbot, panel, lambda: panel.task.setCurrentText("generate"))
    assert not text.isChecked() and not text.isEnabled() and text.toolTip() == TEXT_IS_OUTPUT
    assert panel.encoder_doc["text"].text() == TEXT_IS_OUTPUT and panel.decoder.isEnabled()
    assert panel.option["text"].isEnabled()  # the length of the text it writes still matters
    assert not panel.fusion.isEnabled() and "no fusion layer" in panel.fusion_doc.text()
    run = panel.config()
    assert run.model.task == "generate" and run.model.modalities == ("image", "audio")
    assert panel.problems() == []
    # the engine's figure for this run, decoder included: not the classifier's
    assert generate["parameters"] == engine.memory_estimate(run, dataset=panel.dataset)["parameters"]
    assert generate["parameters"] != classify["parameters"] and generate["activation_bytes"] > 0
    assert panel.parameters == generate["parameters"]
    assert f"{generate['parameters'] / 1e6:.2f} M" in panel.count_label.text()
    # the diagram: inputs -> encoders -> the decoder -> the text, the output node
    panel.diagram.grab()
    labels = [n["label"] for n in panel.diagram.nodes]
    assert panel.diagram.level() == "generate"
    assert labels[-2:] == ["transformer decoder", "text"] and "text" not in labels[:-1]
    assert labels.count("encoder") == 2 and panel.diagram.caption().startswith("generate:")
    # back to classify: text is an input again, ticked as it was, and the size follows
    back = _estimate(qtbot, panel, lambda: panel.task.setCurrentText("classify"))
    assert text.isChecked() and text.isEnabled() and panel.encoder_doc["text"].text() != TEXT_IS_OUTPUT
    assert back["parameters"] == classify["parameters"] and "text" in panel.config().model.modalities


def test_a_loaded_generate_run_shows_text_as_the_output(qtbot, panel, tmp_path):
    run = panel.config()
    run = run.replace(model=run.model.replace(task="generate", modalities=("image", "text")))
    run.save(str(tmp_path / "run.toml"))
    panel.load_config(str(tmp_path / "run.toml"))
    assert panel.task.currentText() == "generate"
    assert not panel.include["text"].isChecked() and not panel.include["text"].isEnabled()
    assert panel.config().model.modalities == ("image",)


def test_a_preset_is_explained_at_once_and_a_gpu_preset_needs_a_gpu(qtbot, panel):
    presets = panel.presets
    first = panel.auto_label.text()
    assert "Chosen from your data" in first and "batch size" in first
    presets.set_gpus(0)  # a CPU-only machine (whatever this one has)
    assert not panel.accurate_button.isEnabled()
    assert panel.accurate_button.toolTip().startswith("needs a GPU")
    assert panel.quick_button.isEnabled()
    panel.quick_button.click()
    text = panel.auto_label.text()
    assert "Preset <b>Quick (CPU)</b>" in text
    assert "epochs <b>5</b>" in text and "batch size <b>64</b>" in text and "device <b>cpu</b>" in text
    assert "(was " in text and "dim <b>64</b>" in text
    assert panel.config().train.epochs == 5
    # the choices from the data the preset overrode are no longer claimed
    assert "steps per epoch" not in text
    presets.set_gpus(1)
    assert panel.accurate_button.isEnabled() and not panel.accurate_button.toolTip().startswith("needs")
    panel.accurate_button.click()
    text = panel.auto_label.text()
    assert "Preset <b>Accurate (GPU)</b>" in text and "image encoder <b>resnet18</b> (was cnn)" in text
    assert "Quick" not in text

"""The Query panel's inputs follow the model: only its modalities' controls, a "Find" it can
answer, examples from its own classes, and file dialogs that open where the data is."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def inputs(qtbot):
    from mmstudio.gui.app import create_application
    from mmstudio.gui.widgets.query_inputs import QueryInputs

    create_application()
    w = QueryInputs()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_no_audio_controls_for_a_model_without_audio(inputs):
    inputs.set_modalities(["image", "text"], ["image", "text"], can_classify=True)
    assert not inputs.rows["audio"].isVisible() and not inputs.record_button.isVisible()
    assert inputs.rows["image"].isVisible() and inputs.rows["text"].isVisible()
    inputs.set_modalities(["image", "audio"], ["image", "audio"], can_classify=True)
    assert inputs.rows["audio"].isVisible() and not inputs.rows["text"].isVisible()
    assert inputs.ask_modality() in ("image", "audio")  # text is gone: asking moved to one it has


def test_find_switches_to_a_target_the_model_can_rank(inputs):
    """A model not trained to align modalities ranks only the query's own modality."""
    inputs.set_modalities(["image", "text"], ["image", "text"], can_classify=True, align=False)
    inputs.ask["text"].setChecked(True)
    assert inputs.target.currentText() == "text"
    inputs.ask["image"].setChecked(True)
    assert inputs.target.currentText() == "image"
    inputs.set_modalities(["image", "text"], ["image", "text"], can_classify=True, align=True)
    inputs.ask["text"].setChecked(True)
    assert inputs.target.currentText() == "image"  # an aligned model may rank images for text


def test_the_placeholder_names_the_models_own_words(inputs):
    from mmstudio.gui.panels.query_parts import examples

    inputs.set_examples(examples(["cat", "dog", "owl", "fox"], []))
    assert inputs.text_edit.placeholderText() == "Type to search, e.g. “dog”, “fox”"
    assert examples([], [{"label": "flag"}, {"label": "house"}]) == ["flag", "house"]
    assert examples([], [{"text": "a red apple on a table"}]) == ["a red apple"]
    assert "seven" not in inputs.text_edit.placeholderText()


def test_file_dialogs_start_in_the_collections_folder_else_home(inputs, tmp_path):
    assert inputs.start_folder() == os.path.expanduser("~")
    inputs.start_dir = str(tmp_path)
    assert inputs.start_folder() == str(tmp_path)


def test_play_says_why_when_there_is_no_audio_device(inputs, qtbot, monkeypatch, tmp_path):
    """Like every other Play button: no device, and the user is told so, not left guessing."""
    from PySide6.QtCore import Qt

    from mmstudio.gui.widgets import gallery as gallery_module

    monkeypatch.setattr(gallery_module, "playback_problem", lambda: "No audio output device was found")
    clip = tmp_path / "query.wav"
    clip.write_bytes(b"RIFF")  # never decoded: playing stops at the missing device
    inputs.set_modalities(["image", "audio"], ["image", "audio"], can_classify=True)
    inputs.set_audio(str(clip))
    assert inputs.play_button.isEnabled()
    qtbot.mouseClick(inputs.play_button, Qt.MouseButton.LeftButton)
    assert "No audio output device" in inputs.hint.text() and inputs.hint.isVisible()
    assert inputs.audio_label.text() == "♪ query.wav"  # the chosen sound stays named

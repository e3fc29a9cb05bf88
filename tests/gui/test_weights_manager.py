"""The weights manager (Settings ▸ Models, and the Model panel's Weights… button): rows with size,
licence and presence; Download with no network says so and keeps nothing; Import file… checks
and copies; the Model panel's Pretrained box picks the encoder's published weights and tune."""

from __future__ import annotations

import shutil
import socket

import pytest
import torch
import torchvision

from mmstudio.gui.settings_dialog import SettingsDialog
from mmstudio.gui.weights_manager import WeightsManager

NAME, FILE = "mobilenet_v3_small.imagenet1k_v1", "mobilenet_v3_small-047dcff4.pth"


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def _row(manager: WeightsManager, name: str) -> list[str]:
    i = [r["name"] for r in manager._rows].index(name)
    return [manager.table.item(i, j).text() for j in range(manager.table.columnCount())]


def test_settings_has_a_models_tab_listing_weights(qtbot, torch_home):
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == ["General", "Models"]
    row = _row(dialog.models, "resnet18.imagenet1k_v1")
    assert row[2] == "45 MB" and "ImageNet" in row[3] and row[4] == "no"
    dialog.reject()


def test_download_offline_says_so_and_keeps_nothing(qtbot, torch_home, monkeypatch):
    def refuse(self, address):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    manager = WeightsManager()
    qtbot.addWidget(manager)
    manager.select(NAME)
    assert manager.download_button.isEnabled()
    manager.download_button.click()
    qtbot.waitUntil(lambda: "cannot be reached" in manager.status.text(), timeout=10_000)
    assert "Import file" in manager.status.text() and not torch_home.exists()
    assert manager.download_button.isEnabled() and not manager.progress.isVisible()
    manager.close_lane()


def test_import_file_checks_then_marks_present(qtbot, torch_home, tmp_path):
    source = tmp_path / FILE
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), source)
    manager = WeightsManager()
    qtbot.addWidget(manager)
    manager.import_file(str(source))  # not the published checksum: refused (no dialog while hidden)
    qtbot.waitUntil(lambda: "does not match" in manager.status.text(), timeout=30_000)
    assert _row(manager, NAME)[4] == "no"
    with qtbot.waitSignal(manager.changed, timeout=30_000):
        manager.import_file(str(source), force=True)
    assert _row(manager, NAME)[4] == "yes" and (torch_home / "hub" / "checkpoints" / FILE).is_file()
    manager.close_lane()


def test_model_panel_pretrained_box(qtbot, torch_home):
    from mmstudio import engine
    from mmstudio.config import ModelSpec
    from mmstudio.gui.panels.encoder_options import EncoderOptions

    options = EncoderOptions()
    qtbot.addWidget(options)
    options.set_catalog(engine.encoder_names())
    options.set_model(ModelSpec(), ("image",), ("image",))
    assert not options.pretrained.use.isEnabled()  # the small CNN has no published weights
    options.encoder["image"].setCurrentText("resnet18")
    assert options.pretrained.use.isEnabled()
    options.pretrained.use.setChecked(True)
    spec = options.model(ModelSpec())
    assert spec.image.weights == "resnet18.imagenet1k_v1" and "tune" not in spec.image.options
    options.pretrained.tune.setCurrentIndex(1)
    assert options.model(ModelSpec()).image.options["tune"] == "finetune"
    options.encoder["image"].setCurrentText("mobilenet_v3_small")
    assert options.model(ModelSpec()).image.weights == NAME
    options.pretrained.use.setChecked(False)
    assert options.model(ModelSpec()).image.weights == ""
    shutil.rmtree(torch_home, ignore_errors=True)


def test_train_panel_says_when_a_frozen_backbone_is_computed():
    from mmstudio import engine
    from mmstudio.gui.panels import train_texts

    computing = engine.DataPrepared("image features", 40, 400, 3.0)
    assert "once (frozen pretrained backbone): 40/400" in train_texts.prepared_progress(computing)
    assert train_texts.prepared_log(computing) == []
    done = engine.DataPrepared("image features", 400, 400, 30.5)
    assert "computed image features of 400 files once in 30.5 s" in train_texts.prepared_log(done)[0]
    decoding = engine.DataPrepared("image", 400, 400, 1.0)
    assert train_texts.prepared_progress(decoding) == "Decoding image: 400/400" and not train_texts.prepared_log(
        decoding
    )

"""Export to torch.export (.pt2) and ONNX, checked against PyTorch's own outputs."""

from __future__ import annotations

import importlib.util

import pytest

from mmstudio import engine


def test_export_pt2(trained, tmp_path):
    info = engine.export(trained["result"].bundle, format="pt2", out=str(tmp_path / "pkg"))
    assert info["inputs"] == ["image", "text", "audio", "mask_image", "mask_text", "mask_audio"]
    assert info["outputs"][0] == "logits" and info["max_abs_diff"] < 1e-4


@pytest.mark.skipif(importlib.util.find_spec("onnxscript") is None, reason="needs onnxscript")
def test_export_onnx(trained, tmp_path):
    info = engine.export(trained["result"].bundle, format="onnx", out=str(tmp_path / "pkg"))
    assert (tmp_path / "pkg" / "model.onnx").stat().st_size > 1000
    if importlib.util.find_spec("onnxruntime"):
        assert info["checked"] and info["ok"], info


def test_export_recurrent_and_transformer_encoders(synth_manifest, tmp_path):
    from engine_helpers import drain, tiny_run

    from mmstudio.config import AudioSpec, TextSpec

    run = tiny_run(
        synth_manifest,
        text=TextSpec("transformer"),
        audio=AudioSpec("mel_lstm"),
        fusion="attention",
        train={"epochs": 1, "max_steps": 1},
    )
    _, result = drain(engine.train(run, str(tmp_path / "r")))
    info = engine.export(result.bundle, format="pt2", out=str(tmp_path / "r-pkg"))
    assert info["max_abs_diff"] < 1e-4

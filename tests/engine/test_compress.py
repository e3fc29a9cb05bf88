"""Making a bundle smaller: int8 bundles load safely and predict like the original, pruned
weights are really zero, and an int8 ONNX export is smaller and still agrees."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import load_file

from mmstudio import engine
from mmstudio.engine.bundle import BundleError
from mmstudio.engine.compress import bundle_bytes, compress
from mmstudio.engine.evaluation import run_model


@pytest.fixture(scope="module")
def original(trained):
    return trained["result"].bundle


@pytest.fixture(scope="module")
def test_feats(original, trained):
    from mmstudio.engine.compress_measure import split_features

    return split_features(engine.load_bundle(original), str(trained["manifest"]), "test")


def _agreement(a: str, b: str, feats) -> float:
    la = run_model(engine.load_bundle(a).model, feats)["logits"].argmax(1)
    lb = run_model(engine.load_bundle(b).model, feats)["logits"].argmax(1)
    return float((la == lb).float().mean())


def test_dynamic_int8_bundle_is_smaller_loads_without_pickle_and_agrees(original, test_feats, tmp_path):
    out = str(tmp_path / "int8")
    info = compress(original, "dynamic_int8", out)
    assert info["bytes"] == bundle_bytes(out)
    stored = load_file(os.path.join(out, "model.safetensors"))  # safetensors: no pickle involved
    assert any(v.dtype == torch.int8 for v in stored.values())
    assert os.path.getsize(os.path.join(out, "model.safetensors")) < 0.5 * os.path.getsize(
        os.path.join(original, "model.safetensors")
    )
    bundle = engine.load_bundle(out)
    with open(os.path.join(out, "bundle.json"), encoding="utf-8") as fh:
        assert json.load(fh)["compression"]["method"] == "dynamic_int8"
    quantized = [m for m in bundle.model.modules() if type(m).__module__.startswith("torch.ao.nn.quantized")]
    assert quantized, "no layer was quantised"
    assert _agreement(original, out, test_feats) >= 0.9
    assert engine.evaluate(out, bundle.run.dataset.path, split="test")["accuracy"] >= 0.8


def test_static_int8_quantises_the_conv_encoders(original, test_feats, tmp_path):
    out = str(tmp_path / "static")
    info = compress(original, "static_int8", out, calibration=32)
    assert set(info["static"]) == {"image", "audio"}  # cnn and mel_cnn trace; text has no conv part
    assert "text" in info["notes"]
    bundle = engine.load_bundle(out)
    graph = bundle.model.encoders["image"].features
    assert type(graph).__name__ == "GraphModule"
    assert any("quantized" in type(m).__module__ for m in graph.modules())
    assert _agreement(original, out, test_feats) >= 0.85


def test_pruned_weights_are_zero_and_load_as_an_ordinary_bundle(original, tmp_path):
    out = str(tmp_path / "pruned")
    info = compress(original, "prune", out, sparsity=0.5, finetune=3)
    assert info["achieved"] == pytest.approx(0.5, abs=0.01)
    stored = load_file(os.path.join(out, "model.safetensors"))
    bundle = engine.load_bundle(out)
    names = [
        f"{n}.weight"
        for n, m in bundle.model.named_modules()
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d))
    ]
    zeros = sum(int((stored[k] == 0).sum()) for k in names)
    total = sum(stored[k].numel() for k in names)
    assert zeros / total == pytest.approx(0.5, abs=0.01)  # still zero after the fine-tune
    assert not any(k.endswith(("weight_orig", "weight_mask")) for k in stored)  # prune.remove ran


def test_a_changed_int8_file_is_refused(original, tmp_path):
    out = str(tmp_path / "int8")
    compress(original, "dynamic_int8", out)
    path = os.path.join(out, "model.safetensors")
    with open(path, "r+b") as fh:
        fh.seek(-5, os.SEEK_END)
        byte = fh.read(1)
        fh.seek(-5, os.SEEK_END)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(BundleError, match="checksum"):
        engine.load_bundle(out)


def test_compress_refuses_bad_requests(original, tmp_path):
    with pytest.raises(ValueError, match="unknown compression"):
        compress(original, "fp4", str(tmp_path / "x"))
    with pytest.raises(ValueError, match="sparsity"):
        compress(original, "prune", str(tmp_path / "x"), sparsity=1.5)
    with pytest.raises(ValueError, match="new folder"):
        compress(original, "dynamic_int8", original)
    out = str(tmp_path / "int8")
    compress(original, "dynamic_int8", out)
    with pytest.raises(ValueError, match="already compressed"):
        compress(out, "prune", str(tmp_path / "y"))


def test_int8_onnx_export_is_smaller_and_agrees(original, tmp_path):
    pytest.importorskip("onnxruntime")
    fp32 = engine.export(original, "onnx", str(tmp_path / "fp32"))
    int8 = engine.export(original, "onnx", str(tmp_path / "int8"), quantize="int8")
    assert int8["quantize"] == "int8" and int8["checked"] and int8["ok"]
    assert os.path.getsize(int8["path"]) < 0.6 * os.path.getsize(fp32["path"])
    meta = engine.read_export_metadata(int8["path"])
    assert meta["modalities"] == ["image", "text", "audio"] and meta["quantize"] == "int8"

"""Bundles rebuild from JSON alone, refuse tampered/truncated/incompatible files with a message
naming the file, never unpickle, and are replaced atomically."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from mmstudio import engine
from mmstudio.engine.bundle import BundleError, atomic_dir
from mmstudio.engine.cache import prepare
from mmstudio.engine.evaluation import run_model
from mmstudio.engine.events import drive


@pytest.fixture
def bundle_copy(trained, tmp_path):
    dest = tmp_path / "bundle"
    shutil.copytree(trained["result"].bundle, dest)
    return dest


def test_round_trip_gives_identical_outputs(trained, tmp_path):
    first = engine.load_bundle(trained["result"].bundle)
    meta = first.meta
    assert meta["format"] == "mmstudio.bundle" and meta["class_names"] == ["one", "two", "zero"]
    assert meta["preprocessing"]["tokenizer"]["vocab"][:2] == ["<pad>", "<unk>"]
    assert {"torch", "torchvision", "torchaudio", "mmstudio"} <= set(meta["versions"])
    second = engine.load_bundle(trained["out"])  # a run folder opens its bundle
    from mmstudio.data import open_dataset

    items = open_dataset(str(trained["manifest"])).subset("test")
    feats = drive(prepare(items, first.preprocessor, {}), None)
    a, b = run_model(first.model, feats), run_model(second.model, feats)
    assert torch.equal(a["logits"], b["logits"])
    assert not any(name.endswith((".pt", ".pkl")) for name in os.listdir(first.path))


def test_tampered_weights_are_refused(bundle_copy):
    weights = bundle_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.safetensors.*checksum"):
        engine.load_bundle(bundle_copy)


def test_truncated_files_are_refused(bundle_copy):
    weights = bundle_copy / "model.safetensors"
    meta = json.loads((bundle_copy / "bundle.json").read_text())
    weights.write_bytes(weights.read_bytes()[:100])
    meta["weights"].pop("sha256")  # without the checksum, safetensors itself must catch it
    (bundle_copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="model.safetensors.*(truncated|unreadable)"):
        engine.load_bundle(bundle_copy)
    (bundle_copy / "bundle.json").write_text(json.dumps(meta)[:50])
    with pytest.raises(BundleError, match="bundle.json.*truncated"):
        engine.load_bundle(bundle_copy)


def test_incompatible_bundles_are_refused(bundle_copy):
    path = bundle_copy / "bundle.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "bundle_version": 99}))
    with pytest.raises(BundleError, match="newer MMStudio"):
        engine.load_bundle(bundle_copy)
    meta["config"]["model"]["dim"] = 48  # weights no longer fit the described model
    path.write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="do not fit"):
        engine.load_bundle(bundle_copy)
    meta["config"]["model"]["fusion"] = "no_such_fusion"
    path.write_text(json.dumps(meta))
    with pytest.raises((BundleError, KeyError)):
        engine.load_bundle(bundle_copy)
    with pytest.raises(BundleError, match="not a model bundle"):
        engine.load_bundle(bundle_copy / "missing")


def test_checkpoint_state_refuses_pickled_code(trained, tmp_path):
    from mmstudio.engine import checkpoint as ckpt
    from mmstudio.engine.model import MultimodalModel

    last = tmp_path / "last"
    shutil.copytree(ckpt.find_checkpoint(str(trained["out"])), last)
    torch.save({"optimizer": {"state": {}, "param_groups": []}, "evil": Exploit()}, last / "trainer.pt")
    bundle = engine.load_bundle(last)
    model = MultimodalModel(bundle.run.model, bundle.shape)
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    with pytest.raises(BundleError, match="trainer.pt"):
        ckpt.load_checkpoint(str(last), model, opt, sched)


class Exploit:
    """An object whose unpickling would run code: weights_only loading must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo unpickled > /dev/null",))


@pytest.mark.fault(
    case="A bundle write interrupted half-way",
    how="`atomic_dir` filler writes a partial `model.safetensors` and raises ENOSPC",
    behaviour="The previous bundle is unchanged and loads; no temporary folder is left.",
)
def test_interrupted_save_keeps_previous_bundle(bundle_copy):
    before = (bundle_copy / "model.safetensors").read_bytes()

    def fail_half_way(tmp):
        with open(os.path.join(tmp, "model.safetensors"), "wb") as fh:
            fh.write(b"partial")
        raise OSError("No space left on device")

    with pytest.raises(OSError):
        atomic_dir(str(bundle_copy), fail_half_way)
    assert (bundle_copy / "model.safetensors").read_bytes() == before
    assert not [p for p in os.listdir(bundle_copy.parent) if p.startswith(".tmp-")]
    engine.load_bundle(bundle_copy)


def test_local_image_weights_load_and_refuse_pickles(tmp_path):
    from safetensors.torch import save_file

    from mmstudio.engine.encoders import IMAGE_ENCODERS

    source = IMAGE_ENCODERS.create("cnn", dim=8)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, tmp_path / "w.safetensors")
    loaded = IMAGE_ENCODERS.create("cnn", dim=8, weights=str(tmp_path / "w.safetensors"))
    assert torch.equal(loaded.features[0].weight, source.features[0].weight)
    torch.save({"x": Exploit()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="refused to unpickle"):
        IMAGE_ENCODERS.create("cnn", dim=8, weights=str(tmp_path / "evil.pth"))


def test_predict_one_sample_with_missing_modalities(trained):
    root = trained["manifest"].parent
    image = sorted((root / "images").glob("s1_*.png"))[-1]
    audio = sorted((root / "audio").glob("s1_*.wav"))[-1]
    bundle = engine.load_bundle(trained["result"].bundle)
    full = engine.predict(bundle, image=str(image), audio=str(audio), text="the number one")
    assert full["label"] == "one" and abs(sum(t["probability"] for t in full["top"]) - 1) < 1e-4
    assert engine.predict(bundle, audio=str(audio))["used"] == ["audio"]
    with pytest.raises(ValueError, match="at least one"):
        engine.predict(bundle)

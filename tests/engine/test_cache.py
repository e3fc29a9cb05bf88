"""The decoded-input cache: in memory when it fits, memory-mapped on disk when it does not."""

from __future__ import annotations

import os

import pytest
import torch

from mmstudio.config import AudioSpec, DatasetSpec, ImageSpec, ModelSpec
from mmstudio.data import open_dataset
from mmstudio.engine import cache
from mmstudio.engine.diskcache import evict
from mmstudio.engine.events import drive
from mmstudio.engine.preprocess import Preprocessor, augment_images


def _prepare(manifest, **kw):
    ds = open_dataset(DatasetSpec(str(manifest)))
    spec = ModelSpec(image=ImageSpec(size=28), audio=AudioSpec(sample_rate=8000, seconds=1.0))
    pre = Preprocessor.from_model_spec(spec, ("image", "audio"), 1, None)
    events: list = []
    feats = drive(cache.prepare(ds.items, pre, {n: i for i, n in enumerate(ds.class_names)}), events.append)
    return feats, [e for e in events if e.total]


@pytest.fixture
def small_budget(monkeypatch, tmp_path):
    """Call it to set a memory budget of 1 KiB, so every modality spills to a mapped file."""

    def shrink():
        monkeypatch.setattr(cache.STORE, "max_bytes", 1024)
        cache.STORE.clear()
        return tmp_path / "cache"

    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    yield shrink
    cache.STORE.clear()


def test_spilled_inputs_equal_in_memory_ones_and_a_second_run_decodes_nothing(synth_manifest, small_budget):
    in_memory, _ = _prepare(synth_manifest)
    folder = small_budget()
    mapped, progress = _prepare(synth_manifest)
    assert progress, "the first spilled run decodes files"
    files = sorted(os.listdir(folder))
    assert [f for f in files if f.endswith(".bin")] and not [f for f in files if f.endswith(".tmp")]
    for m in ("image", "audio"):
        assert torch.equal(mapped.inputs[m], in_memory.inputs[m])
        assert torch.equal(mapped.mask[m], in_memory.mask[m])
    again, progress = _prepare(synth_manifest)
    assert progress == [], "a finished cache file is reused: nothing is decoded twice"
    assert torch.equal(again.inputs["image"], in_memory.inputs["image"])


def test_an_edited_file_is_decoded_again(synth_manifest, small_budget, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(synth_manifest.parent, copy)
    small_budget()
    _prepare(copy / synth_manifest.name)
    image = next(p for p in copy.rglob("*.png"))
    os.utime(image, ns=(1, 1))  # a changed modification time: another key
    _, progress = _prepare(copy / synth_manifest.name)
    assert progress and progress[0].modality == "image"


def test_eviction_keeps_the_folder_under_its_bound(tmp_path):
    for i, size in enumerate((400, 300, 200)):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(b"x" * size)
        (tmp_path / f"f{i}.json").write_text("{}")
        os.utime(p, (i, i))  # f0 least recently used
    evict(str(tmp_path), 600)
    assert sorted(os.listdir(tmp_path)) == ["f1.bin", "f1.json", "f2.bin", "f2.json"]


def test_batched_augmentation_changes_images_but_keeps_shape_dtype_and_content():
    torch.manual_seed(0)
    img = torch.zeros(8, 1, 28, 28, dtype=torch.uint8)
    img[:, :, 8:20, 8:20] = 255
    out = augment_images(img)
    assert out.shape == img.shape and out.dtype == torch.uint8
    assert not torch.equal(out, img)
    # small affine changes: the bright square moves and turns a little but stays mostly there
    kept = (out.float() / 255).sum((1, 2, 3)) / 144
    assert bool(((kept > 0.7) & (kept < 1.3)).all())
    assert len({tuple(o.flatten().tolist()) for o in out}) == 8, "drawn per sample"

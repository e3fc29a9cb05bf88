"""Hostile or damaged ``bundle.json`` files (issue 16): every one is refused with a BundleError
naming the file and the field, before anything is allocated, and the CLI exits 2 with it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from mmstudio import cli, engine
from mmstudio.engine.bundle import BundleError

HUGE = "__HUGE__"  # written as a 5,000-digit number (Python itself refuses to make that int)
DEEP = "__DEEP__"  # written as 10,000 nested lists

#: name -> (how bundle.json is changed, the field the message must name)
DAMAGE = {
    "class count 10^12": (lambda m: m["shape"].update(num_classes=10**12), "shape.num_classes"),
    "vocabulary of 10^9": (lambda m: m["shape"].update(vocab_size=10**9), "shape.vocab_size"),
    "feature dim 10^7": (lambda m: m["config"]["model"].update(dim=10**7), "config.model.dim"),
    "audio seconds 1e9": (lambda m: m["config"]["model"]["audio"].update(seconds=1e9), "config.model.audio.seconds"),
    "image size 10^6": (lambda m: m["config"]["model"]["image"].update(size=10**6), "config.model.image.size"),
    "class names a number": (lambda m: m.update(class_names=3), "class_names"),
    "nested 10,000 deep": (lambda m: m["metrics"].update(x=DEEP), ""),
    "5,000-digit number": (lambda m: m["shape"].update(n_mels=HUGE), ""),
    "version -1": (lambda m: m.update(bundle_version=-1), "bundle_version"),
    "version 1.5": (lambda m: m.update(bundle_version=1.5), "bundle_version"),
    "shape a list": (lambda m: m.update(shape=[1, 2]), "shape"),
    "weights named by absolute path": (lambda m: m["weights"].update(file="/etc/passwd"), "weights.file"),
    "weights named ../..": (lambda m: m["weights"].update(file="../../model.safetensors"), "weights.file"),
    "NUL in the weights name": (lambda m: m["weights"].update(file="model\x00.safetensors"), "weights.file"),
    "tokenizer vocab of numbers": (
        lambda m: m["preprocessing"]["tokenizer"].update(vocab=[1, 2]),
        "preprocessing.tokenizer",
    ),
    "dims consistent but far larger than the weights": (
        lambda m: m["config"]["model"].update(dim=8192, embed_dim=8192),
        "shape",
    ),
}


@pytest.fixture
def bundle_copy(trained, tmp_path):
    dest = tmp_path / "bundle"
    shutil.copytree(trained["result"].bundle, dest)
    return dest


def _damage(folder, change) -> None:
    meta_path = folder / "bundle.json"
    meta = json.loads(meta_path.read_text())
    change(meta)
    text = json.dumps(meta).replace(f'"{HUGE}"', "9" * 5000)
    meta_path.write_text(text.replace(f'"{DEEP}"', "[" * 10_000 + "1" + "]" * 10_000))


@pytest.mark.fault(
    case="bundle.json with out-of-range or wrong-typed values: " + "; ".join(DAMAGE),
    how="a trained bundle's JSON edited (`tests/engine/test_hostile_bundles.py`)",
    behaviour="BundleError naming bundle.json and the field (e.g. `shape.num_classes: "
    "1000000000000 is out of range (0..100000)`), raised before any tensor is "
    "allocated; `mmstudio eval` exits 2 with it; no file is written",
)
@pytest.mark.parametrize("name", list(DAMAGE))
def test_hostile_bundle_json_is_refused_naming_the_field(bundle_copy, trained, name, capsys):
    change, where = DAMAGE[name]
    _damage(bundle_copy, change)
    before = sorted(os.listdir(bundle_copy))
    with pytest.raises(BundleError) as info:
        engine.load_bundle(bundle_copy)
    message = str(info.value)
    assert str(bundle_copy / "bundle.json") in message
    assert where in message
    code = cli.main(["eval", str(bundle_copy), "--data", str(trained["manifest"]), "--no-ablation"])
    err = capsys.readouterr().err
    assert code == 2 and "bundle.json" in err and "Traceback" not in err
    assert sorted(os.listdir(bundle_copy)) == before


@pytest.mark.fault(
    case="A bundle whose weights file is a symlink to a file outside the bundle",
    how="`model.safetensors` replaced by a link to a copy one folder up",
    behaviour="Refused: `weights.file: 'model.safetensors' points outside the bundle's "
    "folder (…)`; the outside file is never opened",
)
def test_weights_symlink_out_of_the_bundle_is_refused(bundle_copy, tmp_path):
    outside = tmp_path / "elsewhere.safetensors"
    shutil.move(bundle_copy / "model.safetensors", outside)
    os.symlink(outside, bundle_copy / "model.safetensors")
    with pytest.raises(BundleError, match=r"weights\.file.*points outside the bundle"):
        engine.load_bundle(bundle_copy)
    os.unlink(bundle_copy / "model.safetensors")
    os.symlink("inner.safetensors", bundle_copy / "model.safetensors")  # a link inside is fine
    shutil.move(outside, bundle_copy / "inner.safetensors")
    assert engine.load_bundle(bundle_copy).class_names == ["one", "two", "zero"]


@pytest.mark.fault(
    case="A decoded-input cache larger than the free disk space (the 16 TB file a hostile audio length once asked for)",
    how="`MappedInputs.create()` for 10^13 bytes in a temporary folder",
    behaviour="Refused before any file is created: `could not write …: the decoded inputs need "
    "10,000,000,000,000 bytes and N are free there; free some disk space, or choose "
    "smaller inputs`; the folder stays empty",
)
def test_a_cache_larger_than_the_disk_is_refused_before_creating_anything(tmp_path):
    import torch

    from mmstudio.engine.diskcache import MappedInputs

    cache = MappedInputs(
        ("audio", 1), [f"{i}.wav" for i in range(10_000)], (250_000_000,), torch.float32, folder=str(tmp_path)
    )
    assert cache.nbytes == 10**13
    with pytest.raises(OSError, match=r"need 10,000,000,000,000 bytes and [\d,]+ are free there"):
        cache.create()
    assert os.listdir(tmp_path) == []


@pytest.mark.fault(
    case="A shipped embedding index whose item list is damaged",
    how="the index's safetensors metadata rewritten: items a number, deep nesting, an image path that is a number",
    behaviour="BundleError naming the index and the field (`damaged index metadata: …`); "
    "relative item paths are resolved against the index's folder",
)
def test_hostile_index_metadata(trained, tmp_path):
    from safetensors.torch import load_file, save_file

    from mmstudio.engine.retrieval import load_index

    index = engine.build_index(trained["result"].bundle, trained["manifest"], out=str(tmp_path / "i.safetensors"))
    tensors = load_file(index)
    _, items, meta = load_index(index)
    for bad, field in (("7", ""), ("[" * 5000 + "]" * 5000, "nested"), ('[{"image": 3}]', "[0].image")):
        save_file(tensors, index, metadata={**meta, "items": bad})
        with pytest.raises(BundleError, match="damaged index metadata") as info:
            load_index(index)
        assert str(index) in str(info.value) and field in str(info.value)
    relative = [{**items[0], "image": "pics/inside.png"}]
    save_file(tensors, index, metadata={**meta, "items": json.dumps(relative)})
    _, loaded, _ = load_index(index)
    assert loaded[0]["image"] == str(tmp_path / "pics" / "inside.png")

"""Pretrained weights: found in the torch hub cache under torchvision's file names, loaded without
unpickling, trained in frozen-feature mode (outputs cached), recorded by identity in bundles that
open after the file is gone; import checks; the catalogue matches the installed libraries.

The weight files are made here (a torchvision model's ``state_dict()`` saved under the expected
name in a temporary TORCH_HOME): nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_helpers import drain, tiny_run

from mmstudio import engine
from mmstudio.engine import pretrained
from mmstudio.engine.weights_check import import_file

ARCH, NAME = "mobilenet_v3_small", "mobilenet_v3_small.imagenet1k_v1"  # the smallest (10 MB)


@pytest.fixture(scope="session")
def weight_files(tmp_path_factory) -> Path:
    """State dicts of torchvision models (random, fixed seed), saved once."""
    import torchvision

    folder = tmp_path_factory.mktemp("weights")
    for arch in (ARCH, "resnet18"):
        torch.manual_seed(0)
        torch.save(getattr(torchvision.models, arch)().state_dict(), folder / f"{arch}.pth")
    return folder


@pytest.fixture
def hub(tmp_path, monkeypatch, weight_files) -> Path:
    """A fresh TORCH_HOME with the mobilenet weights in place; features cached in tmp too."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    info = pretrained.find(NAME)
    os.makedirs(os.path.dirname(info.path()), exist_ok=True)
    shutil.copy(weight_files / f"{ARCH}.pth", info.path())
    return tmp_path


def test_hub_dir_is_torchs(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert pretrained.hub_dir() == torch.hub.get_dir() == str(tmp_path / "hub")


def test_catalogue_matches_the_libraries():
    """Each entry's URL and size are what torchvision/torchaudio publish today."""
    import torchaudio.pipelines
    import torchvision.models as tvm

    for info in pretrained.CATALOGUE.values():
        enum, tag = info.source.split(".")[-2:]
        if info.modality == "image":
            w = getattr(getattr(tvm, enum), tag)
            assert w.url == info.url and w.meta["_file_size"] == pytest.approx(info.mbytes), info.name
            assert info.hash_prefix and info.hash_prefix in w.url
        else:
            assert info.url.endswith(getattr(torchaudio.pipelines, tag)._path), info.name
        assert info.encoder in dict(engine.encoder_names()[info.modality]), info.name


def test_weights_load_from_the_hub_file_and_apply_their_transform(hub, weight_files):
    from mmstudio.engine.encoders import IMAGE_ENCODERS

    enc = IMAGE_ENCODERS.create(ARCH, dim=8, in_channels=1, weights=NAME)
    saved = torch.load(weight_files / f"{ARCH}.pth", weights_only=True)
    first = "features.0.0.weight"
    assert torch.equal(enc.backbone.state_dict()[first], saved[first])
    assert enc.mode == "frozen" and enc.own_transform and (enc.resize, enc.crop) == (256, 224)
    assert not any(p.requires_grad for p in enc.backbone.parameters())
    x = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    assert enc.transform(x).shape == (2, 3, 224, 224)
    assert enc(x).shape == (2, 8)


def test_finetune_unfreezes_the_last_blocks_at_a_lower_rate(hub):
    from mmstudio.engine.encoders import IMAGE_ENCODERS

    enc = IMAGE_ENCODERS.create(ARCH, dim=8, in_channels=3, weights=NAME, tune="finetune")
    trainable = [n for n, p in enc.named_parameters() if p.requires_grad]
    assert any(n.startswith("backbone.features.12") for n in trainable)
    assert not any(n.startswith("backbone.features.0.") for n in trainable)
    scaled = [p for p in enc.backbone.parameters() if p.requires_grad]
    assert scaled and all(p.lr_scale == pretrained.FINETUNE_LR_SCALE for p in scaled)
    enc.train()
    assert not enc.backbone.features[0].training and enc.backbone.features[12].training


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch, synth_manifest):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    run = tiny_run(synth_manifest, modalities=("image", "text"))
    run = run.replace(model=run.model.replace(image=dataclasses.replace(run.model.image, encoder=ARCH, weights=NAME)))
    problems = [p for p in engine.check(run) if p.field == "model.image.weights"]
    assert len(problems) == 1
    assert f"mmstudio weights get {NAME}" in problems[0].message and "import" in problems[0].message
    wrong = run.replace(model=run.model.replace(image=dataclasses.replace(run.model.image, encoder="resnet18")))
    assert any("weights for mobilenet_v3_small" in p.message for p in engine.check(wrong))


def _pretrained_run(manifest, tune: str = "auto", epochs: int = 3):
    run = tiny_run(manifest, modalities=("image", "text"), fusion="concat", train={"epochs": epochs})
    image = dataclasses.replace(run.model.image, encoder=ARCH, weights=NAME, options={"tune": tune}, size=32)
    return run.replace(model=run.model.replace(image=image))


def test_frozen_run_caches_features_and_the_bundle_opens_without_the_weights(hub, synth_manifest, tmp_path):
    run = _pretrained_run(synth_manifest)
    events, result = drain(engine.train(run, str(tmp_path / "run")))
    computed = [e for e in events if isinstance(e, engine.DataPrepared) and e.modality == "image features"]
    assert computed and computed[-1].done == computed[-1].total > 0
    cache = list((tmp_path / "cache" / "encoded").rglob("*.npz"))
    assert cache, "the backbone outputs are kept in the cache folder"
    # the backbone did not change: frozen
    bundle = engine.load_bundle(result.bundle)
    meta = bundle.meta["pretrained"]["image"]
    info = pretrained.find(NAME)
    assert meta == {"name": NAME, "sha256": hashlib.sha256(Path(info.path()).read_bytes()).hexdigest()}
    saved = torch.load(info.path(), weights_only=True)
    assert torch.equal(
        bundle.model.encoders["image"].backbone.state_dict()["features.0.0.weight"], saved["features.0.0.weight"]
    )
    # a second run on the same files computes nothing
    events2, _ = drain(engine.train(run, str(tmp_path / "run2")))
    assert not [e for e in events2 if isinstance(e, engine.DataPrepared) and e.modality == "image features"]
    # the weights file gone (another machine): the bundle still opens and predicts the same
    before = engine.predict(result.bundle, image=_an_image(synth_manifest), text="one")
    os.unlink(info.path())
    after = engine.predict(result.bundle, image=_an_image(synth_manifest), text="one")
    assert before == after
    assert "image" in engine.load_bundle(result.bundle).model.encoders


def _an_image(manifest: Path) -> str:
    return str(next((manifest.parent / "images").glob("*.png")))


def test_frozen_features_score_as_the_full_model_does(hub, synth_manifest, tmp_path):
    """The validation accuracy trained on cached outputs is the bundle's own on raw images."""
    run = _pretrained_run(synth_manifest, epochs=2)
    _, result = drain(engine.train(run, str(tmp_path / "run")))
    report = engine.evaluate(result.bundle, str(synth_manifest), split="test", ablation=False)
    assert report["accuracy"] == pytest.approx(result.metrics["val"]["accuracy"], abs=1e-6)


def test_finetune_run_changes_the_last_block_only(hub, synth_manifest, tmp_path):
    run = _pretrained_run(synth_manifest, tune="finetune", epochs=1)
    events, result = drain(engine.train(run, str(tmp_path / "run")))
    assert not [e for e in events if isinstance(e, engine.DataPrepared) and e.modality == "image features"]
    saved = torch.load(pretrained.find(NAME).path(), weights_only=True)
    state = engine.load_bundle(result.bundle).model.encoders["image"].backbone.state_dict()
    assert torch.equal(state["features.0.0.weight"], saved["features.0.0.weight"])
    assert not torch.equal(state["features.12.0.weight"], saved["features.12.0.weight"])


def test_import_checks_the_checksum_and_the_architecture(tmp_path, monkeypatch, weight_files):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    info = pretrained.find(NAME)
    source = tmp_path / "download" / info.file_name
    source.parent.mkdir()
    shutil.copy(weight_files / f"{ARCH}.pth", source)
    with pytest.raises(pretrained.WeightsError, match="does not match the published"):
        import_file(str(source))
    assert not os.path.exists(info.path())
    # the published checksum of this very file: accepted, copied under torchvision's name
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    fake = dataclasses.replace(info, url=info.url.replace(info.hash_prefix, digest[:8]))
    monkeypatch.setitem(pretrained.CATALOGUE, NAME, fake)
    assert import_file(str(source), NAME) == fake and fake.present()
    # a file of another architecture is refused even with --force
    other = tmp_path / "other.pth"
    shutil.copy(weight_files / "resnet18.pth", other)
    with pytest.raises(pretrained.WeightsError, match="does not fit"):
        import_file(str(other), NAME, force=True)
    pickled = tmp_path / "evil.pth"
    torch.save({"x": object()}, pickled)
    with pytest.raises(pretrained.WeightsError, match="refused to unpickle"):
        import_file(str(pickled), NAME, force=True)


def test_download_fails_fast_and_changes_nothing_without_a_network(tmp_path, monkeypatch):
    import socket
    import time

    from mmstudio.engine.downloads import download

    def refuse(self, address):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    start = time.monotonic()
    with pytest.raises(pretrained.WeightsError) as err:
        download(pretrained.find("resnet18.imagenet1k_v1"))
    assert time.monotonic() - start < 10
    assert "cannot be reached" in str(err.value) and "mmstudio weights import" in str(err.value)
    assert not (tmp_path / "torch").exists()


def test_automatic_settings_pick_present_weights_for_small_image_sets(hub, synth_manifest):
    from mmstudio.config import DatasetSpec, RunConfig

    dataset = engine.load_dataset(str(synth_manifest))
    run, chosen = engine.resolve_settings(RunConfig(DatasetSpec(str(synth_manifest))), dataset)
    assert run.model.image.encoder == ARCH and run.model.image.weights == NAME
    reason = next(c.reason for c in chosen if c.field == "model.image.encoder")
    assert NAME in reason and "frozen" in reason
    # named by the user: kept
    run2, _ = engine.resolve_settings(RunConfig(DatasetSpec(str(synth_manifest))), dataset, pick_encoder=False)
    assert run2.model.image.encoder == "cnn"
    os.unlink(pretrained.find(NAME).path())  # no weights here: the small CNN
    run3, _ = engine.resolve_settings(RunConfig(DatasetSpec(str(synth_manifest))), dataset)
    assert run3.model.image.encoder == "cnn"


def test_a_silent_network_is_given_up_on(monkeypatch):
    """A name lookup or connection that never answers (packets dropped) does not hold the user."""
    import socket
    import time

    from mmstudio.engine import downloads

    def silent(*args, **kwargs):
        time.sleep(30)
        raise OSError("no answer")

    monkeypatch.setattr(socket, "create_connection", silent)
    start = time.monotonic()
    with pytest.raises(pretrained.WeightsError, match="no answer within 1 s"):
        downloads.check_reachable(pretrained.find(NAME), timeout=1.0)
    assert time.monotonic() - start < 3


@pytest.fixture
def weights_server(tmp_path, weight_files):
    """An HTTP server on this machine serving the mobilenet file under a hash-named file name."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    digest = hashlib.sha256((weight_files / f"{ARCH}.pth").read_bytes()).hexdigest()
    name = f"{ARCH}-{digest[:8]}.pth"
    shutil.copy(weight_files / f"{ARCH}.pth", root / name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{name}", root / name
    server.shutdown()


def test_download_uses_torch_hub_and_cancel_keeps_nothing(weights_server, tmp_path, monkeypatch):
    from mmstudio.engine.downloads import DownloadCancelled, download

    url, served = weights_server
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    info = dataclasses.replace(pretrained.find(NAME), url=url)
    with pytest.raises(DownloadCancelled):
        download(info, cancelled=lambda: True)
    folder = Path(info.path()).parent
    assert not info.present() and not list(folder.glob("*.partial"))
    seen = []
    assert download(info, seen.append, poll_s=0.05) == info.path()
    assert Path(info.path()).read_bytes() == served.read_bytes()
    assert seen[-1].done == served.stat().st_size and not list(folder.glob("*.partial"))
    # a file that is not what the name's checksum says is refused by torch.hub, and not kept
    os.unlink(info.path())
    served.write_bytes(b"not the weights")
    with pytest.raises(pretrained.WeightsError, match="invalid hash value"):
        download(info)
    assert not info.present() and not list(folder.glob("*.partial"))


def test_export_is_self_contained(hub, synth_manifest, tmp_path):
    """The weights' preprocessing is inside the model: the ONNX package answers as the bundle
    does, exported after the weights file is gone."""
    pytest.importorskip("onnxruntime")
    run = _pretrained_run(synth_manifest, epochs=1)
    run = run.replace(model=run.model.replace(modalities=("image",)))
    _, result = drain(engine.train(run, str(tmp_path / "run")))
    os.unlink(pretrained.find(NAME).path())
    info = engine.export(result.bundle, format="onnx", out=str(tmp_path / "export"))
    assert info["checked"] and info["ok"] and info["max_abs_diff"] < 1e-4

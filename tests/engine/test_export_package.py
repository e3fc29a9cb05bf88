"""An export is a self-describing package: its numpy-only preprocessing reproduces the studio's
from raw files, and the ONNX model run by onnxruntime from that package alone (no torch, no
mmstudio) gives the studio's predictions, missing modalities included."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import subprocess
import sys
import types

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from mmstudio import engine
from mmstudio.engine import standalone
from mmstudio.engine.export_package import preprocess_spec, tokenizer_json
from mmstudio.gui.paths import DEMO_BUNDLE, DEMO_DATASET

needs_onnx = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnxscript") is None,
    reason="needs onnxscript and onnxruntime (the test extra)",
)


@pytest.fixture(scope="module")
def demo():
    bundle = engine.load_bundle(str(DEMO_BUNDLE))
    spec = preprocess_spec(bundle, ["logits"])
    spec["text"]["tokenizer"] = tokenizer_json(bundle)
    rows = list(csv.DictReader(DEMO_DATASET.open(encoding="utf-8")))
    return bundle, spec, rows


def _variant(bundle, spec_changes: dict, channels: int | None = None):
    """A stand-in bundle whose preprocessing differs (to check other settings' code paths)."""
    pre = bundle.preprocessor
    pre = dataclasses.replace(
        pre,
        audio=dataclasses.replace(pre.audio, **spec_changes.get("audio", {})),
        image=dataclasses.replace(pre.image, **spec_changes.get("image", {})),
        channels=channels or pre.channels,
        _transform=None,
    )
    stand_in = types.SimpleNamespace(
        preprocessor=pre, modalities=bundle.modalities, class_names=bundle.class_names, meta={}, path="x"
    )
    return pre, preprocess_spec(stand_in, ["logits"])


def test_standalone_preprocessing_matches_the_studio_on_real_files(demo, tmp_path):
    bundle, spec, rows = demo
    pre = bundle.preprocessor
    for row in rows[::97]:
        image, audio = str(DEMO_DATASET.parent / row["image"]), str(DEMO_DATASET.parent / row["audio"])
        assert np.array_equal(standalone.image_input(image, spec), pre.load_image(image).numpy())
        ours, studio = standalone.audio_input(audio, spec), pre.load_audio(audio).numpy()
        assert ours.dtype == studio.dtype == np.float16 and ours.shape == studio.shape
        np.testing.assert_allclose(ours.astype(np.float32), studio.astype(np.float32), atol=1e-2)
        assert np.array_equal(standalone.text_input(row["text"], spec), pre.text_batch([row["text"]])[0].numpy())
    for text in ("", "A handwritten Digit NINE!", "words it never saw"):
        assert np.array_equal(standalone.text_input(text, spec), pre.text_batch([text])[0].numpy())


def test_standalone_resampling_resizing_and_mfcc_match_the_studio(demo, tmp_path):
    bundle, _, rows = demo
    wave, rate = sf.read(DEMO_DATASET.parent / rows[0]["audio"], dtype="float32")
    for new_rate in (22050, 44100):  # resampled by both sides from a rate the model does not use
        x = np.interp(np.arange(int(len(wave) * new_rate / rate)) * rate / new_rate, np.arange(len(wave)), wave)
        sf.write(tmp_path / f"{new_rate}.wav", x.astype(np.float32), new_rate, subtype="FLOAT")
        for changes in ({"features": "logmel"}, {"features": "mfcc", "sample_rate": 16000, "hop_ms": 10.0}):
            pre, spec = _variant(bundle, {"audio": changes})
            path = str(tmp_path / f"{new_rate}.wav")
            ours, studio = standalone.audio_input(path, spec).astype(np.float32), pre.load_audio(path).numpy()
            np.testing.assert_allclose(ours, studio.astype(np.float32), atol=0.05 * max(1.0, np.abs(studio).max() / 64))
    # a large RGB photo, rotated by its EXIF tag, resized to the model's size
    rgb = (np.random.default_rng(0).random((90, 150, 3)) * 255).astype(np.uint8)
    photo = Image.fromarray(rgb)
    exif = photo.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    photo.save(tmp_path / "photo.jpg", exif=exif, quality=95)
    pre, spec = _variant(bundle, {"image": {"size": 32}}, channels=3)
    ours, studio = (
        standalone.image_input(str(tmp_path / "photo.jpg"), spec),
        pre.load_image(str(tmp_path / "photo.jpg")).numpy(),
    )
    assert ours.shape == studio.shape == (3, 32, 32)
    assert np.abs(ours.astype(int) - studio.astype(int)).max() <= 2  # Pillow vs torchvision bilinear


@pytest.mark.slow
@needs_onnx
def test_the_onnx_package_alone_reproduces_the_studios_predictions_on_raw_files(demo, tmp_path):
    bundle, _, rows = demo
    info = engine.export(bundle, format="onnx", out=str(tmp_path / "pkg"))
    package = tmp_path / "pkg"
    assert info["checked"] and info["ok"], info
    assert (
        sorted(p.name for p in package.iterdir())
        == sorted(info["files"])
        == sorted(["model.onnx", "preprocess.json", "tokenizer.json", "predict.py", "README.md"])
    )
    meta = engine.read_export_metadata(str(package / "model.onnx"))
    assert meta["class_names"] == list(bundle.class_names) and meta["mmstudio_version"]
    assert meta["inputs"]["audio"]["dtype"] == "float16" and "mask_text" in meta["inputs"]
    pre = json.loads((package / "preprocess.json").read_text())
    assert pre["audio"]["stft"] == {
        "n_fft": 512,
        "win_length": 512,
        "hop_length": 160,
        "window": "hann (periodic)",
        "center": True,
        "pad_mode": "reflect",
        "power": 2.0,
        "onesided": True,
    }
    card = (package / "README.md").read_text()
    assert "## Intended use" in card and "Licence of the data" in card and "`mask_audio`" in card

    # real raw files; every 3rd sample without audio, every 4th without image, one text only
    samples = []
    for i, row in enumerate(rows[::25]):
        s = {
            "image": str(DEMO_DATASET.parent / row["image"]),
            "audio": str(DEMO_DATASET.parent / row["audio"]),
            "text": row["text"],
        }
        if i % 3 == 0:
            s["audio"] = None
        if i % 4 == 0:
            s["image"] = None
        samples.append(s)
    samples.append({"image": None, "audio": None, "text": "seven"})
    script = (
        "import sys, json\n"
        "sys.modules['torch'] = sys.modules['mmstudio'] = None  # prove neither is needed\n"
        f"sys.path.insert(0, {str(package)!r})\n"
        "import predict\n"
        "print(json.dumps(predict.predict(json.loads(sys.stdin.read()))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", script],
        input=json.dumps(samples),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    outside = json.loads(out.stdout)
    for s, got in zip(samples, outside):
        studio = engine.predict(bundle, image=s["image"], audio=s["audio"], text=s["text"], top=len(bundle.class_names))
        assert got["label"] == studio["label"], (s, got["label"], studio["top"][:3])
        assert got["probability"] == pytest.approx(studio["top"][0]["probability"], abs=2e-3)


def test_pt2_package_carries_its_metadata_and_takes_float16_audio_and_masks(trained, tmp_path):
    import torch

    info = engine.export(trained["result"].bundle, format="pt2", out=str(tmp_path / "pkg"))
    assert info["max_abs_diff"] < 1e-4 and "model.pt2" in info["files"]
    bundle = engine.load_bundle(trained["result"].bundle)
    meta = engine.read_export_metadata(info["path"])
    assert meta["class_names"] == list(bundle.class_names)
    assert list(meta["inputs"]) == ["image", "text", "audio", "mask_image", "mask_text", "mask_audio"]
    module = torch.export.load(info["path"]).module()
    pre = bundle.preprocessor
    image = torch.zeros(3, pre.channels, pre.image.size, pre.image.size, dtype=torch.uint8)
    text = pre.text_batch(["the number one", "", "x"])
    audio = torch.zeros(3, *pre.audio_shape, dtype=torch.float16)  # the cache's dtype
    masks = [torch.tensor([False, True, True]), torch.tensor([True, False, True]), torch.tensor([False, False, True])]
    logits = module(image, text, audio, *masks)[0]
    with torch.no_grad():
        studio = bundle.model({"image": image, "text": text, "audio": audio}, dict(zip(bundle.modalities, masks)))[
            "logits"
        ]
    torch.testing.assert_close(logits, studio, atol=1e-4, rtol=1e-4)

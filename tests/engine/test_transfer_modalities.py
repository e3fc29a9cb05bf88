"""Pretrained starts for text and audio: word vectors fill the text encoder's embeddings (and the
bundle never reads the file again); wav2vec 2.0 hears 16 kHz samples, frozen, from the hub
cache file (the real architecture with random weights, saved under torchaudio's file name)."""

from __future__ import annotations

import dataclasses
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

VECTORS = {"the": [0.5] * 8, "number": [-1.0, 2.0] * 4, "one": [3.0] * 8, "two": [0.25, -0.75] * 4}


def _vectors_file(folder: Path, header: bool = False) -> Path:
    path = folder / "glove.8d.txt"
    lines = ([f"{len(VECTORS)} 8"] if header else []) + [f"{w} " + " ".join(map(str, v)) for w, v in VECTORS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _text_run(manifest: Path, vectors: str, encoder: str = "bag"):
    run = tiny_run(manifest, modalities=("image", "text"), train={"epochs": 1})
    text = dataclasses.replace(run.model.text, encoder=encoder, options={"vectors": vectors} if vectors else {})
    return run.replace(model=run.model.replace(text=text))


@pytest.mark.parametrize("header", [False, True])
def test_word_vectors_change_the_initial_embeddings(synth_manifest, tmp_path, header):
    from mmstudio.engine.data import build_tokenizer
    from mmstudio.engine.model import ModelShape, MultimodalModel, init_text_weights

    dataset = engine.load_dataset(str(synth_manifest))
    path = str(_vectors_file(tmp_path, header))
    with_vectors, chosen = engine.resolve_settings(_text_run(synth_manifest, path), dataset)
    assert with_vectors.model.text.options["embed"] == 8  # the file's size, chosen from it
    assert any(c.field == "model.text.options.embed" and "8 values" in c.reason for c in chosen)
    spec = with_vectors.model
    tok = build_tokenizer(spec, dataset.subset("train"))
    shape = ModelShape(("image", "text"), 3, 1, len(tok))
    torch.manual_seed(0)
    plain = MultimodalModel(spec.replace(text=dataclasses.replace(spec.text, options={"embed": 8})), shape)
    torch.manual_seed(0)
    started = MultimodalModel(spec, shape)
    init_text_weights(started, tok)
    table = started.encoders["text"].embed.weight
    for word, vec in VECTORS.items():
        if word in tok.vocab:
            assert torch.allclose(table[tok.vocab.index(word)], torch.tensor(vec)), word
    one = tok.vocab.index("one")
    assert not torch.allclose(plain.encoders["text"].embed.weight[one], table[one])
    zero = tok.vocab.index("zero")  # not in the file: its random start is kept
    assert torch.equal(plain.encoders["text"].embed.weight[zero], table[zero])


def test_word_vectors_bundle_is_portable(synth_manifest, tmp_path):
    path = _vectors_file(tmp_path)
    _, result = drain(engine.train(_text_run(synth_manifest, str(path), "ngram"), str(tmp_path / "run")))
    os.unlink(path)
    bundle = engine.load_bundle(result.bundle)
    assert (
        bundle.meta["pretrained"]["text"]["name"] == "glove.8d.txt"
        and len(bundle.meta["pretrained"]["text"]["sha256"]) == 64
    )
    assert engine.predict(bundle, text="the number one")["top"]


def test_bad_word_vectors_are_named(synth_manifest, tmp_path):
    from mmstudio.engine.vectors import VectorsError, vectors_dim

    bad = tmp_path / "bad.txt"
    bad.write_text("one 0.1 zero\n", encoding="utf-8")
    with pytest.raises(VectorsError, match="bad.txt: line 1"):
        vectors_dim(str(bad))
    problems = engine.check(_text_run(synth_manifest, str(tmp_path / "absent.txt")))
    assert any(p.field == "model.text.options" and "absent.txt does not exist" in p.message for p in problems)


@pytest.fixture
def speech_hub(tmp_path, monkeypatch) -> Path:
    """wav2vec2 base with random weights, saved where torchaudio's pipeline looks for it."""
    import torchaudio

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    info = pretrained.find("wav2vec2_base.ls960")
    os.makedirs(os.path.dirname(info.path()), exist_ok=True)
    torch.manual_seed(0)
    model = torchaudio.models.wav2vec2_model(**torchaudio.pipelines.WAV2VEC2_BASE._params)
    torch.save(model.state_dict(), info.path())
    return tmp_path


def test_wav2vec2_trains_frozen_on_16khz_samples(speech_hub, synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("audio", "text"), train={"epochs": 2})
    run = run.replace(model=run.model.replace(audio=dataclasses.replace(run.model.audio, encoder="wav2vec2_base")))
    events, result = drain(engine.train(run, str(tmp_path / "run")))
    assert [e for e in events if isinstance(e, engine.DataPrepared) and e.modality == "audio features"]
    bundle = engine.load_bundle(result.bundle)
    assert bundle.run.model.audio.sample_rate == 16000
    assert bundle.preprocessor.audio_shape == (1, int(16000 * bundle.run.model.audio.seconds))
    assert bundle.meta["pretrained"]["audio"]["name"] == "wav2vec2_base.ls960"
    os.unlink(pretrained.find("wav2vec2_base.ls960").path())
    clip = str(next((synth_manifest.parent / "audio").glob("*.wav")))
    assert engine.predict(result.bundle, audio=clip)["top"]
    shutil.rmtree(tmp_path / "run")

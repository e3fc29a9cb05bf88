"""Facts the Model panel and Settings show, from the engine: the generate task's size counts its
text decoder (checked against a model actually trained), a preset says what it changed, and the
automatic decoding threads never outnumber the CPUs."""

from __future__ import annotations

import pytest
from engine_helpers import drain, tiny_run

from mmstudio import engine
from mmstudio.engine.model import count_parameters

SMALL = {"width": 32, "heads": 2, "layers": 1}


def test_the_generate_estimate_counts_the_decoder_of_the_model_trained(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, task="generate", modalities=("image",), decoder_options=SMALL, train={"epochs": 1})
    _, result = drain(engine.train(run, str(tmp_path / "run")))
    bundle = engine.load_bundle(result.bundle)
    built = count_parameters(bundle.model)
    decoder = count_parameters(bundle.model.decoder)
    assert decoder > 0
    shape = bundle.shape
    est = engine.memory_estimate(bundle.run, num_classes=3, vocab_size=shape.vocab_size, channels=shape.channels)
    assert est["parameters"] == built  # encoders and the decoder, no classification head
    # the decoder's activations are counted too (its loss cannot run on the meta device)
    assert est["activation_bytes"] > 0
    without = engine.memory_estimate(bundle.run.replace(model=bundle.run.model.replace(task="classify")), num_classes=3)
    assert est["parameters"] != without["parameters"]


def test_the_decoder_size_follows_its_options():
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig

    def size(**options):
        spec = ModelSpec(modalities=("image",), task="generate", decoder_options=options)
        return engine.memory_estimate(RunConfig(DatasetSpec(""), spec), num_classes=3)["parameters"]

    assert size(width=32, heads=2, layers=1) < size(width=64, heads=2, layers=2)


def test_a_preset_says_what_it_changed():
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

    run = RunConfig(DatasetSpec("x"), ModelSpec(dim=128, fusion="attention"), TrainSpec(epochs=12, batch_size=32))
    after = engine.apply_preset(run, "quick")
    changes = {c["field"]: (c["old"], c["new"]) for c in engine.preset_changes(run, after)}
    assert changes["model.dim"] == (128, 64) and changes["model.fusion"] == ("attention", "concat")
    assert changes["train.epochs"] == (12, 5) and changes["train.device"] == ("auto", "cpu")
    assert not any(f.startswith("dataset") for f in changes)
    assert engine.preset_changes(after, engine.apply_preset(after, "quick")) == []
    assert engine.PRESETS["accurate"].needs_gpu and not engine.PRESETS["quick"].needs_gpu


@pytest.mark.parametrize("cpus", [1, 2, 4, 64])
def test_automatic_decoding_threads_never_outnumber_the_cpus(monkeypatch, cpus):
    from mmstudio.engine import autoconfig

    monkeypatch.delenv("MMSTUDIO_WORKERS", raising=False)
    monkeypatch.setattr(autoconfig.os, "cpu_count", lambda: cpus)
    n = engine.decode_threads()
    assert 1 <= n <= cpus and n == min(cpus, autoconfig.DECODE_THREADS_MAX)
    text = engine.decode_threads_text()
    assert text.startswith(f"{n}: one per CPU")
    assert ("at most" in text) == (cpus > autoconfig.DECODE_THREADS_MAX)
    monkeypatch.setenv("MMSTUDIO_WORKERS", "3")  # a number the user chose is kept
    assert engine.decode_threads() == 3

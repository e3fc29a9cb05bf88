"""Shared fixtures for the engine tests: a tiny learnable dataset on disk and one trained bundle."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth import make_triplet_dataset

from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec


def drain(gen):
    """Run a training generator to the end: (events, result)."""
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def tiny_run(manifest: Path, **model) -> RunConfig:
    train = model.pop("train", {})
    spec = ModelSpec(dim=32, embed_dim=32, **model)
    options = {"epochs": 6, "batch_size": 8, "lr": 3e-3, "val_split": "test", **train}
    return RunConfig(DatasetSpec(str(manifest)), spec, TrainSpec(**options))


@pytest.fixture(scope="session")
def synth_manifest(tmp_path_factory) -> Path:
    return make_triplet_dataset(tmp_path_factory.mktemp("synth"), classes=3, per_class=16)


@pytest.fixture(scope="session")
def trained(synth_manifest, tmp_path_factory):
    """A classify+align model over all three modalities, trained once for several tests."""
    from mmstudio import engine

    out = tmp_path_factory.mktemp("run")
    run = tiny_run(synth_manifest, fusion="concat", task="classify+align")
    events, result = drain(engine.train(run, str(out)))
    return {"run": run, "out": out, "events": events, "result": result,
            "manifest": synth_manifest}

"""Helpers shared by the engine tests (a unique module name: every test folder has a conftest)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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

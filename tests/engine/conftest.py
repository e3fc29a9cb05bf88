"""Shared fixtures for the engine tests: a tiny learnable dataset on disk and one trained bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_helpers import drain, tiny_run  # noqa: E402
from synth import make_triplet_dataset  # noqa: E402


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
    return {"run": run, "out": out, "events": events, "result": result, "manifest": synth_manifest}

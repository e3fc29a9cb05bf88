"""A tiny trained bundle on a synthetic triplet dataset, shared by the Evaluate and Query tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_helpers import drain, tiny_run  # noqa: E402, F401  (also for the regress tests)
from synth import make_triplet_dataset  # noqa: E402


def train_synth_bundle(root: Path, fusion: str = "weighted_sum", epochs: int = 6):
    """(bundle path, Dataset): image+text+audio, classify+align, a few seconds on a CPU."""
    from mmstudio import engine
    from mmstudio.data import open_dataset

    manifest = make_triplet_dataset(root / "data", classes=3, per_class=16)
    run = tiny_run(manifest, fusion=fusion, task="classify+align", train={"epochs": epochs})
    _, result = drain(engine.train(run, str(root / "run")))
    return result.bundle, open_dataset(str(manifest))

"""Each run writes metrics.csv (one row per epoch) and, with tensorboard installed, TensorBoard
scalars that TensorBoard's own reader loads."""

from __future__ import annotations

import csv
import importlib.util

import pytest

from mmstudio.engine.events import EpochDone, StepLogged
from mmstudio.engine.scalars import ScalarLog


def test_a_run_writes_metrics_csv_with_one_row_per_epoch(trained):
    rows = list(csv.DictReader((trained["out"] / "metrics.csv").open(encoding="utf-8")))
    history = trained["result"].history
    assert [int(r["epoch"]) for r in rows] == [h["epoch"] for h in history]
    assert [float(r["train_loss"]) for r in rows] == pytest.approx([h["train_loss"] for h in history])
    assert [float(r["val_accuracy"]) for r in rows] == pytest.approx([h["accuracy"] for h in history])
    assert list(rows[0])[:5] == ["epoch", "step", "train_loss", "seconds", "samples_per_s"]


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard not installed")
def test_a_run_writes_tensorboard_scalars_tensorboard_can_read(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(trained["out"] / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "train/lr", "epoch/train_loss", "epoch/val_accuracy"} <= set(tags)
    steps = [e for e in trained["events"] if type(e).__name__ == "StepLogged"]
    assert [s.step for s in acc.Scalars("train/loss")] == [e.step for e in steps]
    accuracy = [s.value for s in acc.Scalars("epoch/val_accuracy")]
    assert accuracy == pytest.approx([h["accuracy"] for h in trained["result"].history], abs=1e-6)


def test_a_resumed_run_replaces_the_epochs_it_repeats(tmp_path):
    first = ScalarLog(str(tmp_path), tensorboard=False)
    for epoch in (1, 2):
        first.add(StepLogged(epoch, epoch * 10, 1.0, 0.1, 5.0))
        first.add(EpochDone(epoch, epoch * 10, 1.0 / epoch, {"accuracy": 0.5}, 1.0, 5.0))
    first.close()
    again = ScalarLog(str(tmp_path), tensorboard=False)  # resumed from the end of epoch 1
    again.add(EpochDone(2, 20, 0.25, {"accuracy": 0.75, "loss": 0.3}, 1.0, 5.0))
    again.add(EpochDone(3, 30, 0.2, {"accuracy": 0.8, "loss": 0.2}, 1.0, 5.0))
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open(encoding="utf-8")))
    assert [(r["epoch"], r["train_loss"], r["val_accuracy"]) for r in rows] == [
        ("1", "1.0", "0.5"),
        ("2", "0.25", "0.75"),
        ("3", "0.2", "0.8"),
    ]
    assert rows[0]["val_loss"] == "" and rows[2]["val_loss"] == "0.2"

"""Runs survive a restart: each run folder records its events and status (engine.runlog)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from engine_helpers import drain, tiny_run

from mmstudio.engine import Control
from mmstudio.engine.runlog import list_runs, read_curves, read_status
from mmstudio.engine.trainer import train


def test_finished_run_is_listed_with_status_best_metric_and_curves(trained, tmp_path):
    out = str(trained["out"])
    status = read_status(out)
    assert status["status"] == "completed"
    assert status["bundle"] == os.path.join(os.path.abspath(out), "bundle")
    history = trained["result"].history
    best = max(h["accuracy"] for h in history)
    assert status["best_metric"] == "accuracy" and status["best_value"] == pytest.approx(best)
    assert status["seconds"] > 0 and "concat" in status["config"]
    curves = read_curves(out)
    assert curves["epoch"] == [h["epoch"] for h in history]
    assert curves["train_loss"] == [h["train_loss"] for h in history]
    steps = [e.step for e in trained["events"] if type(e).__name__ == "StepLogged"]
    assert curves["step"] == sorted(set(steps)) and len(curves["loss"]) == len(curves["step"])
    assert curves["metric_name"] == "accuracy"
    runs = list_runs(os.path.dirname(out))
    assert [r["path"] for r in runs if r["path"] == os.path.abspath(out)]


def test_stopped_run_is_resumable_and_the_resumed_curve_has_no_duplicate_steps(synth_manifest, tmp_path):
    run = tiny_run(
        synth_manifest, fusion="weighted_sum", modalities=("image", "audio"), train={"epochs": 3, "log_every_s": 0.0}
    )
    control = Control()
    gen = train(run, str(tmp_path), control=control)
    for event in gen:
        if type(event).__name__ == "CheckpointSaved":
            control.stop()
    status = read_status(str(tmp_path))
    assert status["status"] == "stopped" and status["resumable"]
    events, result = drain(train(run, str(tmp_path), resume=True))
    assert result.reason == "completed"
    curves = read_curves(str(tmp_path))
    assert curves["epoch"] == [1, 2, 3]
    assert curves["step"] == sorted(set(curves["step"]))
    # weighted_sum learns one weight per modality; each epoch records them for the weights plot
    assert set(curves["weights"][-1]) == {"image", "audio"}
    assert sum(curves["weights"][-1].values()) == pytest.approx(1.0, abs=1e-3)
    assert read_status(str(tmp_path))["status"] == "completed"


def test_failed_run_records_the_error(synth_manifest, tmp_path):
    """A run that fails once it is under way (here: attention heads that do not divide the
    feature size, found when the model is built) is listed as failed, with the message."""
    run = tiny_run(synth_manifest, fusion="attention", fusion_options={"heads": 5})
    with pytest.raises(AssertionError, match="divisible"):
        drain(train(run, str(tmp_path / "out")))
    status = read_status(str(tmp_path / "out"))
    assert status["status"] == "failed" and "divisible" in status["error"]


def test_run_that_cannot_start_leaves_no_folder(tmp_path):
    """A missing dataset is found by the rules before any folder is made (no 'failed' run)."""
    from mmstudio.config import DatasetSpec, RunConfig
    from mmstudio.engine.rules import RunProblems

    run = RunConfig(DatasetSpec(str(tmp_path / "missing.csv")))
    with pytest.raises(RunProblems, match="dataset.path: .*missing.csv does not exist"):
        drain(train(run, str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_run_whose_process_died_shows_as_interrupted(tmp_path):
    """A status left at 'running' by a process that no longer exists (kill -9, power cut)."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "run.toml").write_text("")
    import socket

    (tmp_path / "status.json").write_text(
        json.dumps({"status": "running", "pid": dead.pid, "host": socket.gethostname()})
    )
    assert read_status(str(tmp_path))["status"] == "interrupted"


def test_truncated_event_line_is_skipped(tmp_path):
    lines = [
        json.dumps({"event": "StepLogged", "epoch": 1, "step": 1, "loss": 2.0, "lr": 0.1, "samples_per_s": 1.0}),
        '{"event": "StepLogged", "ep',
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(lines))
    assert read_curves(str(tmp_path))["loss"] == [2.0]

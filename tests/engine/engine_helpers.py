"""Helpers shared by the engine tests (a unique module name: every test folder has a conftest)."""

from __future__ import annotations

import subprocess
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


def start_and_kill_mid_epoch(cmd: list[str], env: dict, kill) -> subprocess.Popen:
    """Start a ``--json`` training command and call ``kill(proc)`` at the first step logged in
    epoch 2 or later, once a checkpoint has been saved; returns the process (not yet reaped)."""
    import json

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    saved = False
    try:
        for line in proc.stdout:
            event = json.loads(line)
            saved = saved or event["event"] == "CheckpointSaved"
            if saved and event["event"] == "StepLogged" and event["epoch"] >= 2:
                kill(proc)
                break
    except BaseException:
        proc.kill()
        raise
    return proc

"""A run folder is locked while a run writes to it (issue 16): a real second process is refused
naming the holder, and the lock goes with a killed process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import tiny_run

from mmstudio import engine
from mmstudio.runlock import RunFolderBusy

ROOT = Path(__file__).resolve().parents[2]


def _cmd(config, out, *extra):
    return [sys.executable, "-m", "mmstudio", "train", "--config", str(config), "--out", str(out), "--json", *extra]


@pytest.mark.fault(
    case="Two `train` runs with the same `--out` at the same time",
    how="a real second `python -m mmstudio train` process started while the first "
    "trains; then the first is killed with SIGKILL (`tests/engine/test_runlock.py`)",
    behaviour="The second exits with status 2 before writing anything: `OUT: another run "
    "is writing to this folder (process PID on HOST, started …: command)`; the "
    "first run's events.jsonl holds only its own events. After `kill -9` of the "
    "first, the kernel has dropped its `flock` and a new run in OUT starts",
)
def test_a_second_process_is_refused_and_the_lock_dies_with_the_first(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("text",), train={"epochs": 200, "device": "cpu", "log_every_s": 0.0})
    config, out = tmp_path / "run.toml", tmp_path / "out"
    run.save(str(config))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(_cmd(config, out), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in first.stdout:  # wait until it really trains
            if json.loads(line)["event"] == "StepLogged":
                break
        second = subprocess.run(
            _cmd(config, out, "--epochs", "1"), capture_output=True, text=True, env=env, timeout=300
        )
        assert second.returncode == 2, second.stderr[-2000:]
        assert "another run is writing to this folder" in second.stderr
        assert f"process {first.pid} on " in second.stderr and "Traceback" not in second.stderr
        assert first.poll() is None  # the first is untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.stdout.close()
        first.wait(timeout=60)
    started = [json.loads(x)["event"] for x in (out / "events.jsonl").read_text().splitlines() if x.strip()].count(
        "RunStarted"
    )
    assert started == 1  # nothing from the refused run
    third = subprocess.run(_cmd(config, out, "--epochs", "1"), capture_output=True, text=True, env=env, timeout=300)
    assert third.returncode == 0, third.stderr[-2000:]


def test_a_second_run_in_the_same_process_is_refused_until_the_first_ends(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("text",), train={"epochs": 1, "device": "cpu"})
    first = engine.train(run, str(tmp_path))
    next(first)
    with pytest.raises(RunFolderBusy, match=f"process {os.getpid()} on "):
        next(engine.train(run, str(tmp_path)))
    first.close()  # the GUI's stop: the folder is free again
    second = engine.train(run, str(tmp_path))
    next(second)
    second.close()

"""The GUI's torchrun runner: a child ``torchrun`` streams JSON events that arrive as the
engine's event objects; stop ends the run gracefully with its checkpoint (issue 8). It runs on
CPU processes over gloo: torchrun needs no GPU."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_helpers import tiny_run
from synth import make_triplet_dataset

from mmstudio import engine
from mmstudio.gui.process_run import ProcessRun, gpu_count, torchrun_command


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return make_triplet_dataset(tmp_path_factory.mktemp("procdata"), classes=3, per_class=8)


def _runner(qtbot, run, out, nproc):
    runner = ProcessRun(run, str(out), nproc=nproc)
    failures = []
    runner.failed.connect(failures.append)
    return runner, failures


@pytest.mark.slow
def test_two_processes_stream_events_into_the_same_objects(qtbot, manifest, tmp_path):
    run = tiny_run(manifest, modalities=("text",), train={"epochs": 2, "device": "cpu"})
    runner, failures = _runner(qtbot, run, tmp_path / "run", 2)
    with qtbot.waitSignal(runner.finished, timeout=180_000) as done:
        runner.start()
    assert done.args == [0] and not failures, list(runner.stderr)
    kinds = [type(e).__name__ for e in runner.events]
    assert kinds.count("RunStarted") == 1 and "StepLogged" in kinds and "EpochDone" in kinds
    last = runner.events[-1]
    assert isinstance(last, engine.RunFinished) and last.reason == "completed"
    assert isinstance(runner.events[kinds.index("RunStarted")].modalities, tuple)
    assert engine.load_bundle(last.bundle).class_names == ["one", "two", "zero"]


@pytest.mark.slow
@pytest.mark.fault(
    case="Stop (Ctrl+C, SIGTERM, the GUI's Stop) of a `torchrun` run with 2 processes",
    how="`ProcessRun.stop()` sends SIGTERM to torchrun, which forwards it",
    behaviour="Both ranks agree to stop at the same step (one all-reduce per step), rank 0 saves the "
    'checkpoint and the bundle, the last event is `RunFinished(reason="stopped")`; the bundle '
    "loads.",
)
def test_stop_ends_the_run_with_its_checkpoint(qtbot, manifest, tmp_path):
    run = tiny_run(manifest, modalities=("text",), train={"epochs": 500, "device": "cpu", "log_every_s": 0.0})
    runner, failures = _runner(qtbot, run, tmp_path / "run", 2)  # both ranks stop together
    epochs = []
    runner.event_ready.connect(lambda e: epochs.append(e) if isinstance(e, engine.EpochDone) else None)
    runner.start()
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=120_000)
    with qtbot.waitSignal(runner.finished, timeout=60_000):
        runner.stop()
    assert not failures, list(runner.stderr)
    last = runner.events[-1]
    assert isinstance(last, engine.RunFinished) and last.reason == "stopped" and last.epochs < 500
    assert (tmp_path / "run" / "checkpoints" / "last" / "state.json").is_file()
    engine.load_bundle(last.bundle)


def test_a_failing_run_says_why(qtbot, manifest, tmp_path):
    run = tiny_run(tmp_path / "missing.csv", modalities=("text",), train={"device": "cpu"})
    runner, failures = _runner(qtbot, run, tmp_path / "run", 2)
    with qtbot.waitSignal(runner.finished, timeout=120_000) as done:
        runner.start()
    assert done.args[0] != 0
    assert len(failures) == 1 and "mmstudio train: error:" in failures[0], failures
    assert "missing.csv" in failures[0]


def test_command_and_gpu_probe():
    cmd = torchrun_command("/r/run.toml", "/r", 4, resume=True)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert cmd[cmd.index("--nproc-per-node") + 1] == "4" and cmd[-1] == "--resume"
    assert cmd[cmd.index("-m", 3) : cmd.index("-m", 3) + 3] == ["-m", "mmstudio", "train"]


def test_gpu_count_reads_nvidia_smi_and_cuda_visible_devices(tmp_path, monkeypatch):
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\necho 'GPU 0: NVIDIA H100 (UUID: GPU-a)'\n"
        "echo 'GPU 1: NVIDIA H100 (UUID: GPU-b)'\necho 'MIG 1g.10gb Device 0'\n"
    )
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    def count(visible: str | None) -> int:
        gpu_count.cache_clear()  # asked once per session in the app
        if visible is None:
            monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        else:
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        return gpu_count()

    try:
        assert count(None) == 2
        assert count("1") == 1
        assert count("") == 0
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no driver, no nvidia-smi
        assert count(None) == 0
    finally:
        gpu_count.cache_clear()

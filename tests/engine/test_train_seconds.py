"""A run's seconds count only its training: a pause is left out of the ETA's pace, the epoch's
time and the run's duration, and a resumed run adds its earlier sessions, so the Train panel's
"in m:ss" and the runs list's duration are one figure (issue #15). The clock is injected: no
test here sleeps or times anything."""

from __future__ import annotations

from engine_helpers import tiny_run

from mmstudio.engine import Control, trainer
from mmstudio.engine import runlog as runlog_module
from mmstudio.engine.events import (
    CheckpointSaved,
    EpochDone,
    Paused,
    Resumed,
    RunFinished,
    RunStarted,
    StepLogged,
)
from mmstudio.engine.runlog import read_status
from mmstudio.engine.trainclock import TrainClock


class FakeTime:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_clock_leaves_pauses_out_and_adds_earlier_sessions():
    now = FakeTime()
    clock = TrainClock(30.0, now)
    now.t += 5
    clock.pause()
    now.t += 60  # paused: not training
    assert clock.seconds == 35.0 and clock.paused
    assert clock.resume() == 60.0
    now.t += 2
    assert clock.seconds == 37.0 and not clock.paused
    assert clock.resume() == 0.0  # not paused: nothing to leave out


def _fake_clock(monkeypatch, module) -> FakeTime:
    now = FakeTime()
    monkeypatch.setattr(module, "TrainClock", lambda before=0.0: TrainClock(before, now))
    return now


def test_a_pause_counts_neither_in_the_run_nor_the_epoch(synth_manifest, tmp_path, monkeypatch):
    now = _fake_clock(monkeypatch, trainer)
    run = tiny_run(synth_manifest, modalities=("image",), train={"epochs": 1, "log_every_s": 0.0})
    control, steps, finished, epoch = Control(), [], None, None
    for event in trainer.train(run, str(tmp_path), control):
        if isinstance(event, StepLogged):
            steps.append(event)
            now.t += 1.0  # one second a step
            if len(steps) == 1:
                control.pause()
        elif isinstance(event, Paused):
            now.t += 600.0  # ten minutes paused
            control.resume()
        elif isinstance(event, EpochDone):
            epoch = event
        elif isinstance(event, RunFinished):
            finished = event
    assert len(steps) >= 2
    # the step after the pause: its seconds (the ETA's pace) hold the one second trained, not the pause
    assert steps[1].seconds - steps[0].seconds == 1.0
    assert finished.seconds == len(steps)  # every step's second, none of the pause
    assert epoch.samples_per_s > 0
    assert read_status(str(tmp_path))["seconds"] == finished.seconds  # the runs list: the same figure


def test_a_resumed_run_counts_every_session_in_both_views(synth_manifest, tmp_path, monkeypatch):
    now = _fake_clock(monkeypatch, trainer)
    run = tiny_run(synth_manifest, modalities=("image",), train={"epochs": 2, "log_every_s": 0.0})
    control = Control()
    first = None
    for event in trainer.train(run, str(tmp_path), control):
        if isinstance(event, StepLogged):
            now.t += 1.0
        elif isinstance(event, CheckpointSaved):
            control.stop()
        elif isinstance(event, RunFinished):
            first = event
    assert first.reason == "stopped" and first.seconds > 0
    now.t += 3600.0  # an hour between the sessions: not training
    started = finished = None
    for event in trainer.train(run, str(tmp_path), resume=True):
        if isinstance(event, RunStarted):
            started = event
        elif isinstance(event, StepLogged):
            now.t += 1.0
        elif isinstance(event, RunFinished):
            finished = event
    assert started.seconds == first.seconds  # carried over by the checkpoint
    assert finished.reason == "completed" and first.seconds < finished.seconds < 3600
    assert read_status(str(tmp_path))["seconds"] == finished.seconds


def test_the_runs_list_leaves_pauses_out_of_a_duration(tmp_path, monkeypatch):
    """The run record follows the trainer's figure at start and end, and between them counts
    only the time not paused."""
    now = _fake_clock(monkeypatch, runlog_module)

    def events():
        yield RunStarted(str(tmp_path), "cpu", "fp32", ("image",), ("a", "b"), 10, 0, 100, 2, 5, seconds=30.0)
        now.t += 4.0
        yield Paused(3)
        now.t += 600.0
        yield Resumed(3)
        now.t += 2.0
        yield EpochDone(1, 5, 0.5, {}, 6.0, 10.0)
        return "done"

    gen = runlog_module.recorded(events(), str(tmp_path))
    for event in gen:
        if isinstance(event, EpochDone):
            assert read_status(str(tmp_path))["seconds"] == 36.0

"""Running experiments on a tiny dataset: a grid stopped half-way runs only the rest (the run in
flight continues from its checkpoint), a search resumes from its SQLite study, and a grid can
train its runs in separate processes, one per device slot."""

from __future__ import annotations

import json

from mmstudio import engine
from mmstudio.config import DatasetSpec, ImageSpec, ModelSpec, RunConfig, TrainSpec
from mmstudio.engine.experiment_plan import ExperimentProgress, grid_plan, save_plan, search_plan


def _run(manifest, **train) -> RunConfig:
    options = {"epochs": 3, "batch_size": 8, "lr": 3e-3, "device": "cpu", **train}
    model = ModelSpec(dim=16, image=ImageSpec(size=16))
    return RunConfig(DatasetSpec(str(manifest)), model, TrainSpec(**options))


def _drive(gen, on_event=None):
    """(events, result) of an experiment generator; ``on_event`` may stop it part-way."""
    events = []
    while True:
        try:
            event = next(gen)
        except StopIteration as stop:
            return events, stop.value
        events.append(event)
        if on_event:
            on_event(event)


def _progress(events, state=None):
    return [(e.name, e.state) for e in events if isinstance(e, ExperimentProgress) and state in (None, e.state)]


def test_grid_stopped_half_way_runs_only_the_rest(synth_manifest, tmp_path):
    folder = str(tmp_path / "grid")
    save_plan(folder, grid_plan(_run(synth_manifest), ("image", "audio"), ("concat",), (0,)))
    control = engine.Control()
    seen = []

    def stop_in_second_run(event):  # the second run stops after its first epoch
        seen.append(event)
        if isinstance(event, engine.EpochDone) and ("audio-s0", "started") in _progress(seen):
            control.stop()

    events, results = _drive(engine.run_experiment(folder, control), stop_in_second_run)
    assert _progress(events) == [("image-s0", "started"), ("image-s0", "finished"), ("audio-s0", "started")] + [
        ("audio-s0", "stopped")
    ]
    assert engine.finished_names(folder) == ["image-s0"]
    assert [r.config for r in results["table"]] == ["image"]
    image_log = (tmp_path / "grid" / "runs" / "image-s0" / "events.jsonl").read_text()
    status = engine.read_status(str(tmp_path / "grid" / "runs" / "audio-s0"))
    assert status["status"] == "stopped" and status["resumable"]

    events, results = _drive(engine.run_experiment(folder, engine.Control()))
    assert _progress(events, "skipped") == [("image-s0", "skipped")]
    assert _progress(events, "finished") == [("audio-s0", "finished"), ("image+audio-concat-s0", "finished")]
    started = [e for e in events if isinstance(e, engine.RunStarted)]
    assert [e.start_epoch for e in started] == [1, 0]  # audio continued after its saved epoch
    assert (tmp_path / "grid" / "runs" / "image-s0" / "events.jsonl").read_text() == image_log  # not redone
    assert sorted(r.config for r in results["table"]) == ["audio", "image", "image+audio-concat"]
    assert results["gain"].items == len(json.loads((tmp_path / "grid" / "scores" / "audio-s0.json").read_text())["ids"])
    assert results["gain"].better == "image+audio-concat"


def test_search_resumes_from_its_sqlite_study(synth_manifest, tmp_path):
    import optuna

    folder = str(tmp_path / "search")
    save_plan(folder, search_plan(_run(synth_manifest, epochs=2), 3, params=("lr", "dropout")))
    control = engine.Control()
    seen = []

    def stop_in_second_trial(event):
        seen.append(event)
        if isinstance(event, engine.EpochDone) and ("trial-001", "started") in _progress(seen):
            control.stop()

    events, _ = _drive(engine.run_experiment(folder, control), stop_in_second_trial)
    assert _progress(events)[-1] == ("trial-001", "stopped")
    study = optuna.load_study(study_name="search", storage=f"sqlite:///{folder}/search.db")
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "RUNNING"]
    assert study.trials[0].params == {"lr": 3e-3, "dropout": 0.1}  # trial 0: the run's own settings
    stopped_params = study.trials[1].params

    events, results = _drive(engine.run_experiment(folder, engine.Control()))
    assert _progress(events, "started") == [("trial-001", "started"), ("trial-002", "started")]
    assert [e.start_epoch for e in events if isinstance(e, engine.RunStarted)] == [1, 0]
    study = optuna.load_study(study_name="search", storage=f"sqlite:///{folder}/search.db")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "COMPLETE"]
    assert study.trials[1].params == stopped_params
    assert study.trials[2].params != stopped_params  # the resumed sampler does not repeat its draws
    assert sorted(r.config for r in results["table"]) == ["trial-000", "trial-001", "trial-002"]
    # a finished search run again trains nothing
    events, _ = _drive(engine.run_experiment(folder, engine.Control()))
    assert not [e for e in events if isinstance(e, engine.RunStarted)]


def test_grid_runs_side_by_side_in_their_own_processes(synth_manifest, tmp_path):
    folder = str(tmp_path / "grid")
    save_plan(folder, grid_plan(_run(synth_manifest, epochs=1), ("image", "audio"), ("late",), (0,)))
    events, results = _drive(engine.run_experiment(folder, slots=["cpu", "cpu"]))
    started = [e for e in events if isinstance(e, ExperimentProgress) and e.state == "started"]
    assert [e.message for e in started[:2]] == ["cpu", "cpu"]  # two at once
    assert sorted(_progress(events, "finished")) == [
        ("audio-s0", "finished"),
        ("image+audio-late-s0", "finished"),
        ("image-s0", "finished"),
    ]
    assert len(results["table"]) == 3
    assert engine.read_status(str(tmp_path / "grid" / "runs" / "image-s0"))["status"] == "completed"

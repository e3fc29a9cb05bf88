"""Running an experiment (:mod:`.experiment_plan`): its runs one after another, as a generator.

``run_experiment(folder, control)`` yields each run's own training events with an
:class:`ExperimentProgress` before and after each run, and returns the results
(:func:`.experiment_results.experiment_results`). It is a normal training generator for the
GUI's worker and the CLI alike: stop (``control.stop()``) stops the run in flight at its next
step, which saves its checkpoint, and the experiment ends there. Run it again on the same
folder to resume: runs with scores are skipped, the stopped one continues from its checkpoint.

With several GPUs a grid trains one run per GPU at once, each in its own ``mmstudio train``
process (or each run through ``torchrun`` on every GPU): :func:`_dispatched`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Generator
from typing import Any

from mmstudio.engine.events import Control, Event
from mmstudio.engine.experiment_plan import (
    ExperimentProgress,
    Plan,
    PlannedRun,
    device_slots,
    finished_names,
    grid_runs,
    load_plan,
    run_command,
    run_dir,
)
from mmstudio.engine.experiment_tables import experiment_results, write_scores
from mmstudio.engine.runlog import COMPLETED_REASONS, read_status
from mmstudio.runlock import run_folder_lock


class LinkedControl(Control):
    """A run's own stop (a pruned trial) joined with the experiment's stop and pause."""

    def __init__(self, outer: Control) -> None:
        super().__init__()
        self.outer = outer

    @property
    def stopped(self) -> bool:
        return self._stop.is_set() or self.outer.stopped

    @property
    def paused(self) -> bool:
        return self.outer.paused

    def wait_while_paused(self, timeout: float = 0.5) -> bool:
        return self.outer.wait_while_paused(timeout)


def run_experiment(
    folder: str, control: Control | None = None, dataset: Any = None, slots: list[str] | None = None
) -> Generator[Event, None, dict[str, Any]]:
    """Run (or resume) the experiment in ``folder``; ``dataset`` may pass it already opened.
    ``slots`` overrides where a dispatched grid's runs go (tests use ``["cpu", "cpu"]``)."""
    from mmstudio.engine.data import load_dataset

    plan = load_plan(folder)
    control = control or Control()
    with run_folder_lock(folder):  # one process per experiment; each run also locks its own
        dataset = load_dataset(dataset if dataset is not None else plan.run.dataset)
        _need_test_split(dataset)
        if plan.kind == "search":
            from mmstudio.engine.experiment_search import search

            yield from search(folder, plan, dataset, control)
        elif slots or len(device_slots(plan.gpus, plan.torchrun)) > 1 or plan.torchrun:
            yield from _dispatched(folder, plan, dataset, control, slots or device_slots(plan.gpus, plan.torchrun))
        else:
            yield from _grid(folder, plan, dataset, control)
    return experiment_results(folder)


def _grid(folder: str, plan: Plan, dataset: Any, control: Control) -> Generator[Event, None, None]:
    runs = grid_runs(plan)
    done = set(finished_names(folder))
    for i, pr in enumerate(runs, 1):
        if pr.name in done:
            yield ExperimentProgress(pr.name, i, len(runs), "skipped")
            continue
        if control.stopped:
            break
        yield ExperimentProgress(pr.name, i, len(runs), "started")
        finished = yield from train_or_skip(pr.run, run_dir(folder, pr.name), control, dataset)
        if not finished:
            yield ExperimentProgress(pr.name, i, len(runs), "stopped", message="stopped; run again to resume")
            return
        scores = score_run(folder, pr.name, pr.config, pr.seed, dataset)
        yield ExperimentProgress(pr.name, i, len(runs), "finished", scores["accuracy"])


def train_or_skip(run, out_dir: str, control: Control, dataset: Any) -> Generator[Event, None, bool]:
    """Train ``run`` into ``out_dir``, from its checkpoint when it has one; a run already
    completed there is not trained again. True when the run completed."""
    from mmstudio.engine.trainer import train

    status = read_status(out_dir) if os.path.isdir(out_dir) else {}
    if status.get("status") == "completed" and status.get("bundle"):
        return True
    result = yield from train(run, out_dir, control, resume=True, dataset=dataset)
    return result.reason in COMPLETED_REASONS


def score_run(folder: str, name: str, config: str, seed: int, dataset: Any, **extra: Any) -> dict[str, Any]:
    """Score the run's bundle on the test split, keep which items it got right (for the paired
    bootstrap) and its size and training time; written to ``scores/NAME.json``."""
    from mmstudio.engine.bundle import load_bundle
    from mmstudio.engine.predicting import predict_dataset

    out = run_dir(folder, name)
    bundle = load_bundle(os.path.join(out, "bundle"))
    pred = predict_dataset(bundle, dataset, split="test")
    classes = set(bundle.class_names)
    rows = [r for r in pred["rows"] if r["label"] in classes]
    correct = [int(r["label"] == r["predicted"]) for r in rows]
    status = read_status(out)
    metrics = bundle.meta.get("metrics", {})
    val = status.get("best_value") if status.get("best_metric") not in (None, "train_loss") else None
    scores = {
        "name": name,
        "config": config,
        "seed": int(seed),
        "modalities": "+".join(bundle.modalities),
        "fusion": bundle.run.model.fusion if len(bundle.modalities) > 1 else "-",
        "accuracy": round(sum(correct) / max(1, len(correct)), 6),
        **({"val": float(val)} if isinstance(val, (int, float)) else {}),
        "ids": [str(r["id"]) for r in rows],
        "correct": correct,
        "parameters": int(sum(p.numel() for p in bundle.model.parameters())),
        "train_seconds": round(sum(h.get("seconds", 0.0) for h in metrics.get("history", [])), 3),
        "epochs": int(metrics.get("epochs", 0)),
        "bundle": os.path.abspath(os.path.join(out, "bundle")),
        **extra,
    }
    write_scores(folder, scores)
    return scores


def _need_test_split(dataset: Any) -> None:
    if not dataset.subset("test"):
        raise ValueError(
            f"{dataset.spec.path}: an experiment scores every run on the test split, and this "
            f"dataset has none (splits: {', '.join(dataset.splits()) or 'none'}); give it a test share"
        )


# ---- several GPUs: one process per run -------------------------------------------------------


def _dispatched(
    folder: str, plan: Plan, dataset: Any, control: Control, slots: list[str]
) -> Generator[Event, None, None]:
    """A grid with each run in its own ``mmstudio train`` process, one per slot at a time
    (``torchrun`` over every GPU when the plan asks for it). Scoring happens here afterwards."""
    runs = grid_runs(plan)
    done = set(finished_names(folder))
    todo = [(i, pr) for i, pr in enumerate(runs, 1) if pr.name not in done]
    for i, pr in enumerate(runs, 1):
        if pr.name in done:
            yield ExperimentProgress(pr.name, i, len(runs), "skipped")
    free = list(slots)
    active: dict[str, tuple[subprocess.Popen, int, PlannedRun, str]] = {}
    stopping = False
    while todo or active:
        if control.stopped and not stopping:
            stopping = True
            for proc, *_ in active.values():
                proc.send_signal(signal.SIGINT)  # train stops at its next step, checkpoint kept
        while todo and free and not stopping:
            i, pr = todo.pop(0)
            slot = free.pop(0)
            active[pr.name] = (_launch(folder, pr, slot, plan), i, pr, slot)
            yield ExperimentProgress(pr.name, i, len(runs), "started", message=slot)
        for name, (proc, i, pr, slot) in list(active.items()):
            if proc.poll() is None:
                continue
            del active[name]
            free.append(slot)
            yield _ended(folder, pr, i, len(runs), proc.returncode, dataset)
        if stopping and not active:
            return
        time.sleep(0.2)


def _launch(folder: str, pr: PlannedRun, slot: str, plan: Plan) -> subprocess.Popen:
    os.makedirs(os.path.join(folder, "plans"), exist_ok=True)
    pr.run.save(os.path.join(folder, "plans", f"{pr.name}.toml"))
    out = run_dir(folder, pr.name)
    os.makedirs(out, exist_ok=True)
    procs = plan.gpus if plan.torchrun else 0
    log = open(os.path.join(folder, "plans", f"{pr.name}.log"), "ab")  # noqa: SIM115 - the child owns it
    try:
        return subprocess.Popen(run_command(folder, pr.name, slot, procs), stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()  # the child keeps its own copy of the descriptor


def _ended(folder: str, pr: PlannedRun, i: int, total: int, rc: int, dataset: Any) -> ExperimentProgress:
    status = read_status(run_dir(folder, pr.name))
    if rc == 0 and status.get("status") == "completed":
        scores = score_run(folder, pr.name, pr.config, pr.seed, dataset)
        return ExperimentProgress(pr.name, i, total, "finished", scores["accuracy"])
    log = os.path.join(folder, "plans", f"{pr.name}.log")
    state = "stopped" if status.get("status") == "stopped" else "failed"
    return ExperimentProgress(pr.name, i, total, state, message=f"exit status {rc}; see {log}")

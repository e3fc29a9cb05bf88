"""A hyperparameter search with Optuna: TPE sampling, median pruning on the validation curve.

The study lives in ``FOLDER/search.db`` (Optuna's SQLite storage: ``optuna-dashboard
sqlite:///FOLDER/search.db`` inspects it). Trial 0 is the automatic settings
(:mod:`.autoconfig`): the search starts from the defaults and can only rank a trial above them
when its validation score is higher. Each trial is a normal run folder ``runs/trial-NNN``; each
epoch's validation score is reported to Optuna, which stops (prunes) a trial whose curve is below
the median of earlier trials at the same epoch.

Resuming: a trial left running by a stop or a kill (Optuna's state RUNNING) is continued from its
run's last checkpoint under the same trial number, so a killed search loses at most the epoch in
flight; finished trials are never redone. The budget is a number of trials and, optionally, a
time limit summed over the trials' training.
"""

from __future__ import annotations

import math
import os
from collections.abc import Generator
from typing import Any

import optuna
from optuna.trial import Trial, TrialState

from mmstudio.config import RunConfig
from mmstudio.engine.events import Control, EpochDone, Event
from mmstudio.engine.experiment_plan import ExperimentProgress, Plan, finished_names, run_dir
from mmstudio.engine.experiments import LinkedControl, score_run, train_or_skip
from mmstudio.engine.runlog import headline, read_status

STUDY = "search"
DB = "search.db"
#: Trials before pruning starts, and epochs of each trial before it may be pruned.
STARTUP_TRIALS = 5
WARMUP_EPOCHS = 2


def open_study(folder: str, seed: int = 0) -> optuna.Study:
    """The folder's study (created on first use), maximising the validation headline metric."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=STUDY,
        storage=f"sqlite:///{os.path.abspath(os.path.join(folder, DB))}",
        direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=WARMUP_EPOCHS),
        load_if_exists=True,
    )
    # seeded by how far the search got: a resumed search must not draw its first trials again
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def search_space(resolved: RunConfig, params: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each searched parameter's Optuna distribution, built around the automatic settings
    (``resolved``), and those settings as trial 0's values (always inside the space)."""
    tr, m = resolved.train, resolved.model
    dist = optuna.distributions
    lr = tr.lr or 3e-3
    space: dict[str, Any] = {
        "lr": dist.FloatDistribution(lr / 10, lr * 5, log=True),
        "batch_size": dist.CategoricalDistribution(sorted({16, 32, 64, 128, tr.batch_size})),
        "weight_decay": dist.FloatDistribution(1e-5, 0.3, log=True),
        "dropout": dist.FloatDistribution(0.0, 0.5),
        "dim": dist.CategoricalDistribution(sorted({32, 64, 128, 256, m.dim})),
        "label_smoothing": dist.FloatDistribution(0.0, 0.2),
    }
    defaults = {
        "lr": lr,
        "batch_size": tr.batch_size,
        "weight_decay": min(0.3, max(1e-5, tr.weight_decay)),
        "dropout": min(0.5, tr.dropout),
        "dim": m.dim,
        "label_smoothing": min(0.2, m.label_smoothing),
    }
    return {p: space[p] for p in params}, {p: defaults[p] for p in params}


def with_params(run: RunConfig, values: dict[str, Any]) -> RunConfig:
    """``run`` with a trial's values in their run.toml fields."""
    train = {k: values[k] for k in ("lr", "batch_size", "weight_decay", "dropout") if k in values}
    model = {k: values[k] for k in ("dim", "label_smoothing") if k in values}
    return run.replace(train=run.train.replace(**train), model=run.model.replace(**model))


def describe_params(values: dict[str, Any]) -> str:
    short = {"lr": "lr", "batch_size": "batch", "weight_decay": "wd", "dropout": "dropout", "dim": "dim"}
    short["label_smoothing"] = "ls"
    return ", ".join(f"{short[k]} {v:.3g}" if isinstance(v, float) else f"{short[k]} {v}" for k, v in values.items())


def search(folder: str, plan: Plan, dataset: Any, control: Control) -> Generator[Event, None, None]:
    """Run (or resume) the search until its trial or time budget is spent, or stop."""
    from mmstudio.engine.autoconfig import resolve
    from mmstudio.engine.devices import pick_device

    study = open_study(folder, plan.sampler_seed)
    resolved, _ = resolve(plan.run, dataset, pick_device(plan.run.train.device).type)
    space, defaults = search_space(resolved, plan.params)
    if not study.trials:
        study.enqueue_trial(defaults)  # trial 0: the automatic settings
    left_running = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for frozen in left_running:  # a stopped or killed trial: continue its run
        trial = Trial(study, frozen._trial_id)  # Optuna's own handle on an existing trial
        if not (yield from _trial(folder, plan, resolved, study, trial, space, dataset, control)):
            return
    while _budget_left(folder, study, plan) and not control.stopped:
        if not (yield from _trial(folder, plan, resolved, study, study.ask(), space, dataset, control)):
            return


def _budget_left(folder: str, study: optuna.Study, plan: Plan) -> bool:
    ended = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    if len(ended) >= plan.trials:
        return False
    if plan.timeout_s:
        used = sum(read_status(run_dir(folder, _name(t.number))).get("seconds", 0.0) for t in ended)
        return used < plan.timeout_s
    return True


def _name(number: int) -> str:
    return f"trial-{number:03d}"


def _trial(
    folder: str, plan: Plan, resolved: RunConfig, study: optuna.Study, trial: Trial, space: dict, dataset, control
) -> Generator[Event, None, bool]:
    """One trial: train (pruned when its curve falls behind), score, tell Optuna. False: stopped."""
    name = _name(trial.number)
    values = {p: _suggest(trial, p, d) for p, d in space.items()}
    run = with_params(plan.run, values).replace(name=name)
    out = run_dir(folder, name)
    own = LinkedControl(control)
    reported = set(study.trials[trial.number].intermediate_values)
    yield ExperimentProgress(name, trial.number + 1, plan.trials, "started", message=describe_params(values))
    pruned = False
    try:
        gen = train_or_skip(run, out, own, dataset)
        while True:
            try:
                event = next(gen)
            except StopIteration as stop:
                finished = stop.value
                break
            yield event
            if isinstance(event, EpochDone) and not pruned:
                pruned = _report(trial, event, reported)
                if pruned:
                    own.stop()  # the run stops at its next step; its bundle is kept
    except (ValueError, RuntimeError, MemoryError) as exc:  # a setting that cannot train: next
        study.tell(trial, state=TrialState.FAIL)
        yield ExperimentProgress(name, trial.number + 1, plan.trials, "failed", message=str(exc)[:500])
        return True
    if not finished and not pruned:  # stopped by the user: the trial stays running, to resume
        yield ExperimentProgress(name, trial.number + 1, plan.trials, "stopped", message="run again to resume")
        return False
    return (yield from _tell(folder, plan, study, trial, name, values, pruned, dataset))


def _suggest(trial: Trial, name: str, dist: Any) -> Any:
    """The trial's value for ``name`` (on a resumed trial, the value it already has)."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)


def _report(trial: Trial, event: EpochDone, reported: set[int]) -> bool:
    """Report the epoch's validation score; True when Optuna prunes the trial."""
    _, value = headline(event.metrics)
    if value is None or event.epoch in reported:
        return False
    trial.report(value, event.epoch)
    reported.add(event.epoch)
    return trial.should_prune()


def _tell(
    folder: str, plan: Plan, study: optuna.Study, trial: Trial, name: str, values: dict, pruned: bool, dataset
) -> Generator[Event, None, bool]:
    extra = {"params": describe_params(values), "state": "pruned" if pruned else "complete"}
    scores = score_run(folder, name, name, plan.run.train.seed, dataset, **extra)
    val = scores.get("val")
    if pruned:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, val if isinstance(val, float) and math.isfinite(val) else scores["accuracy"])
    state = "pruned" if pruned else "finished"
    yield ExperimentProgress(name, trial.number + 1, plan.trials, state, val, extra["params"])
    return True


def trial_names(folder: str) -> list[str]:
    """The trials with scores (finished or pruned)."""
    return [n for n in finished_names(folder) if n.startswith("trial-")]

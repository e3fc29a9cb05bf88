"""An experiment's plan: a folder of normal runs that share data, split and seeds (no torch).

Two kinds:

- ``grid``: each chosen modality alone, then every chosen fusion over the chosen modalities,
  each repeated for every seed. The runs differ only in modalities, fusion and training seed;
  the dataset (and so its split, fixed by ``dataset.split.seed``) is the same for all.
- ``search``: an Optuna search over hyperparameters (:mod:`.experiment_search`) whose trial 0
  is the automatic settings.

The folder holds ``experiment.json`` (this plan, schema-checked on reading), ``runs/NAME/``
(normal run folders: curves, checkpoints, bundle), ``scores/NAME.json`` (each finished run's
test-split figures and per-item correctness) and, for a search, ``search.db`` (Optuna's SQLite
storage). What is done is read back from those files, so a stopped or killed experiment resumes
where it stopped. The GUI lists experiments at start-up: nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from mmstudio.config import MODALITY_NAMES, RunConfig
from mmstudio.engine.events import Event
from mmstudio.errors import LoadError, SchemaError
from mmstudio.fileio import atomic_write_text
from mmstudio.schema import Bool, Int, List, Map, Num, Str, check, read_json

PLAN = "experiment.json"
KINDS = ("grid", "search")
PLAN_VERSION = 1
#: Hyperparameters a search may tune, with the run.toml field each one sets.
SEARCHABLE = {
    "lr": "train.lr",
    "batch_size": "train.batch_size",
    "weight_decay": "train.weight_decay",
    "dropout": "train.dropout",
    "dim": "model.dim",
    "label_smoothing": "model.label_smoothing",
}

_SEARCH = Map(
    {
        "trials": Int(1, 100_000),
        "timeout_s": Num(0, 1e9),
        "sampler_seed": Int(0, 2**32 - 1),
        "params": List(Str(choices=tuple(SEARCHABLE)), max_len=len(SEARCHABLE)),
    },
    required=("trials", "timeout_s", "params"),
)
PLAN_SCHEMA = Map(
    {
        "schema_version": Int(1, PLAN_VERSION),
        "kind": Str(choices=KINDS),
        "name": Str(max_len=200),
        "created": Num(0, 1e11),
        "run": Map(max_keys=100),
        "modalities": List(Str(choices=MODALITY_NAMES), max_len=3),
        "fusions": List(Str(max_len=64), max_len=64),
        "seeds": List(Int(0, 2**32 - 1), min_len=1, max_len=1000),
        "search": _SEARCH,
        "gpus": Int(0, 1024),
        "torchrun": Bool(),
    },
    required=("schema_version", "kind", "run", "seeds"),
)


@dataclass(frozen=True)
class Plan:
    """What an experiment runs. ``run`` is the shared starting point (automatic fields left at 0,
    chosen from the data by each run as usual)."""

    kind: str
    run: RunConfig
    modalities: tuple[str, ...] = ()
    fusions: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0,)
    name: str = ""
    trials: int = 20
    timeout_s: float = 0.0  # 0: no time limit
    params: tuple[str, ...] = tuple(SEARCHABLE)
    sampler_seed: int = 0
    gpus: int = 0  # >1: one run per GPU at once (grid)
    torchrun: bool = False  # each run trains on every GPU through torchrun
    created: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": PLAN_VERSION,
            "kind": self.kind,
            "name": self.name,
            "created": self.created,
            "run": self.run.to_dict(),
            "modalities": list(self.modalities),
            "fusions": list(self.fusions),
            "seeds": list(self.seeds),
            "search": {
                "trials": self.trials,
                "timeout_s": self.timeout_s,
                "sampler_seed": self.sampler_seed,
                "params": list(self.params),
            },
            "gpus": self.gpus,
            "torchrun": self.torchrun,
        }


@dataclass(frozen=True)
class PlannedRun:
    """One run of a grid: ``name`` is its folder under ``runs/``; ``config`` the row of the table
    it counts towards (the name without the seed)."""

    name: str
    config: str
    seed: int
    run: RunConfig


@dataclass(frozen=True)
class ExperimentProgress(Event):
    """An experiment's own event, between its runs' events: ``state`` is ``started``,
    ``finished``, ``skipped`` (done before a resume), ``pruned``, ``failed`` or ``stopped``."""

    name: str
    index: int  # counted from 1
    total: int
    state: str
    value: float | None = None  # the run's figure (test accuracy; a trial's validation score)
    message: str = ""


def grid_plan(
    run: RunConfig, modalities: tuple[str, ...], fusions: tuple[str, ...], seeds: tuple[int, ...], **kw: Any
) -> Plan:
    """A fusion grid over ``modalities`` (at least two) with ``fusions``, repeated per seed."""
    if len(modalities) < 2:
        raise ValueError("a fusion grid needs at least two modalities (e.g. image,audio)")
    if not fusions:
        raise ValueError("a fusion grid needs at least one fusion")
    bad = [m for m in modalities if m not in MODALITY_NAMES]
    if bad:
        raise ValueError(f"unknown modality {bad[0]!r}; modalities are {', '.join(MODALITY_NAMES)}")
    _check_fusions(fusions)
    if "classify" not in run.model.task:
        raise ValueError("experiments rank classifiers by test accuracy: use --task classify")
    return Plan("grid", run, tuple(modalities), tuple(fusions), _seeds(seeds), **kw)


def search_plan(run: RunConfig, trials: int, timeout_s: float = 0.0, **kw: Any) -> Plan:
    """An Optuna search of ``trials`` trials (or until ``timeout_s`` of training) from ``run``."""
    if trials < 1:
        raise ValueError("a search needs at least one trial")
    if "classify" not in run.model.task:
        raise ValueError("experiments rank classifiers by test accuracy: use --task classify")
    bad = [p for p in kw.get("params", ()) if p not in SEARCHABLE]
    if bad:
        raise ValueError(f"cannot search {bad[0]!r}; searchable: {', '.join(SEARCHABLE)}")
    return Plan("search", run, trials=trials, timeout_s=timeout_s, **kw)


def grid_runs(plan: Plan) -> list[PlannedRun]:
    """Every run of a grid in the order they train: seed by seed, the single modalities first,
    then each fusion, so a grid stopped half-way already has whole rows for the first seeds."""
    base = plan.run
    out = []
    for seed in plan.seeds:
        train = base.train.replace(seed=seed)
        for m in plan.modalities:
            model = base.model.replace(modalities=(m,))
            out.append(PlannedRun(f"{m}-s{seed}", m, seed, base.replace(model=model, train=train, name=f"{m}-s{seed}")))
        mods = "+".join(plan.modalities)
        for f in plan.fusions:
            model = base.model.replace(modalities=plan.modalities, fusion=f)
            name = f"{mods}-{f}-s{seed}"
            out.append(PlannedRun(name, f"{mods}-{f}", seed, base.replace(model=model, train=train, name=name)))
    return out


def save_plan(folder: str, plan: Plan) -> str:
    """Create ``folder`` (if needed) and write its ``experiment.json`` atomically."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, PLAN)
    atomic_write_text(path, json.dumps(plan.to_dict(), indent=1))
    return path


def load_plan(folder: str) -> Plan:
    """The plan in ``folder/experiment.json``; ``LoadError`` naming the file and field on any fault."""
    path = os.path.join(folder, PLAN)
    data = check(read_json(path, 4 << 20), PLAN_SCHEMA, path)
    try:
        run = RunConfig.from_dict(data["run"])
        search = data.get("search", {"trials": 20, "timeout_s": 0, "params": list(SEARCHABLE)})
        return Plan(
            data["kind"],
            run,
            tuple(data.get("modalities", ())),
            tuple(data.get("fusions", ())),
            _seeds(data["seeds"]),
            data.get("name", ""),
            search["trials"],
            float(search["timeout_s"]),
            tuple(search["params"]),
            search.get("sampler_seed", 0),
            data.get("gpus", 0),
            data.get("torchrun", False),
            data.get("created", 0.0),
        )
    except SchemaError as exc:
        raise exc.in_file(path) from None
    except (TypeError, ValueError) as exc:
        raise LoadError(path, str(exc)) from None


def is_experiment(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, PLAN))


def run_dir(folder: str, name: str) -> str:
    return os.path.join(folder, "runs", name)


def scores_path(folder: str, name: str) -> str:
    return os.path.join(folder, "scores", f"{name}.json")


def list_experiments(root: str) -> list[dict[str, Any]]:
    """Every experiment folder under ``root``, newest first: plan summary and progress."""
    if not os.path.isdir(root):
        return []
    out = []
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if is_experiment(folder):
            out.append(experiment_summary(folder))
    out.sort(key=lambda e: e.get("created") or 0.0, reverse=True)
    return out


def experiment_summary(folder: str) -> dict[str, Any]:
    """Kind, name, runs done of planned, and whether a process is running it now."""
    summary: dict[str, Any] = {"path": os.path.abspath(folder), "name": os.path.basename(os.path.normpath(folder))}
    try:
        plan = load_plan(folder)
    except LoadError as exc:
        return {**summary, "kind": "?", "error": str(exc), "done": 0, "total": 0, "created": 0.0}
    done = len(finished_names(folder))
    total = len(grid_runs(plan)) if plan.kind == "grid" else plan.trials
    return {
        **summary,
        "kind": plan.kind,
        "title": plan.name or summary["name"],
        "done": done,
        "total": total,
        "created": plan.created,
        "modalities": list(plan.modalities or plan.run.model.modalities),
        "dataset": plan.run.dataset.path,
    }


def finished_names(folder: str) -> list[str]:
    """Runs whose test figures are recorded (``scores/NAME.json``): those a resume skips."""
    scores = os.path.join(folder, "scores")
    if not os.path.isdir(scores):
        return []
    return sorted(n[: -len(".json")] for n in os.listdir(scores) if n.endswith(".json"))


def run_command(folder: str, name: str, device: str = "", procs: int = 0) -> list[str]:
    """The command line that trains planned run ``name`` in its own process (resuming from its
    checkpoint when it has one): ``mmstudio train`` on ``device``, or under ``torchrun`` with
    ``procs`` processes (one per GPU) when ``procs`` > 1."""
    config = os.path.join(folder, "plans", f"{name}.toml")
    args = ["-m", "mmstudio", "train", "--config", config, "--out", run_dir(folder, name), "--resume", "--json"]
    if device:
        args += ["--device", device]
    if procs > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}", *args[1:]]
    return [sys.executable, *args]


def device_slots(gpus: int, torchrun: bool) -> list[str]:
    """Where runs go at once: one slot per GPU (``cuda:0``, ``cuda:1``, ...); a single slot when
    there is one device or when each run spans every GPU through torchrun."""
    if gpus > 1 and not torchrun:
        return [f"cuda:{i}" for i in range(gpus)]
    return [""]


def _seeds(seeds: Any) -> tuple[int, ...]:
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"give one or more distinct seeds, got {list(seeds)}")
    return seeds


def _check_fusions(fusions: tuple[str, ...]) -> None:
    from mmstudio.engine.components import FUSIONS

    known = FUSIONS.names()
    bad = [f for f in fusions if f not in known]
    if bad:
        raise ValueError(f"unknown fusion {bad[0]!r}; fusions are {', '.join(known)}")

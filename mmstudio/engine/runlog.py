"""A run folder's own record, so runs survive a restart of the app (and of the machine).

``recorded(events, out_dir)`` passes a training generator's events through unchanged while it
appends each one to ``OUT/events.jsonl`` and keeps ``OUT/status.json`` (status, start, duration,
best metric) up to date with atomic replaces; ``OUT/metrics.csv`` and TensorBoard scalars come from
:mod:`mmstudio.engine.scalars`. ``list_runs(root)`` and ``read_curves(out_dir)``
read those back as plain values for the runs list and for overlaying curves.

No torch here: the GUI lists runs at start-up without importing it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Generator
from enum import StrEnum
from typing import Any, TypeVar

from mmstudio.engine.events import EpochDone, Event, Paused, Resumed, RunFinished, RunStarted
from mmstudio.engine.trainclock import TrainClock
from mmstudio.errors import LoadError, SchemaError
from mmstudio.file_schemas import EPOCH_EVENT, STEP_EVENT
from mmstudio.file_schemas import STATUS as STATUS_SCHEMA
from mmstudio.fileio import atomic_write_text, write_failed
from mmstudio.runlock import run_folder_lock
from mmstudio.schema import check, parse_json, read_json

T = TypeVar("T")


class RunStatus(StrEnum):
    """A run's ``status`` in ``status.json`` (stored as the plain string value)."""

    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # recorded as running, but its process is gone


#: Why a run ended (RunFinished.reason) that counts as completed.
COMPLETED_REASONS = ("completed", "early_stopping", "max_steps")

STATUS = "status.json"
EVENTS = "events.jsonl"
#: Keys tried, in order, for a run's headline metric (higher is better for all but loss).
HEADLINE = ("accuracy", "recall@1", "macro_f1", "r2", "token_accuracy")
#: characters of one event line; the longest real ones (an epoch's metrics) are a few kilobytes
MAX_EVENT_CHARS = 1 << 20


def recorded(events: Generator[Any, None, T], out_dir: str, sink: Any = None) -> Generator[Any, None, T]:
    """Yield ``events`` unchanged, recording them in ``out_dir``; returns the generator's result.

    ``sink(out_dir)``, when given, makes one more record of the events (``add(event)``,
    ``close()``): the trainer's metrics.csv and TensorBoard scalars.

    The folder is locked first (:mod:`mmstudio.runlock`): a second run into it is refused with a
    message naming the first, before anything is written.
    """
    with run_folder_lock(out_dir):
        return (yield from _recorded(events, out_dir, sink))


def _recorded(events: Generator[Any, None, T], out_dir: str, sink: Any = None) -> Generator[Any, None, T]:
    """:func:`recorded` once the folder is held.

    A run that raises is marked ``failed`` with the message; one whose consumer stops pulling
    (generator closed) is marked ``stopped``; one killed outright stays ``running`` on disk and
    :func:`list_runs` reports it as ``interrupted`` once its process is gone.
    """
    os.makedirs(out_dir, exist_ok=True)
    status = _read_json(os.path.join(out_dir, STATUS)) or {}
    status.update(
        status=RunStatus.RUNNING.value,
        pid=os.getpid(),
        host=socket.gethostname(),
        started=status.get("started") or time.time(),
        resumed=time.time(),
        error="",
    )
    clock = TrainClock(float(status.get("seconds", 0.0)))  # the trainer's own figure from RunStarted on
    _write_status(out_dir, status)
    log = open(os.path.join(out_dir, EVENTS), "a", encoding="utf-8")  # noqa: SIM115 - open for the
    # generator's whole life (a with-block cannot span its yields); closed in the finally below
    scalars = sink(out_dir) if sink is not None else _NoSink()
    try:
        while True:
            try:
                event = next(events)
            except StopIteration as stop:
                return stop.value
            _append(log, json.dumps(event.as_dict()) + "\n")
            scalars.add(event)
            _update(status, event)
            clock = _follow(clock, event)
            if isinstance(event, (RunStarted, EpochDone, RunFinished)):
                status["seconds"] = clock.seconds
                _write_status(out_dir, status)
            yield event
    except GeneratorExit:
        status.update(status=RunStatus.STOPPED.value)
        raise
    except BaseException as exc:
        status.update(status=RunStatus.FAILED.value, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        log.close()
        scalars.close()
        status["seconds"] = clock.seconds
        if status["status"] == RunStatus.RUNNING:  # the generator ended without RunFinished
            status["status"] = RunStatus.STOPPED.value
        try:
            _write_status(out_dir, status)
        except OSError:
            if status["status"] != RunStatus.FAILED:
                raise
            # a full disk: the error already on its way (naming the file) says more than this one


def _follow(clock: TrainClock, event: Event) -> TrainClock:
    """The run's training seconds after ``event``: the trainer's figure at its start and end (a
    resumed run's earlier sessions included), pauses left out, so the runs list and the Train
    panel show one duration."""
    match event:
        case Paused():
            clock.pause()
        case Resumed():
            clock.resume()
        case RunStarted():
            return TrainClock(event.seconds)
        case RunFinished():
            clock = TrainClock(event.seconds)
            clock.pause()  # done: the bundle is written, nothing more counts
    return clock


def _update(status: dict[str, Any], event: Event) -> None:
    match event:
        case RunStarted():
            status.update(
                device=event.device,
                modalities=list(event.modalities),
                epochs_total=event.epochs,
                classes=len(event.class_names),
            )
        case EpochDone():
            _record_epoch(status, event)
        case RunFinished():
            status.update(
                status=RunStatus.COMPLETED.value if event.reason in COMPLETED_REASONS else event.reason,
                reason=event.reason,
                bundle=event.bundle,
                epoch=event.epochs,
            )


def _record_epoch(status: dict[str, Any], event: EpochDone) -> None:
    """The epoch count, the last training loss and the best epoch by the headline metric."""
    status["epoch"] = event.epoch
    key, value = headline(event.metrics)
    if key and (status.get("best_metric") in (None, "train_loss") or value > status["best_value"]):
        status.update(best_metric=key, best_value=value, best_epoch=event.epoch)
    elif (
        not key
        and status.get("best_metric") in (None, "train_loss")
        and (status.get("best_value") is None or event.train_loss < status["best_value"])
    ):
        # no validation split: the lowest training loss stands in (lower is better)
        status.update(best_metric="train_loss", best_value=event.train_loss, best_epoch=event.epoch)
    status["train_loss"] = event.train_loss


def headline(metrics: dict[str, Any]) -> tuple[str, float | None]:
    """The metric a run is judged by, higher is better: accuracy, else Recall@1, else macro F1,
    else R² (regress), else a generator's token accuracy (``("", None)`` when there is none). The trainer picks the best epoch by it, the runs list
    ranks runs by it and the Train panel plots it."""
    for key in HEADLINE:
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return key, float(value)
    return "", None


def new_run_dir(root: str, name: str = "") -> str:
    """Create and return a new run folder under ``root``: ``<YYYYmmdd-HHMMSS>[-name][-n]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(root, f"{stamp}-{name}" if name else stamp)
    path, n = base, 1
    while True:
        try:
            os.makedirs(path)
            return path
        except FileExistsError:  # two runs started in the same second
            n += 1
            path = f"{base}-{n}"


def read_status(out_dir: str) -> dict[str, Any]:
    """A run's status with derived fields: ``name``, ``path``, and ``interrupted`` for runs whose
    process died while ``running``."""
    status = _read_json(os.path.join(out_dir, STATUS)) or {}
    status.setdefault("status", "unknown")
    status["path"] = os.path.abspath(out_dir)
    status["name"] = os.path.basename(os.path.normpath(out_dir))
    if status["status"] == RunStatus.RUNNING and not _alive(status.get("pid"), status.get("host")):
        status["status"] = RunStatus.INTERRUPTED.value
    status["resumable"] = status["status"] in (
        RunStatus.STOPPED,
        RunStatus.INTERRUPTED,
        RunStatus.FAILED,
    ) and os.path.isdir(os.path.join(out_dir, "checkpoints", "last"))
    bundle = os.path.join(out_dir, "bundle")
    status["bundle"] = bundle if os.path.isfile(os.path.join(bundle, "bundle.json")) else ""
    status["config"] = _config_summary(out_dir)
    return status


def list_runs(root: str) -> list[dict[str, Any]]:
    """Every run folder under ``root`` (those with a ``run.toml``), newest first."""
    if not os.path.isdir(root):
        return []
    runs = []
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if os.path.isfile(os.path.join(path, "run.toml")):
            runs.append(read_status(path))
    runs.sort(key=lambda r: r.get("started") or 0.0, reverse=True)
    return runs


def read_curves(out_dir: str) -> dict[str, Any]:
    """The curves a run logged: ``step``/``loss``/``lr`` per logged step and ``epoch``/
    ``train_loss``/``metric``/``val_loss``/``weights`` per epoch (plain lists).

    After a resume the log holds the steps between the last checkpoint and the stop twice; the
    later ones win, so the curve shows the run that the checkpoint continued.
    """
    steps: dict[int, tuple[float, float]] = {}
    epochs: dict[int, dict[str, Any]] = {}
    metric = ""
    for e in _curve_events(os.path.join(out_dir, EVENTS)):
        kind = e.get("event")
        if kind == "StepLogged":
            steps[int(e["step"])] = (float(e["loss"]), float(e["lr"]))
        elif kind == "EpochDone":
            key, value = headline(e.get("metrics", {}))
            metric = key or metric
            epochs[int(e["epoch"])] = {
                "train_loss": e["train_loss"],
                "metric": value if key else None,
                "val_loss": e.get("metrics", {}).get("loss"),
                "weights": e.get("weights") or {},
            }
    ordered = sorted(steps)
    ep = sorted(epochs)
    return {
        "step": ordered,
        "loss": [steps[s][0] for s in ordered],
        "lr": [steps[s][1] for s in ordered],
        "epoch": ep,
        "train_loss": [epochs[e]["train_loss"] for e in ep],
        "metric": [epochs[e]["metric"] for e in ep],
        "val_loss": [epochs[e]["val_loss"] for e in ep],
        "weights": [epochs[e]["weights"] for e in ep],
        "metric_name": metric,
    }


def _config_summary(out_dir: str) -> str:
    """ "image+audio · concat · classify · 10 ep" from run.toml, without importing tomllib twice."""
    try:
        from mmstudio.config import RunConfig

        run = RunConfig.load(os.path.join(out_dir, "run.toml"))
    except (OSError, ValueError, TypeError, KeyError):
        return "?"
    m = run.model
    encoders = ", ".join(f"{mod}: {getattr(m, mod).encoder}" for mod in m.modalities)
    return (
        f"{encoders} · {m.fusion} · {m.task} · {run.train.epochs} ep · batch "
        f"{run.train.batch_size} · lr {run.train.lr:g} · {os.path.basename(run.dataset.path)}"
    )


def _alive(pid: Any, host: Any) -> bool:
    if host != socket.gethostname():
        return True  # run on another machine (a shared disk): cannot tell, assume it still runs
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _NoSink:
    """Where events go besides events.jsonl when no other record is asked for."""

    def add(self, event: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _curve_events(path: str) -> Generator[dict[str, Any], None, None]:
    """:func:`_events` of the file at ``path``; none when it cannot be read (a run that never
    logged)."""
    try:
        with open(path, encoding="utf-8") as fh:
            yield from _events(fh)
    except OSError:
        return


def _events(fh) -> Generator[dict[str, Any], None, None]:
    """The curve events of ``events.jsonl`` that fit their schema; a line cut short by a kill,
    over-long, or damaged is skipped (the rest of the run's curve still shows)."""
    schemas = {"StepLogged": STEP_EVENT, "EpochDone": EPOCH_EVENT}
    while True:
        line = fh.readline(MAX_EVENT_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_EVENT_CHARS:
            while line and not line.endswith("\n"):  # drain the rest of a runaway line
                line = fh.readline(MAX_EVENT_CHARS)
            continue
        try:
            event = parse_json(line, fh.name)
            schema = schemas.get(str(event.get("event"))) if isinstance(event, dict) else None
            if schema is not None:
                schema.check(event, "")
                yield event
        except (LoadError, SchemaError):
            continue


def _read_json(path: str) -> dict[str, Any] | None:
    """``status.json`` checked against its schema; None when absent, damaged or not ours."""
    try:
        return check(read_json(path, 1 << 20), STATUS_SCHEMA, path)
    except LoadError:
        return None


def _append(log, line: str) -> None:
    """One event line; a failed write (a full disk) names the file."""
    try:
        log.write(line)
        log.flush()
    except OSError as exc:
        raise write_failed(exc, log.name) or exc from exc


def _write_status(out_dir: str, status: dict[str, Any]) -> None:
    """Atomic: a reader (or a crash) never sees half a status file."""
    atomic_write_text(os.path.join(out_dir, STATUS), json.dumps(status, indent=1))

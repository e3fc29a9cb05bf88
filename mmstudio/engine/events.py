"""The small vocabulary a training run speaks: frozen events, the control flags, the result.

Events hold plain Python values only (never tensors), so the GUI can keep them, a CLI can print
them as JSON lines, and another thread can read them without touching torch.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base of every event; ``as_dict`` is what ``mmstudio train --json`` prints per line."""

    def as_dict(self) -> dict[str, Any]:
        return {"event": type(self).__name__, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    out_dir: str
    device: str
    precision: str
    modalities: tuple[str, ...]
    class_names: tuple[str, ...]
    train_items: int
    val_items: int
    parameters: int
    epochs: int
    steps_per_epoch: int
    start_epoch: int = 0
    batch_size: int = 0  # the batch actually used (the probe's result with auto batch size)
    start_step: int = 0  # global steps already done (a resumed run; mid-epoch stops included)
    seconds: float = 0.0  # the run's training seconds so far (earlier sessions too; no pauses)


@dataclass(frozen=True)
class DataPrepared(Event):
    """Progress of decoding inputs into the cache (``done`` of ``total`` files)."""

    modality: str
    done: int
    total: int
    seconds: float


@dataclass(frozen=True)
class StepLogged(Event):
    epoch: int
    step: int  # global step, counted from 1
    loss: float
    lr: float
    samples_per_s: float
    gpu_memory_mb: float = 0.0  # peak CUDA memory allocated since the last log (0 on CPU)
    seconds: float = 0.0  # the run's training seconds so far (earlier sessions too; no pauses)


@dataclass(frozen=True)
class EpochDone(Event):
    epoch: int  # counted from 1
    step: int
    train_loss: float
    metrics: dict[str, float]  # val (or train when there is no val split) metrics
    seconds: float
    samples_per_s: float
    best: bool = False
    weights: dict[str, float] = field(default_factory=dict)  # learned modality weights, if any


@dataclass(frozen=True)
class CheckpointSaved(Event):
    path: str
    kind: str  # "last" or "best"
    epoch: int


@dataclass(frozen=True)
class Paused(Event):
    step: int


@dataclass(frozen=True)
class Resumed(Event):
    step: int


@dataclass(frozen=True)
class RunFinished(Event):
    bundle: str
    reason: str  # "completed", "stopped", "early_stopping", "max_steps"
    epochs: int
    steps: int
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    """What ``train`` returns (the generator's ``StopIteration.value``)."""

    bundle: str
    out_dir: str
    reason: str
    epochs: int
    steps: int
    seconds: float
    metrics: dict[str, Any]
    history: list[dict[str, Any]]


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event ``Event.as_dict`` (one line of ``mmstudio train --json``) describes.

    The inverse of ``as_dict`` after a JSON round trip: lists become tuples where the field is a
    tuple. Keys this version does not know are ignored (a newer engine may add fields); an
    unknown event name or a missing required field is a ``ValueError``.
    """
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise ValueError(f"not an event: {str(data)[:200]!r}")
    cls = _EVENTS.get(data["event"])
    if cls is None:
        raise ValueError(f"unknown event {data['event']!r}; known: {', '.join(sorted(_EVENTS))}")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            values[f.name] = tuple(value) if str(f.type).startswith("tuple") and isinstance(value, list) else value
    try:
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"{data['event']}: {exc}") from exc


_EVENTS: dict[str, type[Event]] = {
    c.__name__: c
    for c in (RunStarted, DataPrepared, StepLogged, EpochDone, CheckpointSaved, Paused, Resumed, RunFinished)
}


class Control:
    """Pause/stop flags the GUI sets from another thread; training checks them at each yield."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float = 0.5) -> bool:
        """Block up to ``timeout`` seconds while paused; True when no longer paused."""
        return self._running.wait(timeout)


def drive(events, on_event=None):
    """Run a training generator to its end, handing each event to ``on_event``; returns its result.

    ``engine.train`` returns its RunResult through StopIteration: this is the one place that
    unpacks it, for the CLI and scripts that do not need to interleave anything else.
    """
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(event)

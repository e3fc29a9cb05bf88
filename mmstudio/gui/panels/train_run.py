"""What the Train panel runs and says: the engine's training generator as a worker's job (failures
become values, never crashes), where runs are written, advice for a failure, and the panel's
states. No widgets here."""

from __future__ import annotations

import os
import traceback
from collections.abc import Generator
from enum import StrEnum
from typing import Any

from mmstudio import engine


class PanelState(StrEnum):
    """Where the panel's run is (a str, so ``state == "running"`` reads naturally too)."""

    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"


def runs_dir() -> str:
    """Where runs are written: ``$MMSTUDIO_HOME/runs``, else the user's data folder."""
    home = os.environ.get("MMSTUDIO_HOME")
    if not home:
        import platformdirs

        home = platformdirs.user_data_dir("mmstudio", appauthor=False)
    return os.path.join(home, "runs")


class Failed:
    """What the worker yields instead of raising: the GUI turns it into a message."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.trace = traceback.format_exc()


def run_events(run, out_dir, control, dataset, resume) -> Generator[Any, None, Any]:
    """``engine.train``'s events, then a :class:`Failed` instead of an exception."""
    try:
        result = yield from engine.train(run, out_dir, control=control, resume=resume, dataset=dataset)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message, never a crash
        yield Failed(exc)
        return None
    return result


def advice(error: BaseException) -> str:
    """A short hint for the failures users meet most (the engine's typed errors first)."""
    if isinstance(error, engine.RunProblems):
        return "Change these settings in the Model panel, then start again."
    text = str(error).lower()
    if isinstance(error, engine.OutOfMemory) or "out of memory" in text:
        return "The GPU ran out of memory: lower the batch size or the image size, then resume."
    if "cuda" in text and ("available" in text or "driver" in text or "no cuda" in text):
        return "No usable CUDA device: choose the CPU device (or the Quick preset)."
    if isinstance(error, (OSError, ValueError)) and ("file" in text or "decode" in text or "no such" in text):
        return "A data file could not be read: check it in the Data panel, then resume."
    return "The last checkpoint is kept; change the settings and resume, or start again."


def seconds_left(total_steps: int, step: int, base_step: int, seconds: float) -> float:
    """The ETA: the steps left at the pace of the ``step - base_step`` steps trained in this
    session's ``seconds`` (the engine's training seconds, so a pause does not slow the pace)."""
    return max(0, total_steps - step) * max(0.0, seconds) / max(1, step - base_step)


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"


class LiveRun:
    """The running run's row in the runs list: its duration counts only while it trains (not
    while paused), and ``tick`` says when a second has passed, to refresh the row that often."""

    def __init__(self, path: str, seconds: float = 0.0, epoch: int = 0) -> None:
        import time

        self.path = os.path.abspath(path)
        self.seconds = seconds
        self.epoch = epoch
        self.paused = False
        self._last = time.monotonic()
        self._shown = 0.0

    def tick(self, paused: bool) -> bool:
        import time

        now = time.monotonic()
        if not self.paused:
            self.seconds += now - self._last
        self._last = now
        changed = paused != self.paused or now - self._shown >= 1.0
        self.paused = paused
        if changed:
            self._shown = now
        return changed

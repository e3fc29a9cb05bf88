"""The one way torch work runs off the GUI thread: a panel's ``Lane``, keyed by what it shows.

Why not the global QThreadPool: torch (pybind11) caches a Python thread state per OS thread,
and a pooled thread reused after PySide freed that state crashes (see the Train panel). A plain
Python thread that lives as long as the panel avoids that, and running a panel's jobs in order
on it means the loaded model and index are never used by two threads at once.

The vocabulary (as in Orange3: progress, cancel, results for one input):

- ``ViewKey``: the (model, dataset, split) a view shows. ``Lane.set_view(key)`` makes a new
  key current: queued jobs of other keys are dropped, the running one is cancelled, and any
  result, error or progress a job of an old key sends later is dropped, never shown.
- ``Token``: each job's cancel token. ``Lane.cancel()`` cancels what is queued and running.
  A job given ``progress=`` (``with_progress=True``) stops at its next progress report: the
  report raises ``Cancelled``. Engine work that reports progress is thereby cancellable
  without knowing about Qt.
- A job submitted with a ``slot`` replaces a queued, not yet started job of the same slot:
  typing fast runs only the latest query.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot


@dataclass(frozen=True)
class ViewKey:
    """What a view shows results for; two keys are equal only for the very same inputs."""

    model: str = ""  # the bundle's path
    dataset: str = ""  # the dataset's path
    split: str = ""
    generation: int = field(default=0, compare=True, repr=False)  # a new scan of the same path

    @property
    def complete(self) -> bool:
        return bool(self.model and self.dataset)

    def describe(self) -> str:
        """One line naming the key, as the view shows it above its results."""
        model = _short(self.model) if self.model else "no model"
        dataset = _short(self.dataset) if self.dataset else "no dataset"
        split = f" · split <b>{self.split}</b>" if self.split else ""
        return f"Model <b>{model}</b> · dataset <b>{dataset}</b>{split}"


def _short(path: str) -> str:
    """The last parts of a path that tell it apart (``run-3/bundle``, ``digits/manifest.csv``)."""
    parts = [p for p in os.path.normpath(path).split(os.sep) if p]
    generic = parts and (parts[-1] in ("bundle", "data", "dataset") or os.path.splitext(parts[-1])[1])
    return os.sep.join(parts[-2:] if generic else parts[-1:]) or path


class Cancelled(Exception):
    """Raised inside a job when its token was cancelled; the lane delivers nothing for it."""


class Token:
    """A job's cancel token (quacks like ``engine.Control`` for code that polls ``stopped``)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    stopped = cancelled

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait_while_paused(self) -> None:
        """Nothing to wait for: a lane's jobs are cancelled, never paused."""


@dataclass
class _Job:
    id: int
    fn: Callable
    args: tuple
    kwargs: dict
    slot: str | None
    view: ViewKey | None
    token: Token
    on_done: Callable | None
    on_error: Callable | None


class Lane(QObject):
    """``submit(fn, *args, on_done=, on_error=, slot=, view=, with_progress=)``."""

    _finished = Signal(int, bool, object)
    _progressed = Signal(int, float, str)
    progress = Signal(float, str)  # fraction, message: the current view's running job only
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, name: str = "mmstudio-lane") -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._jobs: dict[int, _Job] = {}  # queued or running, until delivered
        self._ids = itertools.count(1)
        self._running: _Job | None = None
        self._closed = False
        self.view: ViewKey | None = None
        self._finished.connect(self._on_finished)
        self._progressed.connect(self._on_progressed)
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether any job is queued or running (a cancelled one too, until it has ended)."""
        return bool(self._jobs)

    @property
    def working(self) -> bool:
        """Whether a job that will deliver its result is queued or running."""
        return any(not job.token.cancelled for job in list(self._jobs.values()))

    @property
    def thread_name(self) -> str:
        return self._thread.name

    def set_view(self, view: ViewKey | None) -> bool:
        """Make ``view`` the key results are shown for; False when it already was."""
        if view == self.view:
            return False
        self.view = view
        with self._cond:
            for job in list(self._jobs.values()):
                if job.view is not None and job.view != view:
                    self._cancel(job)
        return True

    def cancel(self, slot: str | None = None) -> None:
        """Cancel every queued and running job (of ``slot`` only, when given): none of them
        delivers anything."""
        with self._cond:
            for job in list(self._jobs.values()):
                if slot is None or job.slot == slot:
                    self._cancel(job)
        if not self._jobs:
            self.busy_changed.emit(False)

    def _cancel(self, job: _Job) -> None:  # holding self._cond
        job.token.cancel()
        if job in self._queue:
            self._queue.remove(job)
            self._jobs.pop(job.id, None)

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable | None = None,
        on_error: Callable | None = None,
        slot: str | None = None,
        view: ViewKey | None = None,
        with_progress: bool = False,
        with_token: bool = False,
        **kwargs: Any,
    ) -> Token:
        """Queue ``fn``; ``with_progress`` passes ``progress=(fraction, message)``, which
        raises ``Cancelled`` once the job is cancelled; ``with_token`` passes ``token=``."""
        token = Token()
        job = _Job(next(self._ids), fn, args, kwargs, slot, view, token, on_done, on_error)
        if with_progress:
            kwargs["progress"] = self._reporter(job.id, token)
        if with_token:
            kwargs["token"] = token
        with self._cond:
            if slot is not None:
                for old in [j for j in self._queue if j.slot == slot]:
                    self._cancel(old)
            self._queue.append(job)
            self._jobs[job.id] = job
            self._cond.notify()
        self.busy_changed.emit(True)
        return token

    def _reporter(self, job_id: int, token: Token) -> Callable[[float, str], None]:
        # Not the job itself: no cycle through its callbacks (a panel's bound methods), which
        # the garbage collector could then free on this thread (see _loop).
        def report(fraction: float, message: str) -> None:
            token.check()
            self._progressed.emit(job_id, float(fraction), str(message))

        return report

    def close(self, timeout: float = 10.0) -> None:
        """Cancel everything, let the running job end, and stop the thread."""
        with self._cond:
            self._closed = True
            for job in list(self._jobs.values()):
                self._cancel(job)
            self._cond.notify()
        self._thread.join(timeout)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no job is queued or running (for scripts; the GUI uses the signals)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._running is None, timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                job = self._running = self._queue.pop(0)
            job_id = job.id
            try:
                job.token.check()
                result, ok = job.fn(*job.args, **job.kwargs), True
            except Exception as exc:  # noqa: BLE001 - delivered to on_error as a message
                result, ok = exc.with_traceback(None), False  # a traceback would keep this frame
            # The last references to a job's callbacks (a panel's bound methods) must be dropped
            # on the GUI thread: a widget freed here makes Shiboken delete it across threads,
            # which deadlocked a closing window. ``_jobs`` keeps the job until _on_finished.
            del job
            with self._cond:
                self._running = None
                self._cond.notify_all()
                closed = self._closed
            if not closed:  # a closed lane's QObject may be gone with its panel
                self._finished.emit(job_id, ok, result)
            del result

    def _current(self, job: _Job | None) -> bool:
        """Whether ``job``'s results may be shown: not cancelled, and of the current view."""
        return job is not None and not job.token.cancelled and (job.view is None or job.view == self.view)

    @Slot(int, float, str)
    def _on_progressed(self, job_id: int, fraction: float, message: str) -> None:
        if self._current(self._jobs.get(job_id)):
            self.progress.emit(fraction, message)

    @Slot(int, bool, object)
    def _on_finished(self, job_id: int, ok: bool, result: object) -> None:
        job = self._jobs.pop(job_id, None)
        if self._current(job) and not isinstance(result, Cancelled):
            assert job is not None
            callback = job.on_done if ok else job.on_error
            if callback is not None:
                callback(result)
        if not self._jobs:
            self.busy_changed.emit(False)

"""One background lane per panel for torch work: jobs run in order on one long-lived thread.

Why not the global QThreadPool: torch (pybind11) caches a Python thread state per OS thread,
and a pooled thread reused after PySide freed that state crashes (see the Train panel). A plain
Python thread that lives as long as the panel avoids that, and running a panel's jobs in order
on it means the loaded model and index are never used by two threads at once.

A job submitted with a ``key`` replaces a queued, not yet started job with the same key: typing
fast runs only the latest query. Results, errors and progress reach the GUI thread by queued
signals.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot


class Lane(QObject):
    """``submit(fn, *args, on_done=, on_error=, key=)``; ``fn`` may take ``progress=``."""

    _finished = Signal(int, bool, object)
    progress = Signal(float, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._queue: list[tuple[int, str | None, Callable, tuple, dict]] = []
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self._ids = itertools.count(1)
        self._running = 0
        self._closed = False
        self._finished.connect(self._on_finished)
        self._thread = threading.Thread(target=self._loop, name="mmstudio-lane", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return bool(self._queue) or self._running > 0

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable | None = None,
        on_error: Callable | None = None,
        key: str | None = None,
        with_progress: bool = False,
        **kwargs: Any,
    ) -> int:
        job = next(self._ids)
        if with_progress:
            kwargs["progress"] = lambda f, msg: self.progress.emit(float(f), str(msg))
        with self._cond:
            if key is not None:
                for old in [j for j in self._queue if j[1] == key]:
                    self._queue.remove(old)
                    self._callbacks.pop(old[0], None)
            self._queue.append((job, key, fn, args, kwargs))
            self._callbacks[job] = (on_done, on_error)
            self._cond.notify()
        self.busy_changed.emit(True)
        return job

    def close(self, timeout: float = 10.0) -> None:
        """Drop queued jobs, let the running one end, and stop the thread."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify()
        self._thread.join(timeout)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no job is queued or running (for scripts; the GUI uses the signals)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._running, timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                job, _key, fn, args, kwargs = self._queue.pop(0)
                self._running += 1
            try:
                result, ok = fn(*args, **kwargs), True
            except Exception as exc:  # noqa: BLE001 - delivered to on_error as a message
                result, ok = exc, False
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
            self._finished.emit(job, ok, result)

    @Slot(int, bool, object)
    def _on_finished(self, job: int, ok: bool, result: object) -> None:
        on_done, on_error = self._callbacks.pop(job, (None, None))
        callback = on_done if ok else on_error
        if callback is not None:
            callback(result)
        if not self.busy:
            self.busy_changed.emit(False)

"""Running blocking file work (no torch) off the GUI thread with superqt, errors as values.

Torch work never comes here: it runs in a panel's ``jobs.Lane`` (one long-lived thread per
panel, keyed and cancellable), since torch caches a thread state per OS thread and superqt's
workers run on Qt's global pool. This is for reading files: scanning a dataset, decoding one
clip for a preview.

superqt re-raises a worker's exception in the event loop; wrapping the call turns an expected
failure (a bad file, a path that is not a dataset) into a message for the user instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from superqt.utils import thread_worker


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _guarded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure is delivered to on_error on the GUI thread
        return _Failed(exc)


def run_in_thread(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
    **kwargs: Any,
):
    """Start ``fn(*args, **kwargs)`` in a worker thread; exactly one callback runs on the GUI thread."""
    worker = thread_worker(_guarded, start_thread=False)(fn, *args, **kwargs)

    def deliver(result: Any) -> None:
        if isinstance(result, _Failed):
            on_error(result.error)
        else:
            on_done(result)

    worker.returned.connect(deliver)
    worker.start()
    return worker


def stop_and_wait(worker, stop: Callable[[], None], running: Callable[[], bool], timeout_ms: int) -> bool:
    """Call ``stop``, then keep the GUI's events flowing until ``worker`` (anything with a
    ``finished`` signal; None when there is none) has ended or ``timeout_ms`` has passed.
    True when nothing is running any more (a window or the app may close)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if worker is None:
        return True
    loop = QEventLoop()
    worker.finished.connect(lambda *_: loop.quit())
    QTimer.singleShot(timeout_ms, loop.quit)
    stop()
    loop.exec()
    return not running()

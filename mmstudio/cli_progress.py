"""Progress bars for the headless commands: tqdm on stderr, only when stderr is a terminal.

``Progress`` takes the engine's events (``DataPrepared`` while files are decoded, ``RunStarted``
/ ``StepLogged`` / ``EpochDone`` while training) and draws one bar per phase. Piped or
redirected output, and ``--json``, get no bars at all, so logs and parsers see only the
command's own lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def wants_progress(args: Any) -> bool:
    """Bars when stderr is a terminal and the command does not print JSON."""
    return not getattr(args, "json", False) and sys.stderr.isatty()


@contextmanager
def progress_for(args: Any) -> Iterator[Progress]:
    """A :class:`Progress` for one command, closed (bar erased) however the command ends."""
    progress = Progress(wants_progress(args))
    try:
        yield progress
    finally:
        progress.close()


class Progress:
    """An event callback drawing tqdm bars; call :meth:`close` when the command ends."""

    def __init__(self, enabled: bool, stream=None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._bar = None
        self._key: tuple = ()
        self._steps_per_epoch = 0

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        name = type(event).__name__
        if name == "DataPrepared":
            self._show(("decode", event.modality), f"decoding {event.modality}", event.total, event.done, "files")
        elif name == "RunStarted":
            self._steps_per_epoch = event.steps_per_epoch
        elif name == "StepLogged" and self._steps_per_epoch:
            done = event.step - (event.epoch - 1) * self._steps_per_epoch
            self._show(
                ("epoch", event.epoch),
                f"epoch {event.epoch}",
                self._steps_per_epoch,
                min(done, self._steps_per_epoch),
                "steps",
                loss=f"{event.loss:.4f}",
            )
        elif name in ("EpochDone", "RunFinished"):
            self.close()  # the command prints its epoch line next, on a clean terminal line

    def _show(self, key: tuple, label: str, total: int, done: int, unit: str, **postfix) -> None:
        from tqdm import tqdm

        if key != self._key:
            self.close()
            self._key = key
            # initial: a bar that starts mid-way (the first logged step) shows no false burst rate
            self._bar = tqdm(
                total=total,
                initial=done,
                desc=label,
                unit=unit,
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
                mininterval=0,
            )  # events come throttled
        bar = self._bar
        assert bar is not None  # made just above when the key changed
        bar.update(done - bar.n)
        if postfix:
            bar.set_postfix(postfix, refresh=False)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._key = None, ()

"""The seconds a run has spent training: what its ETA, its "in m:ss" and the runs list's
duration count. Pauses are left out (a paused run is not training), and a resumed run carries
the seconds of its earlier sessions (saved with its checkpoint), so every view shows one figure.
No torch; ``now`` is injectable so tests need no sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable


class TrainClock:
    """Seconds since it was made, plus ``before`` (earlier sessions), less the paused spans."""

    def __init__(self, before: float = 0.0, now: Callable[[], float] = time.monotonic) -> None:
        self.before = before
        self._now = now
        self._start = now()
        self._paused_at: float | None = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self._now()

    def resume(self) -> float:
        """Count again; returns how long the pause lasted (0 when it was not paused)."""
        if self._paused_at is None:
            return 0.0
        gap = self._now() - self._paused_at
        self._start += gap
        self._paused_at = None
        return gap

    @property
    def seconds(self) -> float:
        end = self._paused_at if self._paused_at is not None else self._now()
        return round(self.before + end - self._start, 3)

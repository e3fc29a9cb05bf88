"""A run's numbers in the formats other tools read: ``OUT/metrics.csv`` (one row per epoch) and,
when the ``tensorboard`` package is installed, TensorBoard scalars in ``OUT/tensorboard``.

:class:`ScalarLog` is fed the training events by :func:`mmstudio.engine.runlog.recorded`. The CSV
is rewritten whole with an atomic replace at each epoch (a resumed run replaces the epochs it
repeats). torch and tensorboard are imported only when a run starts, never by the GUI's runs list.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
from typing import Any

from mmstudio.fileio import atomic_write_text

METRICS_CSV = "metrics.csv"
TENSORBOARD_DIR = "tensorboard"
_FIRST = ["epoch", "step", "train_loss", "seconds", "samples_per_s"]


def tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


class ScalarLog:
    """Collects ``EpochDone`` rows for ``metrics.csv`` and writes every scalar to TensorBoard."""

    def __init__(self, out_dir: str, tensorboard: bool | None = None) -> None:
        self.path = os.path.join(out_dir, METRICS_CSV)
        self.rows = _read_rows(self.path)
        self._writer = None
        if tensorboard is None:
            tensorboard = tensorboard_available()
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(os.path.join(out_dir, TENSORBOARD_DIR))

    def add(self, event) -> None:
        name = type(event).__name__
        if name == "StepLogged" and self._writer is not None:
            self._writer.add_scalar("train/loss", event.loss, event.step)
            self._writer.add_scalar("train/lr", event.lr, event.step)
            self._writer.add_scalar("train/samples_per_s", event.samples_per_s, event.step)
        elif name == "EpochDone":
            row: dict[str, Any] = {
                "epoch": event.epoch,
                "step": event.step,
                "train_loss": event.train_loss,
                "seconds": event.seconds,
                "samples_per_s": event.samples_per_s,
            }
            row.update({f"val_{k}": v for k, v in event.metrics.items() if isinstance(v, (int, float))})
            row.update({f"weight_{k}": v for k, v in event.weights.items()})
            self.rows = [r for r in self.rows if str(r.get("epoch")) != str(event.epoch)] + [row]
            self._write_csv()
            if self._writer is not None:
                for key, value in row.items():
                    if key not in ("epoch", "step"):
                        self._writer.add_scalar(f"epoch/{key}", float(value), event.step)
                self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write_csv(self) -> None:
        columns = list(_FIRST)
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(sorted(self.rows, key=lambda r: int(r["epoch"])))
        atomic_write_text(self.path, buf.getvalue())


def _read_rows(path: str) -> list[dict[str, Any]]:
    """The rows an earlier (resumed) run wrote; none when the file is missing or unreadable."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return [r for r in csv.DictReader(fh) if (r.get("epoch") or "").isdigit()]
    except (OSError, csv.Error, UnicodeDecodeError):
        return []

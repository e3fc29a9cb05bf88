"""The Evaluate panel's "Make it smaller" tab: int8 and pruned variants of the model, each with
its size on disk, CPU latency per item and metric on the chosen split beside the original; the
user keeps the one they want as a new bundle (or export package). The work runs in a lane, with
the shared progress strip (variant n of m, percent) and Cancel: a cancelled run leaves nothing on
disk (the variants are made in a temporary folder that is renamed into place only when all are
measured)."""

from __future__ import annotations

import os
import shutil
import tempfile

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.jobs import Lane
from mmstudio.gui.widgets.progress import ProgressStrip

NOTE = (
    "Each variant is written to disk and measured as loaded back: size is what you keep, latency the "
    "median of many single-item calls on one CPU thread."
)
HEADERS = ["variant", "size on disk", "smaller by", "latency / item", "metric", "change", "note"]


class CompressTab(QWidget):
    """``set_inputs(bundle, dataset, split)``, then ``measure()``; ``keep(row, folder)``."""

    status = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bundle_path, self.dataset, self.split = "", None, "test"
        self.result: dict | None = None
        self.lane = Lane(self, name="mmstudio-compress")
        self.lane.busy_changed.connect(lambda _busy: self._update_buttons())
        self.sparsity = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=0.95, singleStep=0.1, value=0.5)
        self.sparsity.setToolTip("Share of the Linear and convolution weights pruning sets to zero")
        self.finetune = QSpinBox(minimum=0, maximum=10_000, singleStep=50, value=0)
        self.finetune.setToolTip("Training steps after pruning, with the pruned weights held at zero")
        self.measure_button = QPushButton("Make and measure variants")
        self.measure_button.clicked.connect(self.measure)
        self.keep_button = QPushButton("Keep selected…")
        self.keep_button.clicked.connect(self._choose_keep)
        self.progress = ProgressStrip("Cancel")  # its own row: the message never squeezes
        self.progress.cancelled.connect(self.cancel)
        self.lane.progress.connect(self.progress.set_progress)
        bar = QHBoxLayout()
        left: tuple[QWidget, ...] = (
            QLabel("Pruning sparsity"),
            self.sparsity,
            QLabel("fine-tune steps"),
            self.finetune,
        )
        for widget in left:
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.measure_button)
        bar.addWidget(self.keep_button)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(len(HEADERS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.note = QLabel(NOTE)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        self._update_buttons()

    def set_inputs(self, bundle_path: str, dataset, split: str) -> None:
        if (bundle_path, id(dataset), split) != (self.bundle_path, id(self.dataset), self.split):
            self.result = None  # a new model or split: old figures would mislead
            self.table.setRowCount(0)
        self.bundle_path, self.dataset, self.split = bundle_path, dataset, split
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.lane.busy
        self.measure_button.setEnabled(bool(self.bundle_path and self.dataset is not None) and not busy)
        self.keep_button.setEnabled(self.selected_row() is not None and not busy)

    def selected_row(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.result is None or rows[0].row() == 0:  # row 0 is the original
            return None
        return self.result["rows"][rows[0].row()]

    def measure(self) -> None:
        if not self.bundle_path or self.dataset is None or self.lane.busy:
            return
        self.progress.start("Making smaller variants: starting…")
        self.note.setText(NOTE)
        self.lane.submit(
            _measure,
            self.bundle_path,
            self.dataset,
            self.split,
            self.sparsity.value(),
            self.finetune.value(),
            with_progress=True,
            on_done=self._on_result,
            on_error=self._on_failed,
        )
        self._update_buttons()
        self.status.emit("Making smaller variants…")

    def cancel(self) -> None:
        """Stop making variants (at the next one): nothing is kept on disk, nothing shown."""
        self.lane.cancel()
        self.progress.finish()
        self.note.setText("Cancelled: no variant was kept.")
        self._update_buttons()
        self.status.emit("Cancelled")

    def _on_failed(self, exc: BaseException) -> None:
        self.progress.finish()
        self.note.setText(f"Could not make the variants: {exc}")
        self._update_buttons()

    def _on_result(self, result: dict) -> None:
        self.result = result
        self.progress.finish()
        rows = result["rows"]
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(_cells(row, rows[0], result["metric"])):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self._update_buttons()
        self.status.emit(f"Measured {len(rows) - 1} smaller variants on {result['items']:,} {result['split']} items")

    def _choose_keep(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        parent = QFileDialog.getExistingDirectory(self, f"Keep the {row['label']} variant in a new folder inside…")
        if parent:
            name = os.path.basename(os.path.normpath(self.bundle_path)) + f"-{row['name']}"
            self.keep(row, os.path.join(parent, name))

    def keep(self, row: dict, destination: str) -> None:
        from mmstudio import engine

        self.lane.submit(
            engine.keep_variant,
            row,
            destination,
            on_done=lambda path: self.status.emit(f"Kept {row['label']} as {path}"),
            on_error=self._on_failed,
        )

    def shutdown(self) -> None:
        self.lane.close(timeout=0.5)


def _measure(bundle: str, dataset, split: str, sparsity: float, finetune: int, progress) -> dict:
    """In the lane: every variant made in a temporary folder under the user cache, measured, and
    the folder renamed into place; cancelled or failed, the folder is removed (nothing half made)."""
    from mmstudio import engine

    loaded = engine.load_bundle(bundle)
    folder = engine.variants_folder(loaded)
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".making-", dir=os.path.dirname(folder))
    try:
        result = engine.compare_variants(
            loaded, dataset, split, work, sparsity=sparsity, finetune=finetune, progress=_counted(progress)
        )
        progress(1.0, "Keeping the measured variants")  # the last chance to cancel
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)  # the previous measurement of this bundle
    os.replace(work, folder)
    for row in result["rows"]:
        if row["path"].startswith(work + os.sep) or row["path"] == work:
            row["path"] = folder + row["path"][len(work) :]
    return result


def _counted(progress):
    """The engine's progress with the variant's count: "Variant 2 of 5: dynamic int8"."""
    from mmstudio import engine

    total, seen = len(engine.VARIANTS), [0]

    def say(fraction: float, message: str) -> None:
        head, _, name = message.partition(": ")
        if name and head.startswith("Making and measuring"):
            seen[0] += 1
            message = f"Variant {seen[0]} of {total}: {name}"
        progress(fraction, message)

    return say


def _cells(row: dict, base: dict, metric: str) -> list[str]:
    value, reference = row["value"], base["value"]
    shown = "–" if value is None else f"{metric} {value:.4f}"
    change = "–" if value is None or reference is None else f"{value - reference:+.4f}"
    return [
        row["label"],
        f"{row['bytes'] / 1e6:.2f} MB",
        f"{base['bytes'] / max(1, row['bytes']):.2f}×",
        f"{row['latency_ms']:.2f} ms",
        shown,
        change,
        row["note"] or ("export package (ONNX)" if row["kind"] == "onnx" else ""),
    ]

"""The Evaluate panel's "Make it smaller" tab: int8 and pruned variants of the model, each with
its size on disk, CPU latency per item and metric on the chosen split beside the original; the
user keeps the one they want as a new bundle (or export package). The work runs in a lane."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.jobs import Lane

HEADERS = ["variant", "size on disk", "smaller by", "latency / item", "metric", "change", "note"]


class CompressTab(QWidget):
    """``set_inputs(bundle, dataset, split)``, then ``measure()``; ``keep(row, folder)``."""

    status = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bundle_path, self.dataset, self.split = "", None, "test"
        self.result: dict | None = None
        self.lane = Lane(self)
        self.lane.progress.connect(self._on_progress)
        self.sparsity = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=0.95, singleStep=0.1, value=0.5)
        self.sparsity.setToolTip("Share of the Linear and convolution weights pruning sets to zero")
        self.finetune = QSpinBox(minimum=0, maximum=10_000, singleStep=50, value=0)
        self.finetune.setToolTip("Training steps after pruning, with the pruned weights held at zero")
        self.measure_button = QPushButton("Make and measure variants")
        self.measure_button.clicked.connect(self.measure)
        self.keep_button = QPushButton("Keep selected…")
        self.keep_button.clicked.connect(self._choose_keep)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(320)
        self.progress.setVisible(False)
        self.progress.setRange(0, 1000)
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
        right: tuple[QWidget, ...] = (self.progress, self.measure_button, self.keep_button)
        for widget in right:
            bar.addWidget(widget)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(len(HEADERS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.note = QLabel(
            "Each variant is written to disk and measured as loaded back: size is what you keep, latency the "
            "median of many single-item calls on one CPU thread."
        )
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
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
        self.progress.setVisible(True)
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

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(message)

    def _on_failed(self, exc: BaseException) -> None:
        self.progress.setVisible(False)
        self.note.setText(f"Could not make the variants: {exc}")
        self._update_buttons()

    def _on_result(self, result: dict) -> None:
        self.result = result
        self.progress.setVisible(False)
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


def _measure(bundle: str, dataset, split: str, sparsity: float, finetune: int, progress=None) -> dict:
    """In the lane: every variant made under the user cache and measured."""
    from mmstudio import engine

    loaded = engine.load_bundle(bundle)
    folder = engine.variants_folder(loaded)
    return engine.compare_variants(
        loaded, dataset, split, folder, sparsity=sparsity, finetune=finetune, progress=progress
    )


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

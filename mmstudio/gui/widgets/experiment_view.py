"""One experiment's window: the ranked table, the chart, the gain with its confidence interval,
"Use this one", Stop and Resume.

The experiment runs in a superqt ``GeneratorWorker`` on a thread of its own (as the Train panel
runs one training), so the window stays responsive; its events arrive here as plain values. The
table is read back from the experiment's folder (``engine.experiment_results``) whenever a run
ends, so the window shows the same figures as ``mmstudio experiment show``.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QThreadPool, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import GeneratorWorker, thread_worker

from mmstudio import engine
from mmstudio.gui.panels.train_run import Failed
from mmstudio.gui.widgets.experiment_chart import ExperimentChart
from mmstudio.gui.workers import stop_and_wait


def experiment_events(folder: str, control) -> Generator[Any, None, Any]:
    """``engine.run_experiment``'s events, then a :class:`Failed` instead of an exception."""
    try:
        return (yield from engine.run_experiment(folder, control))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message, never a crash
        yield Failed(exc)
        return None


class ExperimentView(QWidget):
    """The window of the experiment in ``folder``; ``open_requested(bundle, "Evaluate")`` when the
    user picks a run to use."""

    open_requested = Signal(str, str)
    changed = Signal(str)  # the folder, when a run of it ended (the runs list re-reads it)

    def __init__(self, folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.folder = os.path.abspath(folder)
        self.control: Any = None
        self.worker: GeneratorWorker | None = None
        self._pool: QThreadPool | None = None
        self.rows: list = []
        self.results: dict[str, Any] = {}
        self.resize(1100, 720)
        self._build()
        QCoreApplication.instance().aboutToQuit.connect(self.stop_and_wait)  # type: ignore[union-attr]
        self.reload()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        outer.addWidget(self.title)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        outer.addWidget(self.progress)
        self.current = QLabel("")
        outer.addWidget(self.current)
        self.table = QTableWidget(0, 0)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.use_selected())
        self.chart = ExperimentChart()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.chart)
        split.setSizes([560, 520])
        outer.addWidget(split, 1)
        self.gain = QLabel()
        self.gain.setWordWrap(True)
        self.gain.setStyleSheet("font-size: 13px; padding: 6px; background: #eef3fb;")
        outer.addWidget(self.gain)
        outer.addLayout(self._buttons())

    def _buttons(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.use_button = QPushButton("Use this one")
        self.use_button.setToolTip("Open the selected configuration's bundle (the best seed) in Evaluate")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.export_button = QPushButton("Export Table…")
        self.folder_button = QPushButton("Show Folder")
        self.use_button.clicked.connect(self.use_selected)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.start)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.folder_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder)))
        bar.addStretch(1)
        for b in (self.use_button, self.export_button, self.folder_button, self.stop_button, self.resume_button):
            bar.addWidget(b)
        return bar

    # ---------------------------------------------------------------- content
    def reload(self) -> None:
        """Re-read the plan, the finished runs' scores, the table and the gain from the folder."""
        summary = engine.experiment_summary(self.folder)
        kind = {"grid": "Fusion grid", "search": "Hyperparameter search"}.get(summary.get("kind", ""), "Experiment")
        self.setWindowTitle(f"{kind}: {summary.get('title', summary['name'])}")
        self.title.setText(
            f"<h2>{kind}: {summary.get('title', summary['name'])}</h2>"
            f"{', '.join(summary.get('modalities', []))} on {os.path.basename(summary.get('dataset', ''))} · "
            f"{self.folder}"
        )
        self.progress.setRange(0, max(1, summary.get("total", 0)))
        self.progress.setValue(summary.get("done", 0))
        self.progress.setFormat(f"{summary.get('done', 0)} of {summary.get('total', 0)} runs done")
        if "error" in summary:
            self.gain.setText(summary["error"])
            return
        self.results = engine.experiment_results(self.folder)
        self.rows = self.results["table"]
        self._fill_table()
        self.chart.set_rows(self.rows)
        self.gain.setText(_gain_text(self.results))
        self._update_buttons()

    def _fill_table(self) -> None:
        records = engine.table_records(self.rows)
        columns = engine.table_columns(self.rows)
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(list(columns))
        self.table.setRowCount(len(records))
        for row, cells in enumerate(records):
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not text or text[0] in "0123456789+-":
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        if records:
            self.table.selectRow(0)

    def selected_row(self):
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return self.rows[rows[0]] if rows and rows[0] < len(self.rows) else None

    # ---------------------------------------------------------------- commands
    @property
    def running(self) -> bool:
        return self.worker is not None

    @Slot()
    def start(self) -> None:
        """Run (or resume) the experiment on a worker thread of its own."""
        if self.running:
            return
        self.control = engine.Control()
        worker = thread_worker(experiment_events, start_thread=False)(self.folder, self.control)
        worker.yielded.connect(self._on_event)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        # a fresh thread, not the global pool's (torch caches a thread state per OS thread)
        if self._pool is not None:
            self._pool.deleteLater()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(0)
        self._pool.start(worker)
        self.current.setText("Starting…")
        self._update_buttons()

    @Slot()
    def stop(self) -> None:
        if self.control is not None and self.running:
            self.control.stop()
            self.current.setText("Stopping the run in flight at its next step (its checkpoint is kept)…")

    @Slot()
    def stop_and_wait(self, timeout_ms: int = 60000) -> bool:
        """Stop and wait, keeping events flowing, until the worker has ended (window or app closing)."""
        return stop_and_wait(self.worker, self.stop, lambda: self.running, timeout_ms)

    @Slot()
    def use_selected(self) -> None:
        row = self.selected_row()
        if row is not None and row.bundle:
            self.open_requested.emit(row.bundle, "Evaluate")

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export table", os.path.join(self.folder, "table.csv"), "CSV (*.csv);;Markdown (*.md)"
        )
        if path:
            self.current.setText(f"Table written to {engine.export_table(self.rows, path)}")

    def _update_buttons(self) -> None:
        row = self.selected_row()
        self.use_button.setEnabled(bool(row is not None and row.bundle))
        self.stop_button.setEnabled(self.running)
        summary_done = self.progress.value() >= self.progress.maximum() and self.progress.maximum() > 0
        self.resume_button.setEnabled(not self.running and not summary_done)
        self.export_button.setEnabled(bool(self.rows))

    # ---------------------------------------------------------------- events
    @Slot(object)
    def _on_event(self, event) -> None:
        if isinstance(event, Failed):
            self.current.setText(f"Stopped by an error: {event.error}")
            return
        match event:
            case engine.ExperimentProgress():
                note = f" · {event.message}" if event.message else ""
                self.current.setText(f"[{event.index}/{event.total}] {event.name}: {event.state}{note}")
                if event.state in ("finished", "pruned", "failed"):
                    self.reload()
                    self.changed.emit(self.folder)
            case engine.EpochDone():
                name, value = engine.headline(event.metrics)
                score = f", {name} {value:.4f}" if name else ""
                self.current.setText(
                    self.current.text().split(" · epoch")[0]
                    + f" · epoch {event.epoch}: loss {event.train_loss:.4f}{score}"
                )

    @Slot()
    def _on_finished(self, _result: object = None) -> None:
        self.worker = None
        self.reload()
        self.changed.emit(self.folder)
        self._update_buttons()


def _gain_text(results: dict[str, Any]) -> str:
    gain = results.get("gain")
    if results.get("kind") == "search":
        if gain is None:
            return "Best trial so far: the automatic settings (trial-000), or not enough trials yet."
        return "Best trial (by validation) over the automatic settings, on the test split: " + engine.gain_sentence(
            gain
        )
    return "Gain of the best fusion over the best single modality, on the test split: " + engine.gain_sentence(gain)

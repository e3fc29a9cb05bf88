"""The Train panel's widgets: the command bar, progress, error banner, curves, the runs list and
the log, and the next step offered once a run has finished; and how they look with no run."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.widgets.runs_view import RunsView
from mmstudio.gui.widgets.train_plots import TrainPlots


def build_train_panel(panel) -> None:
    """Create the panel's widgets as its attributes (tests and scripts use those names)."""
    outer = QVBoxLayout(panel)
    outer.addWidget(QLabel("<h2>Train</h2>Train the model built in the Model panel; curves update live."))
    bar = QHBoxLayout()
    panel.start_button = QPushButton("Start")
    panel.pause_button = QPushButton("Pause")
    panel.resume_button = QPushButton("Resume")
    panel.stop_button = QPushButton("Stop")
    panel.start_button.clicked.connect(lambda: panel.start())
    panel.pause_button.clicked.connect(panel.pause)
    panel.resume_button.clicked.connect(panel.resume)
    panel.stop_button.clicked.connect(panel.stop)
    for b in (panel.start_button, panel.pause_button, panel.resume_button, panel.stop_button):
        bar.addWidget(b)
    panel.device_label = QLabel("Device: –")
    bar.addSpacing(16)
    bar.addWidget(panel.device_label)
    bar.addStretch(1)
    outer.addLayout(bar)
    panel.progress = QProgressBar()
    panel.progress.setTextVisible(True)
    outer.addWidget(panel.progress)
    panel.error_label = QLabel("")
    panel.error_label.setWordWrap(True)
    panel.error_label.setStyleSheet("background: #fdecea; color: #b3261e; padding: 6px;")
    outer.addWidget(panel.error_label)
    outer.addWidget(_next_step_bar(panel))

    panel.plots = TrainPlots()
    panel.log = QPlainTextEdit()
    panel.log.setReadOnly(True)
    panel.log.setMaximumBlockCount(5000)
    panel.runs = RunsView(current_run=lambda: (panel.run, panel.dataset))  # New Experiment starts from it
    panel.runs.selection_changed.connect(panel._on_runs_selected)
    panel.runs.resume_requested.connect(panel.resume_run)
    panel.runs.open_requested.connect(panel.open_bundle_requested)
    panel.tabs = QTabWidget()
    panel.tabs.addTab(panel.runs, "Runs")
    panel.tabs.addTab(panel.log, "Log")
    split = QSplitter(Qt.Orientation.Vertical)
    split.addWidget(panel.plots)
    split.addWidget(panel.tabs)
    split.setSizes([520, 220])
    outer.addWidget(split, 1)
    show_no_run(panel)


def show_no_run(panel) -> None:
    """No run shown (a new panel, or File ▸ New): no curves, overlays, log, status lines or
    selected runs of an earlier one."""
    panel.plots.clear()
    panel.plots.overlay([])
    panel.plots.redraw()
    panel.plots.reset_ranges()
    panel.log.clear()
    panel.progress.setRange(0, 100)
    panel.progress.setValue(0)
    panel.progress.setFormat(no_run_text(panel))
    panel.device_label.setText("Device: –")
    panel.error_label.hide()
    panel.next_bar.hide()
    panel.runs.table.clearSelection()
    panel.tabs.setCurrentIndex(0)


def no_run_text(panel) -> str:
    """What the progress bar says with no run shown: the open project's runs, when it has some
    (they are in the runs list: "No run yet" beside them read as if they were lost)."""
    n = sum(os.path.isfile(os.path.join(p, "run.toml")) for p in panel.runs.extra)
    if not n:
        return "No run yet"
    return f"{n} run{'s' if n != 1 else ''} in this project: select one in the list to see its curves"


def _next_step_bar(panel) -> QWidget:
    """Shown when a run has made a model: what to do with it next, one click each."""
    panel.next_bar = QWidget()
    row = QHBoxLayout(panel.next_bar)
    row.setContentsMargins(0, 0, 0, 0)
    panel.next_label = QLabel("")
    panel.evaluate_next = QPushButton("Evaluate this model")
    panel.evaluate_next.setObjectName("primary")
    panel.query_next = QPushButton("Ask it in Query")
    panel.evaluate_next.clicked.connect(lambda: panel.open_bundle_requested.emit(panel.bundle, "Evaluate"))
    panel.query_next.clicked.connect(lambda: panel.open_bundle_requested.emit(panel.bundle, "Query"))
    row.addWidget(panel.next_label, 1)
    row.addWidget(panel.evaluate_next)
    row.addWidget(panel.query_next)
    panel.next_bar.hide()
    return panel.next_bar

"""The runs list: every run recorded on disk, with its status, duration and best metric.

Runs record themselves (``engine.list_runs`` reads their ``status.json``), so the list survives a
restart of the app. Selecting several runs overlays their curves in the Train panel; a stopped or
interrupted run can be resumed; a finished one opens in Evaluate or Query. Experiments (a fusion
grid or a search, :mod:`.experiment_rows`) are listed as one row each and open in their own window.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Run", "Status", "Started", "Duration", "Best", "Configuration")
STATUS_COLOURS = {
    "completed": "#1e7d32",
    "running": "#1565c0",
    "paused": "#8a6d00",
    "failed": "#b3261e",
    "interrupted": "#b26a00",
    "stopped": "#6d4c41",
}


def status_colour(status_text: str) -> QColor:
    """The status cell's ink (by the status's first word), moved towards the theme's text colour
    only as far as it takes to read on the theme's table (4.5:1): its hue in both themes."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from mmstudio.gui import theme

    palette = QApplication.palette()
    ink = QColor(STATUS_COLOURS.get(status_text.split(" ")[0], "#444"))
    return theme.readable(ink, palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base))


class RunsView(QWidget):
    """A table of runs under one folder. Signals carry run folders (and Evaluate/Query targets)."""

    selection_changed = Signal(list)  # [status dict, ...] of the selected runs
    resume_requested = Signal(str)  # run folder
    open_requested = Signal(str, str)  # bundle folder, "Evaluate" or "Query"

    def __init__(self, parent: QWidget | None = None, current_run=None) -> None:
        super().__init__(parent)
        from mmstudio.gui.widgets.experiment_rows import ExperimentWindows

        self.current_run = current_run  # () -> (RunConfig | None, dataset): a new experiment's start
        self.experiments = ExperimentWindows(self)
        self.experiments.open_requested.connect(self.open_requested)
        self.experiments.changed.connect(lambda _folder: self.refresh())
        self.root = ""
        self.extra: list[str] = []  # the project's runs: listed even when they live elsewhere
        self.runs: list[dict] = []
        self.active = ""  # the run training in this window: never offered for resume
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for i in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemDoubleClicked.connect(lambda _item: self._on_double_clicked())
        layout.addWidget(self.table, 1)
        bar = QHBoxLayout()
        self.hint = QLabel("Select runs to overlay their curves (Ctrl/Shift for several).")
        self.project_only = QCheckBox("This project's runs only")
        self.project_only.setToolTip("Runs started or resumed while this project was open")
        self.project_only.toggled.connect(self.refresh)
        self.resume_button = QPushButton("Resume")
        self.evaluate_button = QPushButton("Open in Evaluate")
        self.query_button = QPushButton("Open in Query")
        self.folder_button = QPushButton("Show Folder")
        self.refresh_button = QPushButton("Refresh")
        self.new_experiment_button = QPushButton("New Experiment…")
        self.new_experiment_button.setToolTip("A fusion grid or a hyperparameter search from the Model panel's run")
        self.new_experiment_button.clicked.connect(self._on_new_experiment_clicked)
        self.resume_button.clicked.connect(self._on_resume_clicked)
        self.evaluate_button.clicked.connect(lambda: self._open("Evaluate"))
        self.query_button.clicked.connect(lambda: self._open("Query"))
        self.folder_button.clicked.connect(self._on_folder_clicked)
        self.refresh_button.clicked.connect(self.refresh)
        bar.addWidget(self.hint, 1)
        bar.addWidget(self.project_only)
        buttons = (self.resume_button, self.evaluate_button, self.query_button, self.folder_button)
        for b in (self.new_experiment_button, *buttons, self.refresh_button):
            bar.addWidget(b)
        layout.addLayout(bar)
        self._update_buttons()

    # ---------------------------------------------------------------- content
    def set_root(self, root: str) -> None:
        self.root = root
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Re-read every run's status from disk, keeping the selection."""
        from mmstudio import engine  # runlog: no torch
        from mmstudio.gui.widgets.experiment_rows import experiment_rows

        selected = {r["path"] for r in self.selected()}
        runs = engine.list_runs(self.root) if self.root else []
        listed = {r["path"] for r in runs}
        runs += [
            engine.read_status(p)
            for p in self.extra
            if os.path.abspath(p) not in listed and os.path.isfile(os.path.join(p, "run.toml"))
        ]
        if self.project_only.isChecked():
            mine = {os.path.abspath(p) for p in self.extra}
            runs = [r for r in runs if r["path"] in mine]
        else:
            runs += experiment_rows(self.root)
        self.runs = sorted(runs, key=lambda r: r.get("started") or 0.0, reverse=True)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            self._fill_row(row, run)
            if run["path"] in selected:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._on_selection()

    def refresh_run(self, path: str) -> None:
        """Re-read one run's status (a training run's row after each epoch): no rescan of all."""
        from mmstudio import engine

        path = os.path.abspath(path)
        rows = [i for i, r in enumerate(self.runs) if r["path"] == path]
        if not rows:
            self.refresh()
            return
        self.runs[rows[0]] = engine.read_status(path)
        self._fill_row(rows[0], self.runs[rows[0]])
        self._update_buttons()

    def _fill_row(self, row: int, run: dict) -> None:
        for col, text in enumerate(_cells(run, run["path"] == self.active)):
            item = QTableWidgetItem(text)
            item.setToolTip(run["path"] if col == 0 else run.get("error") or text)
            if col == 1:
                item.setForeground(status_colour(text))
            if col == 4:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)

    def restyle(self, _colors) -> None:
        """A theme change (``theme.repaint_all``): the status inks follow it."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 1)
            if item is not None:
                item.setForeground(status_colour(item.text()))

    def show_live(self, path: str, epoch: int, epochs_total: int, seconds: float, paused: bool) -> None:
        """The run training in this window, as it is now (its status file changes once an epoch)."""
        path = os.path.abspath(path)
        for row, run in enumerate(self.runs):
            if run["path"] == path:
                live = {**run, "seconds": seconds, "status": "paused" if paused else "running"}
                if epochs_total:
                    live.update(epoch=epoch, epochs_total=epochs_total)
                self._fill_row(row, live)
                return

    def status_of(self, path: str) -> dict:
        """A listed run's status (its seconds and epochs so far); {} when it is not listed."""
        path = os.path.abspath(path)
        return next((r for r in self.runs if r["path"] == path), {})

    def set_extra(self, paths: list[str]) -> None:
        """The project's runs (replacing the previous project's)."""
        self.extra = [os.path.abspath(p) for p in paths]
        self.refresh()

    def add_extra(self, path: str) -> None:
        path = os.path.abspath(path)
        if path not in self.extra:
            self.extra.append(path)

    def selected(self) -> list[dict]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def select_paths(self, paths: list[str]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, run in enumerate(self.runs):
            if run["path"] in paths:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    # ---------------------------------------------------------------- reactions
    @Slot()
    def _on_selection(self) -> None:
        self._update_buttons()
        self.selection_changed.emit([r for r in self.selected() if not r.get("experiment")])

    def _update_buttons(self) -> None:
        runs = self.selected()
        one = runs[0] if len(runs) == 1 else None
        self.resume_button.setEnabled(bool(one and one["resumable"] and one["path"] != self.active))
        for b in (self.evaluate_button, self.query_button):
            b.setEnabled(bool(one and one["bundle"]))
        self.folder_button.setEnabled(one is not None)

    def _on_double_clicked(self) -> None:
        runs = self.selected()
        if len(runs) == 1 and runs[0].get("experiment"):
            self.experiments.show(runs[0]["path"])
        else:
            self._open("Evaluate")

    def _on_new_experiment_clicked(self) -> None:
        run, dataset = self.current_run() if self.current_run else (None, None)
        if run is None:
            self.hint.setText("Build a model in the Model panel first: an experiment starts from its run.")
            return
        self.experiments.new(run, dataset, self.root, self)

    def _on_resume_clicked(self) -> None:
        runs = self.selected()
        if len(runs) == 1 and runs[0]["resumable"]:
            self.resume_requested.emit(runs[0]["path"])

    def _open(self, target: str) -> None:
        runs = self.selected()
        if len(runs) == 1 and runs[0]["bundle"]:
            self.open_requested.emit(runs[0]["bundle"], target)

    def _on_folder_clicked(self) -> None:
        runs = self.selected()
        if runs:
            QDesktopServices.openUrl(QUrl.fromLocalFile(runs[0]["path"]))


def _cells(run: dict, active: bool) -> tuple[str, ...]:
    status = run["status"]
    if active and status in ("running", "paused"):
        status = f"{status} (this window)"
    elif run.get("resumable"):
        status += " · resumable"
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run["started"])) if run.get("started") else ""
    best = f"{run['best_metric'].replace('_', ' ')} {run['best_value']:.4f}" if run.get("best_metric") else ""
    epochs = f"{run.get('epoch', 0)}/{run.get('epochs_total', '?')} ep · " if run.get("epochs_total") else ""
    return (
        os.path.basename(run["path"]),
        status,
        started,
        _duration(run.get("seconds", 0.0)),
        best,
        epochs + run.get("config", ""),
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds or 0)
    h, rem = divmod(seconds, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"

"""Experiments in the runs list: their rows, and the windows that show and run them.

An experiment is listed as one row (kind, runs done of planned) beside the plain runs; its own
runs live inside its folder and open from its window. :class:`ExperimentWindows` keeps one window
per experiment folder, so reopening a running experiment shows the same live window.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from mmstudio import engine
from mmstudio.gui.widgets.experiment_view import ExperimentView


def experiment_rows(root: str) -> list[dict[str, Any]]:
    """The experiments under ``root`` as runs-list rows (the keys the list reads for a run)."""
    rows = []
    for e in engine.list_experiments(root) if root else []:
        kind = {"grid": "fusion grid", "search": "search"}.get(e.get("kind", ""), "experiment")
        rows.append(
            {
                "experiment": True,
                "path": e["path"],
                "name": e.get("title", e["name"]),
                "status": f"experiment · {e.get('done', 0)}/{e.get('total', 0)} runs",
                "started": e.get("created"),
                "seconds": 0.0,
                "resumable": False,
                "bundle": "",
                "config": f"{kind} · {'+'.join(e.get('modalities', []))} · {os.path.basename(e.get('dataset', ''))}",
                "error": e.get("error", ""),
            }
        )
    return rows


class ExperimentWindows(QObject):
    """Opens (and keeps) each experiment's window; ``open_requested`` carries "Use this one"."""

    open_requested = Signal(str, str)  # bundle folder, "Evaluate"
    changed = Signal(str)  # an experiment folder whose runs changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.windows: dict[str, ExperimentView] = {}

    def show(self, folder: str) -> ExperimentView:
        folder = os.path.abspath(folder)
        view = self.windows.get(folder)
        if view is None:
            view = self.windows[folder] = ExperimentView(folder)
            view.open_requested.connect(self.open_requested)
            view.changed.connect(self.changed)
        view.show()
        view.raise_()
        return view

    def new(self, run, dataset, root: str, parent: QWidget | None = None) -> ExperimentView | None:
        """Ask what to run (the New Experiment dialog), create its folder under ``root``, start it."""
        from mmstudio.gui.widgets.new_experiment import NewExperimentDialog

        modalities = list(getattr(dataset, "modalities", None) or run.model.modalities)
        dialog = NewExperimentDialog(run, modalities, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.plan is None:
            return None
        plan = dialog.plan
        folder = engine.new_run_dir(root, f"{plan.kind}-{plan.name}" if plan.name else plan.kind)
        engine.save_plan(folder, plan)
        view = self.show(folder)
        view.start()
        self.changed.emit(folder)
        return view

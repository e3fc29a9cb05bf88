"""The Model panel's Save Run… and Load Run… dialogs: they open beside the dataset (else in the
home folder), and Save offers a file name from the run's name."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog

from mmstudio.gui.paths import start_folder

RUN_FILTER = "Run (*.toml *.json)"


def dialog_folder(panel) -> str:
    return start_folder(panel.dataset.spec.path if panel.dataset is not None else None)


def save_dialog(panel) -> None:
    run = panel.config()
    name = f"{run.name or 'run'}.toml" if run is not None else "run.toml"
    path, _ = QFileDialog.getSaveFileName(panel, "Save Run", os.path.join(dialog_folder(panel), name), RUN_FILTER)
    if path:
        panel.save_config(path)


def load_dialog(panel) -> None:
    path, _ = QFileDialog.getOpenFileName(panel, "Load Run", dialog_folder(panel), RUN_FILTER)
    if path:
        try:
            panel.load_config(path)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            panel.problem_label.setText(f"Cannot load {path}: {exc}")

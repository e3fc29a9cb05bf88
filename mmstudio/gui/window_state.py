"""What the main window shows of the current project: its title, and a clean slate for
File ▸ New and before another project opens (nothing of the previous one stays on screen)."""

from __future__ import annotations

import os
from typing import Any


def window_title(window: Any) -> str:
    """The project (else the dataset) by name, but only while a panel that shows it is on
    screen: the welcome page says "MMStudio"; a panel with neither, "Untitled — MMStudio"."""
    if window.current_panel_name() == "Welcome":
        return "MMStudio"
    if window.projects.path:
        name = os.path.basename(window.projects.path)
    elif window.dataset is not None:
        name = os.path.basename(window.dataset.spec.path.rstrip(os.sep))
    else:
        name = "Untitled"
    return f"{name} — MMStudio"


def clear_project(window: Any) -> None:
    """Clear every built panel of the project's dataset, model, runs and inputs (panels not yet
    built start empty anyway). A run still training keeps its curves: it is live, not stale."""
    window.show_status("New project: open a dataset, or try a demo from the welcome page")
    window.current_bundle = ""
    window.dataset = None
    window.restore_project_runs([])
    data = window.built_panel("Data")
    if data is not None:
        data.clear()
    model = window.built_panel("Model")
    if model is not None:
        model.set_dataset(None)
    evaluate = window.built_panel("Evaluate")
    if evaluate is not None:
        evaluate.set_dataset(None)
        evaluate.set_bundle("")
    query = window.built_panel("Query")
    if query is not None:
        query.reset()
    train = window.built_panel("Train")
    if train is not None and not train.reset():
        window.show_status("A run is still training: its curves stay in the Train panel until it ends")


def show_shortcuts(parent) -> None:
    from PySide6.QtWidgets import QMessageBox

    rows = [
        ("Ctrl+O", "Open a dataset manifest"),
        ("Ctrl+Shift+O", "Open a dataset folder"),
        ("F5", "Re-scan the dataset"),
        ("Ctrl+1 … Ctrl+5", "Data, Model, Train, Evaluate, Query"),
        ("Space", "Play the selected item's audio (in the item table)"),
        ("F1", "This list"),
        ("Ctrl+Q", "Quit"),
    ]
    html = "<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
    QMessageBox.information(parent, "Keyboard Shortcuts", html + "</table>")


def show_about(parent) -> None:
    from PySide6.QtWidgets import QMessageBox

    from mmstudio import __version__

    QMessageBox.about(
        parent,
        "About MMStudio",
        f"<h3>MMStudio {__version__}</h3><p>A desktop studio for multimodal deep learning: "
        "image, text and audio datasets, encoders, fusions, training and cross-modal "
        "queries. Works offline.</p>",
    )

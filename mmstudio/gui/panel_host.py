"""The main window's panels, built on first use: the window opens without importing pyqtgraph or
building a plot (issue 15), and each panel is built, wired to the others and given what it
missed (the dataset, the current model) when it is first shown or asked for.

``window.data_panel`` (and the others) build on access, so code and tests that reach a panel
directly work as before; ``built_panel(name)`` asks without building.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStackedWidget, QWidget

from mmstudio.gui import theme

if TYPE_CHECKING:
    from mmstudio.gui.panels.data_panel import DataPanel
    from mmstudio.gui.panels.evaluate_panel import EvaluatePanel
    from mmstudio.gui.panels.model_panel import ModelPanel
    from mmstudio.gui.panels.query_panel import QueryPanel
    from mmstudio.gui.panels.train_panel import TrainPanel

#: The panels in sidebar order: (module, class). Each is built when first shown or asked for,
#: so the window opens without importing pyqtgraph or building a plot (issue 15).
PANELS = {
    "Data": ("mmstudio.gui.panels.data_panel", "DataPanel"),
    "Model": ("mmstudio.gui.panels.model_panel", "ModelPanel"),
    "Train": ("mmstudio.gui.panels.train_panel", "TrainPanel"),
    "Evaluate": ("mmstudio.gui.panels.evaluate_panel", "EvaluatePanel"),
    "Query": ("mmstudio.gui.panels.query_panel", "QueryPanel"),
}


class Panels(dict):
    """``window.panels[name]``: the panel, built on first use; iterating gives the names only."""

    def __init__(self, window: PanelHost) -> None:
        super().__init__({name: None for name in PANELS})
        self._window = window

    def __getitem__(self, name: str) -> QWidget:
        return self._window.panel(name)

    def values(self):
        return [self[name] for name in self]

    def items(self):
        return [(name, self[name]) for name in self]


class PanelHost:
    """The lazy panels of a ``QMainWindow`` with ``stack`` (placeholders then panels), ``nav``,
    ``projects``, ``dataset``, ``current_bundle`` and the slots the wiring connects."""

    if TYPE_CHECKING:  # what the window provides
        _built: dict[str, QWidget]
        stack: QStackedWidget
        dataset: Any
        current_bundle: str
        projects: Any
        _project_runs: list[str]

        def show_status(self, message: str) -> None: ...
        def _update_title(self) -> None: ...
        def _on_dataset_loaded(self, ds) -> None: ...
        def _on_start_requested(self, run, dataset) -> None: ...
        def _on_run_finished(self, bundle: str) -> None: ...
        def _on_training_finished(self, bundle: str) -> None: ...
        def _on_open_bundle_requested(self, bundle: str, target: str) -> None: ...

    # ---------------------------------------------------------------- panels, built on first use
    def panel(self, name: str) -> QWidget:
        """The panel called ``name``, built (and wired to the others) on first use."""
        built = self._built.get(name)
        if built is not None:
            return built
        module, cls = PANELS[name]
        built = self._built[name] = getattr(importlib.import_module(module), cls)()
        row = list(PANELS).index(name)
        current = self.stack.currentIndex()
        placeholder = cast(QWidget, self.stack.widget(row))
        self.stack.insertWidget(row, built)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self.stack.setCurrentIndex(current)
        getattr(self, f"_wire_{name.lower()}")(built)
        self._watch_drops(built)
        theme.polish(built)
        return built

    def _watch_drops(self, root: QWidget) -> None:
        """Filter the events of the children that take drops themselves (line and text edits),
        so a file dropped on them opens here. Only those: an application-wide filter would run
        Python for every event of every widget (seconds on a style change, queued clicks)."""
        for child in root.findChildren(QWidget):
            if child.acceptDrops() and child is not self:
                child.installEventFilter(cast(QObject, self))

    def built_panel(self, name: str) -> QWidget | None:
        """The panel if it has been built, else None (nothing is built by asking)."""
        return self._built.get(name)

    @property
    def data_panel(self) -> DataPanel:
        return cast("DataPanel", self.panel("Data"))

    @property
    def model_panel(self) -> ModelPanel:
        return cast("ModelPanel", self.panel("Model"))

    @property
    def train_panel(self) -> TrainPanel:
        return cast("TrainPanel", self.panel("Train"))

    @property
    def evaluate_panel(self) -> EvaluatePanel:
        return cast("EvaluatePanel", self.panel("Evaluate"))

    @property
    def query_panel(self) -> QueryPanel:
        return cast("QueryPanel", self.panel("Query"))

    def _wire_data(self, panel) -> None:
        panel.status.connect(self.show_status)
        panel.dataset_loaded.connect(self._on_dataset_loaded)
        panel.dataset_changing.connect(self._on_dataset_changing)
        if self.dataset is not None:  # read before the panel existed (preload_dataset)
            panel.show_dataset(self.dataset)

    def preload_dataset(self, path: str) -> None:
        """Read a dataset in a thread without building the Data panel (the demo behind the
        welcome page: no plot, no pyqtgraph, no stall); panels get it as if the Data panel had
        loaded it, and the Data panel shows it when first built. A scan the Data panel started
        meanwhile wins."""
        import os

        from mmstudio.config import DatasetSpec
        from mmstudio.data import open_dataset
        from mmstudio.gui.app import in_thread

        def done(ds) -> None:
            if self.built_panel("Data") is None and self.dataset is None:
                self._on_dataset_loaded(ds)

        in_thread(lambda: open_dataset(DatasetSpec(path=os.path.abspath(path))), done)

    def _wire_model(self, panel) -> None:
        panel.status.connect(self.show_status)
        panel.start_requested.connect(self._on_start_requested)
        panel.suggested.connect(self.projects.on_run_suggested)
        if self.dataset is not None:
            panel.set_dataset(self.dataset)

    def _wire_train(self, panel) -> None:
        panel.set_project_runs(getattr(self, "_project_runs", []))
        panel.status.connect(self.show_status)
        panel.run_finished.connect(self._on_training_finished)
        panel.open_bundle_requested.connect(self._on_open_bundle_requested)

    def _wire_evaluate(self, panel) -> None:
        # Evaluate asks before competing with a training run
        panel.is_training = lambda: bool(getattr(self.built_panel("Train"), "running", False))
        self._wire_query(panel)

    def _wire_query(self, panel) -> None:
        """What Evaluate and Query share: status, and the current dataset and bundle."""
        panel.status.connect(self.show_status)
        if self.dataset is not None:
            panel.set_dataset(self.dataset)
        if self.current_bundle:
            panel.set_bundle(self.current_bundle)

    def _on_dataset_changing(self, _path: str) -> None:
        """Another dataset is being read: the views of the previous one clear at once."""
        self.dataset = None
        self._update_title()
        for name in ("Evaluate", "Query"):
            panel = self.built_panel(name)
            if panel is not None:
                panel.set_dataset(None)  # type: ignore[attr-defined]

    def shutdown_panels(self) -> None:
        """Stop what the built panels have running (players, thumbnails, workers)."""
        data = cast("DataPanel | None", self.built_panel("Data"))
        if data is not None:
            data.audio_view.stop()
            data.thumbnails.clear()
        for name in ("Model", "Evaluate", "Query"):
            shutdown = getattr(self.built_panel(name), "shutdown", None)
            if shutdown is not None:
                shutdown()

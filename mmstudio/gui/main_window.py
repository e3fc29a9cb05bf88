"""The main window: a sidebar of panels, menus, shortcuts, a status bar, and drop-anywhere."""

from __future__ import annotations

import functools
import os
from typing import cast

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QWidget,
)

from mmstudio import __version__
from mmstudio.gui.panels.data_panel import DataPanel
from mmstudio.gui.panels.evaluate_panel import EvaluatePanel
from mmstudio.gui.panels.model_panel import ModelPanel
from mmstudio.gui.panels.query_panel import QueryPanel
from mmstudio.gui.panels.train_panel import TrainPanel
from mmstudio.gui.projects import ProjectController
from mmstudio.gui.welcome import DEMOS, WelcomePage
from mmstudio.project import SUFFIX

MANIFEST_FILTER = "Datasets (*.csv *.tsv *.jsonl *.ndjson *.txt);;All files (*)"


class MainWindow(QMainWindow):
    """Owns the panels and routes what the user opens or drops to the Data panel."""

    window_shown = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("MMStudio")
        self.resize(1440, 900)
        self.setAcceptDrops(True)
        self.data_panel = DataPanel()
        self.model_panel = ModelPanel()
        self.train_panel = TrainPanel()
        self.evaluate_panel = EvaluatePanel()
        self.query_panel = QueryPanel()
        self.panels: dict[str, QWidget] = {
            "Data": self.data_panel,
            "Model": self.model_panel,
            "Train": self.train_panel,
            "Evaluate": self.evaluate_panel,
            "Query": self.query_panel,
        }
        self.welcome = WelcomePage()
        self.current_bundle = ""
        self.projects = ProjectController(self)
        self._build_central()
        self._build_menus()
        self._connect_projects()
        self.status_label = QLabel("Ready")
        self.statusBar().addWidget(self.status_label, 1)
        self.data_panel.status.connect(self.show_status)
        self.data_panel.dataset_loaded.connect(self._on_dataset_loaded)
        self.data_panel.dataset_loaded.connect(self.model_panel.set_dataset)
        self.model_panel.status.connect(self.show_status)
        self.model_panel.start_requested.connect(self._on_start_requested)
        self.train_panel.status.connect(self.show_status)
        for panel in (self.evaluate_panel, self.query_panel):
            self.data_panel.dataset_loaded.connect(panel.set_dataset)
            # another dataset is being read: the views of the previous one clear at once
            self.data_panel.dataset_changing.connect(lambda _path, p=panel: p.set_dataset(None))
            panel.status.connect(self.show_status)
        self.evaluate_panel.is_training = lambda: self.train_panel.running
        self.train_panel.run_finished.connect(self._on_training_finished)
        self.train_panel.open_bundle_requested.connect(self._on_open_bundle_requested)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._shown_once = False

    def _build_central(self) -> None:
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(150)
        icons = [
            QStyle.StandardPixmap.SP_DirOpenIcon,
            QStyle.StandardPixmap.SP_FileDialogDetailedView,
            QStyle.StandardPixmap.SP_MediaPlay,
            QStyle.StandardPixmap.SP_FileDialogContentsView,
            QStyle.StandardPixmap.SP_FileDialogInfoView,
        ]
        self.stack = QStackedWidget()
        for (name, panel), icon in zip(self.panels.items(), icons):
            QListWidgetItem(self.style().standardIcon(icon), name, self.nav)
            self.stack.addWidget(panel)
        self.stack.addWidget(self.welcome)
        self.nav.currentRowChanged.connect(self._on_nav_row)
        self.nav.setCurrentRow(0)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New Project", self.projects.new, QKeySequence.StandardKey.New)
        self._action(file_menu, "Open &Project…", self.projects.open_dialog, "Ctrl+Shift+P")
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action(file_menu, "&Save Project", self.projects.save, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Save Project &As…", self.projects.save_as, QKeySequence.StandardKey.SaveAs)
        file_menu.addSeparator()
        self._action(file_menu, "&Open Dataset…", self.open_dataset_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open Dataset &Folder…", self.open_folder_dialog, "Ctrl+Shift+O")
        self._action(file_menu, "&Re-scan Dataset", self.data_panel.rescan, "F5")
        file_menu.addSeparator()
        self._action(file_menu, "Se&ttings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        for row, name in enumerate(self.panels):
            self._action(view_menu, name, lambda _checked=False, r=row: self.show_panel(r), f"Ctrl+{row + 1}")
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Welcome Page", self.show_welcome)
        self._action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About MMStudio", self.show_about)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # ---------------------------------------------------------------- projects, welcome, demo
    def _connect_projects(self) -> None:
        self.projects.status.connect(self.show_status)
        self.projects.changed.connect(self._update_title)
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.new_requested.connect(self.projects.new)
        self.welcome.open_requested.connect(self.projects.open_dialog)
        self.welcome.open_dataset_requested.connect(self.open_dataset_dialog)
        self.welcome.recent_requested.connect(self.projects.open)

    def show_welcome(self) -> None:
        self.welcome.set_recent(self.projects.recent())
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(-1)
        self.nav.blockSignals(False)
        self.stack.setCurrentWidget(self.welcome)
        # Focus on the demo button: a focused sidebar with no current row would select "Data".
        button = self.welcome.demo_buttons["digits"]
        (button if button.isEnabled() else self.welcome).setFocus()

    def _on_nav_row(self, row: int) -> None:
        if row >= 0:
            self.stack.setCurrentIndex(row)

    def current_panel_name(self) -> str:
        widget = self.stack.currentWidget()
        return next((name for name, panel in self.panels.items() if panel is widget), "Welcome")

    def show_panel_named(self, name: str) -> None:
        if name in self.panels:
            self.show_panel(list(self.panels).index(name))
        else:
            self.show_welcome()

    def open_demo(self, name: str = "digits") -> None:
        """The welcome page's one click: the demo dataset in Data, its trained model in Query."""
        from mmstudio.gui.paths import CLIPART_DATASET, DEMO_DATASET

        dataset = DEMO_DATASET if name == "digits" else CLIPART_DATASET
        if self.data_panel.dataset is None or os.path.abspath(self.data_panel.dataset.spec.path) != str(dataset):
            self.data_panel.open_path(str(dataset))
        self.open_bundle(str(DEMOS[name][2]))
        inputs = getattr(self.panels["Query"], "inputs", None)
        if inputs is not None and hasattr(inputs, "set_text"):  # a first question, answered when ready
            inputs.set_text("seven" if name == "digits" else "flag")
        self.show_status(f"Demo: a trained model is ready in Query ({DEMOS[name][0]})")

    def open_bundle(self, path: str, switch: bool = True) -> None:
        """Give a trained bundle to the Query and Evaluate panels, and show Query."""
        self.current_bundle = path
        for name in ("Query", "Evaluate"):
            set_bundle = getattr(self.panels[name], "set_bundle", None)
            if set_bundle is not None:
                set_bundle(path)
        if switch:
            self.show_panel(list(self.panels).index("Query"))

    def reset_project(self) -> None:
        """File > New: an empty studio on the welcome page."""
        self.current_bundle = ""
        self.restore_project_runs([])
        self.setWindowTitle("MMStudio")
        self.show_welcome()

    def project_runs(self) -> list[str]:
        """Run folders the project lists: those started or resumed while it was open."""
        return list(self.train_panel.runs.extra)

    def restore_project_runs(self, paths: list[str]) -> None:
        """A project's runs go back into the runs list (wherever they are on disk)."""
        self.train_panel.runs.set_extra(paths)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.projects.recent():
            self.recent_menu.addAction(os.path.basename(path), functools.partial(self.projects.open, path))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    def _update_title(self) -> None:
        if self.projects.path:
            self.setWindowTitle(f"{os.path.basename(self.projects.path)} — MMStudio")

    def show_settings(self) -> None:
        from mmstudio.gui.settings_dialog import SettingsDialog

        SettingsDialog(self).exec()

    # ---------------------------------------------------------------- opening things
    def open_paths(self, paths: list[str]) -> None:
        """Open what was dropped or given on the command line: a project file, else a dataset."""
        paths = [p for p in paths if p]
        if not paths:
            return
        if paths[0].endswith(SUFFIX):
            self.projects.open(paths[0])
            return
        if len(paths) > 1:
            self.show_status(f"Opening {paths[0]}; one dataset at a time ({len(paths) - 1} more ignored)")
        self.show_panel(0)
        self.data_panel.open_path(paths[0])

    def open_dataset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Dataset Manifest", "", MANIFEST_FILTER)
        if path:
            self.open_paths([path])

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open Dataset Folder")
        if path:
            self.open_paths([path])

    def show_panel(self, row: int) -> None:
        self.nav.setCurrentRow(row)

    @Slot(str)
    def show_status(self, message: str) -> None:
        self.status_label.setText(message)

    @Slot(object)
    def _on_dataset_loaded(self, ds) -> None:
        self.setWindowTitle(f"{os.path.basename(ds.spec.path.rstrip(os.sep))} — MMStudio")

    @Slot(object, object)
    def _on_start_requested(self, run, dataset) -> None:
        """Start in the Model panel: switch to Train and start there (one run at a time)."""
        self.show_panel(list(self.panels).index("Train"))
        if self.train_panel.running:
            self.show_status("A run is already training: stop it first")
            return
        if self.evaluate_panel.lane.working:  # training gets the machine; say so
            self.evaluate_panel.cancel()
            self.show_status("Evaluation cancelled: a training run is starting")
        self.train_panel.start(run, dataset, nproc=self.model_panel.processes())

    @Slot(str, str)
    def _on_open_bundle_requested(self, bundle: str, target: str) -> None:
        """The runs list's "Open in Evaluate/Query": that bundle, in that panel."""
        self._on_run_finished(bundle)
        self.show_panel(list(self.panels).index(target))

    @Slot(str)
    def _on_training_finished(self, bundle: str) -> None:
        """A run trained to its end: its bundle goes to Evaluate and Query, evaluated once."""
        self._on_run_finished(bundle)
        self.evaluate_panel.evaluate()

    @Slot(str)
    def _on_run_finished(self, bundle: str) -> None:
        """The finished run's bundle is what Evaluate and Query use next."""
        path = bundle if os.path.isfile(os.path.join(bundle, "bundle.json")) else os.path.join(bundle, "bundle")
        self.current_bundle = path  # the project keeps it
        self.evaluate_panel.set_bundle(path)
        self.query_panel.set_bundle(path)

    def show_shortcuts(self) -> None:
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
        QMessageBox.information(self, "Keyboard Shortcuts", html + "</table>")

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About MMStudio",
            f"<h3>MMStudio {__version__}</h3><p>A desktop studio for multimodal deep learning: "
            "image, text and audio datasets, encoders, fusions, training and cross-modal "
            "queries. Works offline.</p>",
        )

    # ---------------------------------------------------------------- drop anywhere
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Catch file drops over any child (line edits and text views would take them otherwise)."""
        kind = event.type()
        if (
            kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
            and isinstance(watched, QWidget)
            and watched.window() is self
        ):
            paths = _local_paths(event)
            if paths:
                drop = cast(QDropEvent, event)  # drag enter and move events are drop events too
                if kind == QEvent.Type.Drop:
                    drop.acceptProposedAction()
                    # a panel may take the drop itself (Query)
                    accept_drop = getattr(self.stack.currentWidget(), "accept_drop", None)
                    if not (accept_drop is not None and accept_drop(paths)):
                        self.open_paths(paths)
                else:
                    drop.acceptProposedAction()
                    if kind == QEvent.Type.DragEnter:
                        self.show_status(f"Drop to open {os.path.basename(paths[0].rstrip(os.sep))}")
                return True
        return super().eventFilter(watched, event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and self.stack.currentWidget() is self.data_panel:
            self.data_panel.audio_view.toggle_play()
            return
        super().keyPressEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.window_shown.emit()

    def closeEvent(self, event) -> None:
        if not self.projects.confirm_discard():
            event.ignore()
            return
        if self.train_panel.running:
            answer = QMessageBox.question(
                self,
                "Stop training?",
                "A model is training. Stop it and quit? The last checkpoint is kept; the run can be resumed later.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.show_status("Stopping the run…")
            self.train_panel.stop_and_wait()
        self.data_panel.audio_view.stop()
        self.data_panel.thumbnails.clear()
        self.model_panel.shutdown()
        self.evaluate_panel.shutdown()
        self.query_panel.shutdown()
        self.projects.end_session()
        super().closeEvent(event)


def _local_paths(event) -> list[str]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]

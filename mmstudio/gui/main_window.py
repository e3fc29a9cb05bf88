"""The main window: a sidebar of panels, menus, shortcuts, a status bar, and drop-anywhere."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QEvent, QObject, Signal, Slot  # Qt: after the first paint (see events.py)
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
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

from mmstudio.gui import theme, window_state
from mmstudio.gui.events import key_sequences
from mmstudio.gui.events import local_paths as _local_paths
from mmstudio.gui.panel_host import PANELS, PanelHost, Panels
from mmstudio.gui.projects import SUFFIX, ProjectController
from mmstudio.gui.welcome import DEMOS, WelcomePage

NAV_INK = "#e6e8eb"  # the sidebar's text colour (resources/style.qss, #nav): dark in both themes

if TYPE_CHECKING:
    from mmstudio.gui.panels.evaluate_panel import EvaluatePanel
    from mmstudio.gui.panels.train_panel import TrainPanel

MANIFEST_FILTER = "Datasets (*.csv *.tsv *.jsonl *.ndjson *.txt);;All files (*)"


class MainWindow(PanelHost, QMainWindow):
    """Owns the panels and routes what the user opens or drops to the Data panel."""

    window_shown = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("MMStudio")
        self.resize(1440, 900)
        self.setAcceptDrops(True)
        self._built: dict[str, QWidget] = {}
        self.panels = Panels(self)
        self.dataset = None  # the dataset the Data panel loaded last (given to panels built later)
        self.welcome = WelcomePage()
        self.current_bundle = ""
        self.status_label = QLabel("Ready")
        self.statusBar().addWidget(self.status_label, 1)
        self.projects = ProjectController(self)
        self._build_central()
        self._build_menus()
        self._connect_projects()
        theme.polish(self, by_class=False)  # no progress bar yet; nothing takes drops: nothing to watch
        theme.watch(self)
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
        for name, icon in zip(PANELS, icons):
            shown = self.style().standardIcon(icon)
            if icon == QStyle.StandardPixmap.SP_MediaPlay:  # black: the sidebar's own ink instead
                shown = theme.tinted(shown, NAV_INK)
            QListWidgetItem(shown, name, self.nav)
            self.stack.addWidget(QWidget())  # a placeholder until the panel is first shown
        self.stack.addWidget(self.welcome)
        self.nav.setCurrentRow(0)  # Data, built when the window shows it (showEvent)
        self.nav.currentRowChanged.connect(self._on_nav_row)
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
        self._action(file_menu, "&Re-scan Dataset", lambda: self.data_panel.rescan(), "F5")
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
            action.setShortcuts(key_sequences(shortcut))
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
        # The sidebar's signals stay blocked during the switch: focus leaving the old page lands
        # on the sidebar, which then selects "Data" (it has no current row), and its signal
        # switched the stack again inside this switch, leaving the Data panel shown (painted)
        # under the welcome page and every page after it.
        self.nav.blockSignals(True)
        self.stack.setCurrentWidget(self.welcome)
        self.nav.setCurrentRow(-1)
        self.nav.blockSignals(False)
        self._update_title()
        # Focus on the demo button: a focused sidebar with no current row would select "Data".
        button = self.welcome.demo_buttons["digits"]
        (button if button.isEnabled() else self.welcome).setFocus()

    def _on_nav_row(self, row: int) -> None:
        if row >= 0:
            self.panel(list(PANELS)[row])
            self.stack.setCurrentIndex(row)
            self._update_title()

    def current_panel_name(self) -> str:
        row = self.stack.currentIndex()
        return list(PANELS)[row] if 0 <= row < len(PANELS) else "Welcome"

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
        inputs = getattr(self.query_panel, "inputs", None)
        if inputs is not None and hasattr(inputs, "set_text"):  # a first question, answered when ready
            inputs.set_text("seven" if name == "digits" else "flag")
        self.show_status(f"Demo: a trained model is ready in Query ({DEMOS[name][0]})")

    def open_bundle(self, path: str, switch: bool = True) -> None:
        """Give a trained bundle to the Query and Evaluate panels, and show Query."""
        self.current_bundle = path
        for name in ("Query", "Evaluate"):  # a panel built later is given it then
            set_bundle = getattr(self.built_panel(name), "set_bundle", None)
            if set_bundle is not None:
                set_bundle(path)
        if switch:
            self.show_panel(list(self.panels).index("Query"))

    def reset_project(self, welcome: bool = True) -> None:
        """File > New (on the welcome page), and before another project opens: nothing of the
        previous project stays on screen."""
        window_state.clear_project(self)
        if welcome:
            self.show_welcome()
        self._update_title()

    def project_runs(self) -> list[str]:
        """Run folders the project lists: those started or resumed while it was open."""
        train = cast("TrainPanel | None", self.built_panel("Train"))
        return list(train.runs.extra) if train is not None else list(getattr(self, "_project_runs", []))

    def restore_project_runs(self, paths: list[str]) -> None:
        """A project's runs go back into the runs list (wherever they are on disk)."""
        self._project_runs = list(paths)
        train = cast("TrainPanel | None", self.built_panel("Train"))
        if train is not None:
            train.set_project_runs(paths)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.projects.recent():
            self.recent_menu.addAction(os.path.basename(path), functools.partial(self.projects.open, path))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    def _update_title(self) -> None:
        self.setWindowTitle(window_state.window_title(self))

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
        path, _ = QFileDialog.getOpenFileName(self, "Open Dataset Manifest", self._dataset_folder(), MANIFEST_FILTER)
        if path:
            self.open_paths([path])

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open Dataset Folder", self._dataset_folder())
        if path:
            self.open_paths([path])

    def _dataset_folder(self) -> str:
        """File dialogs open beside the dataset shown (else in the home folder)."""
        from mmstudio.gui.paths import start_folder

        return start_folder(os.path.dirname(self.dataset.spec.path.rstrip(os.sep)) if self.dataset else None)

    def show_panel(self, row: int) -> None:
        self.nav.setCurrentRow(row)

    @Slot(str)
    def show_status(self, message: str) -> None:
        self.status_label.setText(message)

    @Slot(object)
    def _on_dataset_loaded(self, ds) -> None:
        """Title, and the dataset to the panels built so far (the others get it when built)."""
        self.dataset = ds
        self._update_title()
        for name in ("Model", "Evaluate", "Query"):
            panel = self.built_panel(name)
            if panel is not None:
                panel.set_dataset(ds)  # type: ignore[attr-defined]

    @Slot(object, object)
    def _on_start_requested(self, run, dataset) -> None:
        """Start in the Model panel: switch to Train and start there (one run at a time)."""
        self.show_panel(list(self.panels).index("Train"))
        if self.train_panel.running:
            self.show_status("A run is already training: stop it first")
            return
        evaluate = cast("EvaluatePanel | None", self.built_panel("Evaluate"))
        if evaluate is not None and evaluate.lane.working:  # training gets the machine; say so
            evaluate.cancel()
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
        for name in ("Evaluate", "Query"):  # a panel built later is given it then
            panel = self.built_panel(name)
            if panel is not None:
                panel.set_bundle(path)  # type: ignore[attr-defined]

    def show_shortcuts(self) -> None:
        window_state.show_shortcuts(self)

    def show_about(self) -> None:
        window_state.show_about(self)

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
                    self._take_drop(paths)
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
            self._take_drop(paths)

    def _take_drop(self, paths: list[str]) -> None:
        """The panel shown may take the drop itself (Query); else it opens as a dataset or project."""
        accept_drop = getattr(self.stack.currentWidget(), "accept_drop", None)
        if not (accept_drop is not None and accept_drop(paths)):
            self.open_paths(paths)

    def keyPressEvent(self, event) -> None:
        from PySide6.QtCore import Qt

        data = self.built_panel("Data")
        if event.key() == Qt.Key.Key_Space and data is not None and self.stack.currentWidget() is data:
            self.data_panel.audio_view.toggle_play()
            return
        super().keyPressEvent(event)

    def showEvent(self, event) -> None:
        row = self.stack.currentIndex()
        if row < len(PANELS):  # a panel's placeholder is about to show: build the panel
            self.panel(list(PANELS)[row])
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.window_shown.emit()

    def closeEvent(self, event) -> None:
        if not self.projects.confirm_discard():
            event.ignore()
            return
        train = cast("TrainPanel | None", self.built_panel("Train"))
        if train is not None and train.running:
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
            train.stop_and_wait()
        self.shutdown_panels()
        self.projects.end_session()
        super().closeEvent(event)

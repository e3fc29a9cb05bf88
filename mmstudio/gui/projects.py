"""File > New / Open / Save / Save As, recent projects, autosave and crash recovery.

The project's content is read from and given back to the main window (its Data panel's dataset
spec, the Model panel's run config, the runs list, the bundle the Query panel shows, the panel in
view). The file format is :mod:`mmstudio.project` (Qt-free).

Crash recovery: each session holds a lock file (QLockFile: pid + host, detected stale when that
process is gone) and autosaves the project, when it changed, every ``MMSTUDIO_AUTOSAVE_MS``
(default 30 s) into ``<user state dir>/sessions/<pid>.mmstudio``. A clean exit deletes both. At
start, a recovery file whose lock is stale (or missing) is from a session that crashed: the user
is offered to restore it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

if TYPE_CHECKING:
    from mmstudio.config import RunConfig
    from mmstudio.project import Project

# The project format (and the config it holds) loads on first use, after the window is up; so do
# json and glob (the window's first paint needs neither: issue 15).
SUFFIX = ".mmstudio"  # checked against mmstudio.project.SUFFIX by the tests
PROJECT_FILTER = f"MMStudio projects (*{SUFFIX});;All files (*)"
RECENT_KEY, RECENT_MAX = "projects/recent", 8


def load_project(path: str) -> Project:
    from mmstudio.project import load_project as load

    return load(path)


def save_project(project: Project, path: str, *args, **kwargs) -> None:
    from mmstudio.project import save_project as save

    save(project, path, *args, **kwargs)


def project_error() -> type[Exception]:
    from mmstudio.project import ProjectError

    return ProjectError


def sessions_dir() -> str:
    import platformdirs

    return os.path.join(platformdirs.user_state_dir("mmstudio", appauthor=False), "sessions")


def autosave_ms() -> int:
    return int(os.environ.get("MMSTUDIO_AUTOSAVE_MS") or 30_000)


def same_dataset(run: RunConfig, path: str) -> bool:
    """Whether ``run`` was saved for the dataset at ``path`` (a project's settings fit only it)."""
    return os.path.realpath(run.dataset.path) == os.path.realpath(path)


class ProjectController(QObject):
    """Owns the current project file and the session's autosave; the window shows the content."""

    changed = Signal()  # path or dirty state changed (window title, menus)
    status = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.path: str = ""  # the project file ('' while untitled)
        self._saved: str | None = None  # the JSON last saved to self.path
        self._autosaved: str | None = None
        self._pending_run: RunConfig | None = None  # a run waiting for the Model panel's first suggestion
        self._lock: QLockFile | None = None
        self.recovery_path = ""
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.autosave)  # the window wires on_run_suggested when it builds the Model panel

    # ---------------------------------------------------------------- state <-> window
    def capture(self) -> Project:
        """The project as the window shows it now."""
        w = self.window
        data, model = w.built_panel("Data"), w.built_panel("Model")  # a panel never built holds nothing
        ds = data.dataset if data is not None else None
        spec = ds.spec if ds is not None else (data.spec if data is not None else None)
        pending = self._pending_run  # the saved run, while it waits for its own dataset's suggestion
        run: RunConfig | None = pending
        if pending is None or (spec is not None and not same_dataset(pending, spec.path)):
            run = model.config() if model is not None else None
            if run is not None and spec is not None and not same_dataset(run, spec.path):
                run = None  # the last dataset's run, until the panel suggests one for this dataset
        name = os.path.splitext(os.path.basename(self.path))[0] if self.path else ""
        from mmstudio.project import Project

        return Project(
            datasets=[spec] if spec is not None else [],
            run_configs=[run] if run else [],
            runs=list(w.project_runs()),
            bundle=w.current_bundle or "",
            current_panel=w.current_panel_name(),
            name=name,
        )

    def apply(self, project: Project) -> None:
        """Show ``project`` in the window (datasets load in the background)."""
        w = self.window
        w.reset_project(welcome=False)  # nothing of the project shown before stays
        self._pending_run = project.run_configs[0] if project.run_configs else None
        if project.datasets:
            w.data_panel.open_spec(project.datasets[0])
        w.restore_project_runs(list(project.runs))
        if project.bundle:
            w.open_bundle(project.bundle, switch=False)
        w.show_panel_named(project.current_panel)

    def on_run_suggested(self) -> None:
        """The Model panel has just suggested a run for the loaded dataset. When that dataset is
        the one the project's run was saved with, the saved run goes back (the panel checks it
        with the engine's rules and names what cannot be shown); any other dataset (one opened
        since) keeps its fresh suggestion, from the default device chosen in Settings."""
        panel = self.window.model_panel
        run, self._pending_run = self._pending_run, None
        if run is not None and panel.dataset is not None and same_dataset(run, panel.dataset.spec.path):
            panel.restore_saved(run)
            return
        from mmstudio.gui.settings import Settings

        untouched = self._untouched_but_for_the_run()
        device, run = Settings.load().device, panel.config()
        if run is not None and device != "auto" and run.train.device != device:
            panel.set_config(run.replace(train=run.train.replace(device=device)))
        if untouched:  # a suggestion is not the user's change: closing asks nothing
            self._saved = self._json()

    def _untouched_but_for_the_run(self) -> bool:
        """A saved project without model settings, otherwise as it was opened or saved."""
        if not self.path or self._saved is None:
            return False
        import json

        saved, now = json.loads(self._saved), json.loads(self._json())
        if saved.pop("run_configs", None):  # it has settings of its own: a new run is a change
            return False
        now.pop("run_configs", None)
        return saved == now

    def _json(self, project: Project | None = None) -> str:
        """The project's content as compared for unsaved changes: the panel in view is saved
        with it but is not a change worth a "Save changes?" question."""
        import json

        project = project or self.capture()
        base = os.path.dirname(self.path) if self.path else os.getcwd()
        content = project.to_dict(base)
        content.pop("current_panel", None)
        return json.dumps(content, sort_keys=True)

    def is_dirty(self) -> bool:
        return bool(self.path) and self._saved != self._json()

    # ---------------------------------------------------------------- File menu
    def new(self) -> None:
        if not self.confirm_discard():
            return
        self.path, self._saved, self._pending_run = "", None, None
        self.window.reset_project()
        self.changed.emit()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Project", self._folder(), PROJECT_FILTER)
        if path:
            self.open(path)

    def open(self, path: str) -> bool:
        """Open a project file; missing datasets are asked for. False when it could not be read."""
        if not self.confirm_discard():
            return False
        try:
            project = load_project(path)
        except project_error() as exc:
            QMessageBox.warning(self.window, "Cannot open the project", str(exc))
            return False
        project = self.locate_missing(project)
        self.path = os.path.abspath(path)
        self.apply(project)
        self._saved = self._json(project)
        self.add_recent(self.path)
        self.changed.emit()
        self.status.emit(f"Opened {self.path}")
        return True

    def locate_missing(self, project: Project) -> Project:
        """Ask where each missing dataset or bundle went; paths under the same old folder follow."""
        asked: set[str] = set()
        for old in project.missing_paths():
            if old in asked or os.path.exists(old):
                continue
            asked.add(old)
            name = os.path.basename(old.rstrip(os.sep))
            title = f"Where is {name}? (it was at {old})"
            if os.path.splitext(old)[1]:
                new, _ = QFileDialog.getOpenFileName(self.window, title, self._folder(), f"{name};;All files (*)")
            else:
                new = QFileDialog.getExistingDirectory(self.window, title, self._folder())
            if not new:
                self.status.emit(f"Not found: {old}")
                continue
            project = project.relocate(old, new)
            old_dir, new_dir = os.path.dirname(old), os.path.dirname(new)
            if os.path.basename(old) == os.path.basename(new) and old_dir != new_dir:
                project = project.relocate(old_dir, new_dir)  # its neighbours moved with it
        return project

    def save(self) -> bool:
        if not self.path:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save Project As", self._folder(), PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self._write(os.path.abspath(path))

    def _write(self, path: str) -> bool:
        self.path = path
        project = self.capture()
        try:
            save_project(project, path)
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot save the project", f"{path}: {exc.strerror or exc}")
            return False
        self._saved = self._json(project)
        self.add_recent(path)
        self.changed.emit()
        self.status.emit(f"Saved {path}")
        return True

    def confirm_discard(self) -> bool:
        """Before replacing or closing a saved project with unsaved changes: save, discard or cancel."""
        if not self.is_dirty():
            return True
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window,
            "Save changes?",
            f"Save the changes to {os.path.basename(self.path)}?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        if answer == buttons.Save:
            return self.save()
        return answer == buttons.Discard

    def _folder(self) -> str:
        return os.path.dirname(self.path) if self.path else os.path.expanduser("~")

    # ---------------------------------------------------------------- recent projects
    def recent(self) -> list[str]:
        value = QSettings().value(RECENT_KEY, []) or []
        paths = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []
        return [p for p in paths if os.path.isfile(p)]

    def add_recent(self, path: str) -> None:
        paths = [path] + [p for p in self.recent() if p != path]
        QSettings().setValue(RECENT_KEY, paths[:RECENT_MAX])

    # ---------------------------------------------------------------- autosave and recovery
    def start_session(self) -> None:
        """Take this session's lock and start autosaving."""
        folder = sessions_dir()
        os.makedirs(folder, exist_ok=True)
        self._lock = QLockFile(os.path.join(folder, f"{os.getpid()}.lock"))
        self._lock.setStaleLockTime(0)
        self._lock.tryLock(0)
        self.recovery_path = os.path.join(folder, f"{os.getpid()}{SUFFIX}")
        self._timer.start(autosave_ms())

    def autosave(self) -> bool:
        """Write the recovery file if the project changed since the last autosave."""
        if not self.recovery_path:
            return False
        project = self.capture()
        text = self._json(project)
        if text == self._autosaved:
            return False
        save_project(
            project,
            self.recovery_path,
            extra={"recovery_of": self.path, "autosaved": time.strftime("%Y-%m-%d %H:%M:%S")},
        )
        self._autosaved = text
        return True

    def end_session(self) -> None:
        """A clean exit: nothing to recover."""
        self._timer.stop()
        for path in (self.recovery_path,):
            if path and os.path.exists(path):
                os.remove(path)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def crashed_sessions(self) -> list[str]:
        """Recovery files left by sessions that did not exit cleanly, newest first."""
        import glob

        found = []
        for path in glob.glob(os.path.join(sessions_dir(), f"*{SUFFIX}")):
            if path == self.recovery_path:
                continue
            lock = QLockFile(os.path.splitext(path)[0] + ".lock")
            lock.setStaleLockTime(0)
            if lock.tryLock(0):  # its owner is gone (a live session holds its lock)
                lock.unlock()
                found.append(path)
        return sorted(found, key=os.path.getmtime, reverse=True)

    def offer_recovery(self) -> bool:
        """Ask to restore the newest crashed session's autosave; True when restored."""
        import json

        sessions = self.crashed_sessions()
        if not sessions:
            return False
        newest = sessions[0]
        try:
            with open(newest, encoding="utf-8") as fh:
                extra = json.load(fh)
            project = load_project(newest)
        except (OSError, ValueError, project_error()):
            for path in sessions:
                os.remove(path)
            return False
        when = extra.get("autosaved", "")
        what = ", ".join(os.path.basename(d.path) for d in project.datasets) or "no dataset"
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window,
            "Restore unsaved work?",
            f"MMStudio did not close cleanly last time. Restore the work autosaved at {when} ({what})?",
            buttons.Yes | buttons.No,
            buttons.Yes,
        )
        for path in sessions:
            os.remove(path)
        if answer != buttons.Yes:
            return False
        project = self.locate_missing(project)
        self.path = extra.get("recovery_of") or ""
        self._saved = None  # restored work is unsaved
        self.apply(project)
        self.changed.emit()
        self.status.emit(f"Restored the work autosaved at {when}")
        return True

"""The Train panel: runs the engine's training generator in a worker thread, with live curves.

Events arrive on the GUI thread as plain values; they go into numpy buffers, and the plots are
redrawn from those by a timer at about 10 Hz, so plotting never slows training down.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QWidget,
)
from superqt.utils import GeneratorWorker, thread_worker

from mmstudio import engine
from mmstudio.config import RunConfig
from mmstudio.gui.panels import train_texts as texts
from mmstudio.gui.panels.train_layout import build_train_panel, show_no_run
from mmstudio.gui.panels.train_run import Failed, LiveRun, PanelState, advice, run_events, runs_dir, seconds_left
from mmstudio.gui.widgets.runs_view import RunsView
from mmstudio.gui.widgets.train_plots import TrainPlots
from mmstudio.gui.workers import stop_and_wait

if TYPE_CHECKING:
    from mmstudio.gui.process_run import ProcessRun

REDRAW_MS = 100  # about 10 Hz


class TrainPanel(QWidget):
    """Start / pause / resume / stop one run and watch it; ``run_finished(bundle)`` at the end.
    Below the curves, the runs list: every run on disk, to compare, resume or open."""

    run_finished = Signal(str)
    status = Signal(str)
    open_bundle_requested = Signal(str, str)  # bundle folder, "Evaluate" or "Query"
    # widgets (made by train_layout.build_train_panel)
    start_button: QPushButton
    pause_button: QPushButton
    resume_button: QPushButton
    stop_button: QPushButton
    device_label: QLabel
    progress: QProgressBar
    error_label: QLabel
    next_bar: QWidget
    next_label: QLabel
    evaluate_next: QPushButton
    query_next: QPushButton
    plots: TrainPlots
    log: QPlainTextEdit
    runs: RunsView
    tabs: QTabWidget

    def __init__(self) -> None:
        super().__init__()
        self.run: RunConfig | None = None
        self.dataset: Any = None  # the opened mmstudio.data.Dataset, when the run came from one
        self.out_dir = ""
        self.bundle = ""
        self.reason = ""
        self.worker: GeneratorWorker | ProcessRun | None = None
        self._pool: QThreadPool | None = None
        self.control: Any = None  # engine.Control of a thread run (a process run has none)
        self.events: list = []
        self.nproc = 1  # processes (GPUs) of the current run; >1 trains through torchrun
        self._started: float | None = None
        self._total_steps = 0
        self._state = PanelState.IDLE
        self._runs_loaded = False
        self._live: LiveRun | None = None  # the running run's row in the runs list, kept current
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._build()
        self._update_buttons()

    # the current run's buffers (tests and scripts read these)
    @property
    def loss(self):
        return self.plots.loss

    @property
    def epochs(self):
        return self.plots.epochs

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        build_train_panel(self)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._runs_loaded:  # read the runs on disk when first looked at, not at start-up
            self._runs_loaded = True
            self.runs.set_root(runs_dir())

    # ---------------------------------------------------------------- state
    @property
    def running(self) -> bool:
        return self.worker is not None

    def _update_buttons(self) -> None:
        s = self._state
        self.start_button.setEnabled(s in (PanelState.IDLE, PanelState.DONE) and self.run is not None)
        self.pause_button.setEnabled(s == PanelState.RUNNING and self.nproc == 1)
        self.pause_button.setToolTip(
            "" if self.nproc == 1 else "Runs on several GPUs stop and resume; they do not pause"
        )
        self.resume_button.setEnabled(s == PanelState.PAUSED or (s == PanelState.DONE and self.reason == "stopped"))
        self.resume_button.setToolTip(
            "Continue a stopped run from its last checkpoint" if s == PanelState.DONE else "Continue training"
        )
        self.stop_button.setEnabled(s in (PanelState.RUNNING, PanelState.PAUSED, PanelState.STARTING))

    def set_run(self, run: RunConfig, dataset=None) -> None:
        """The run the Start button trains (the Model panel hands it over)."""
        self.run, self.dataset = run, dataset
        self._update_buttons()

    def reset(self) -> bool:
        """File ▸ New: nothing of the last run stays on screen. A run still training stays (it
        is live, not stale): False then."""
        if self.running:
            return False
        self.run, self.dataset, self.out_dir, self.bundle, self.reason = None, None, "", "", ""
        self.events.clear()
        self._state = PanelState.IDLE
        show_no_run(self)
        self._update_buttons()
        return True

    def set_project_runs(self, paths: list[str]) -> None:
        """The open project's runs join the list; with no run shown, the panel points at them."""
        self.runs.set_extra(paths)
        if self.run is None and not self.running:
            show_no_run(self)

    # ---------------------------------------------------------------- commands
    def start(
        self,
        run: RunConfig | None = None,
        dataset=None,
        out_dir: str = "",
        resume: bool = False,
        nproc: int | None = None,
    ) -> None:
        """Train in a worker thread, or with ``nproc`` > 1 in a ``torchrun`` child process (one
        process per GPU, DDP) whose JSON events feed the same curves. Resume keeps the count."""
        if nproc is not None:
            self.nproc = max(1, nproc)
        if self.running:
            return
        if run is not None:
            self.set_run(run, dataset if dataset is not None else self.dataset)
        if self.run is None:
            return
        if not resume:
            self.out_dir = out_dir or engine.new_run_dir(runs_dir(), self.run.name)
            self.plots.clear()
            self.events.clear()
            self.log.clear()
        elif out_dir and out_dir != self.out_dir:  # another run, from the runs list
            self.out_dir = out_dir
            self.events.clear()
            self.log.clear()
            self.plots.load(engine.read_curves(out_dir))
        self.runs.active = self.out_dir
        self.runs.add_extra(self.out_dir)  # the open project lists the runs trained in it
        self.bundle, self.reason = "", ""
        self.error_label.hide()
        self.next_bar.hide()
        so_far = self.runs.status_of(self.out_dir) if resume else {}
        self._live = LiveRun(self.out_dir, so_far.get("seconds") or 0.0, so_far.get("epoch") or 0)
        self._state = PanelState.STARTING
        self._started = time.monotonic()
        self._append_log(("Resuming" if resume else "Starting") + f" run in {self.out_dir}")
        if self.nproc > 1:
            self._start_process(resume)
            return
        self.control = engine.Control()
        worker = thread_worker(run_events, start_thread=False)(
            self.run, self.out_dir, self.control, self.dataset, resume
        )
        worker.yielded.connect(self._on_event)
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        # A fresh thread per run, not the global pool's: torch (pybind11) caches a Python thread
        # state per OS thread, and a pooled thread reused after its state was freed crashes.
        if self._pool is not None:
            self._pool.deleteLater()
        pool = self._pool = QThreadPool(self)
        pool.setMaxThreadCount(1)
        pool.setExpiryTimeout(0)
        pool.start(worker)
        self._timer.start()
        self.progress.setFormat("Preparing data…")
        self._update_buttons()
        self.status.emit("Training started")

    def _start_process(self, resume: bool) -> None:
        from mmstudio.gui.process_run import ProcessRun

        assert self.run is not None  # start() sets it before choosing a process run
        self.control = None  # a process run stops by signal and has no pause
        process = ProcessRun(self.run, self.out_dir, self.nproc, resume, parent=self)
        process.event_ready.connect(self._on_event)
        process.failed.connect(self._on_process_failed)
        process.finished.connect(self._on_worker_finished)
        self.worker = process
        process.start()
        self._timer.start()
        self.progress.setFormat(f"Starting {self.nproc} processes (torchrun)…")
        self._update_buttons()
        self.status.emit(f"Training started on {self.nproc} GPUs")

    @Slot(str)
    def _on_process_failed(self, reason: str) -> None:
        self._show_error(RuntimeError(reason), reason)

    def pause(self) -> None:
        if self.control is not None and self._state in (PanelState.RUNNING, PanelState.STARTING):
            self.control.pause()
            self.progress.setFormat(self.progress.format() + " · pausing…")

    def resume(self) -> None:
        if self._state == PanelState.DONE and self.reason == "stopped":
            self.start(resume=True)
        elif self.control is not None:
            self.control.resume()

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
        elif self.worker is not None and not isinstance(self.worker, GeneratorWorker):  # torchrun
            self.worker.stop()
        else:
            return
        self._append_log("Stopping at the next step; the last checkpoint is kept")

    def stop_and_wait(self, timeout_ms: int = 30000) -> bool:
        """Stop the run and wait (keeping the GUI alive) until its worker has ended."""
        return stop_and_wait(self.worker, self.stop, lambda: self.running, timeout_ms)

    # ---------------------------------------------------------------- events
    @Slot(object)
    def _on_event(self, event) -> None:
        if isinstance(event, Failed):
            self._show_error(event.error, event.trace)
            return
        self.events.append(event)
        match event:
            case engine.RunStarted():
                self._on_run_started(event)
            case engine.DataPrepared():
                self._on_data_prepared(event)
            case engine.StepLogged():
                self._on_step_logged(event)
            case engine.EpochDone():
                self._on_epoch_done(event)
            case engine.CheckpointSaved():
                self._on_checkpoint_saved(event)
            case engine.Paused():
                self._on_paused(event)
            case engine.Resumed():
                self._on_resumed(event)
            case engine.RunFinished():
                self._on_run_finished(event)

    def _on_run_started(self, e) -> None:
        self._state = PanelState.RUNNING
        self._total_steps = e.epochs * e.steps_per_epoch
        self._epochs_total, self._steps_per_epoch = e.epochs, e.steps_per_epoch
        self.progress.setRange(0, max(1, self._total_steps))
        base = max(e.start_step, e.start_epoch * e.steps_per_epoch)
        self.progress.setValue(base)
        self._progress_base = base
        self._seconds_base = e.seconds  # the engine's training seconds: pauses never count
        if self._live is not None:  # the runs list's duration: the same figure as the engine's
            self._live.seconds = e.seconds
        self._device_text = texts.device_line(e)
        self.device_label.setText(self._device_text)
        self._append_log(texts.started_log(e))
        self._update_buttons()
        self._refresh_runs()

    def _on_data_prepared(self, e) -> None:
        self.progress.setFormat(texts.prepared_progress(e))
        for line in texts.prepared_log(e):  # a frozen backbone's outputs: computed once, cached
            self._append_log(line)

    def _on_step_logged(self, e) -> None:
        self.plots.add_step(e.step, e.loss, e.lr)
        if e.gpu_memory_mb:
            self.device_label.setText(f"{self._device_text} · GPU memory {e.gpu_memory_mb:,.0f} MiB peak")
        self.progress.setValue(e.step)
        left = seconds_left(self._total_steps, e.step, self._progress_base, e.seconds - self._seconds_base)
        self.progress.setFormat(texts.step_progress(e, self._epochs_total, self._total_steps, left))

    def _on_epoch_done(self, e) -> None:
        name, value = engine.headline(e.metrics)
        self.plots.metric_name = name or self.plots.metric_name
        self.plots.add_epoch(e.epoch, e.train_loss, value, e.metrics.get("loss"), e.weights)
        if self._live is not None:  # epochs done, as the runs list counts them on disk
            self._live.epoch = e.epoch
        self._append_log(texts.epoch_log(e))
        if self._runs_loaded:
            self.runs.refresh_run(self.out_dir)

    def _on_checkpoint_saved(self, e) -> None:
        self._append_log(f"checkpoint ({e.kind}) after epoch {e.epoch}")

    def _on_paused(self, e) -> None:
        self._state = PanelState.PAUSED
        self.progress.setFormat(f"Paused at step {e.step}")
        self._append_log(f"paused at step {e.step}")
        self._update_buttons()

    def _on_resumed(self, e) -> None:
        self._state = PanelState.RUNNING
        self._append_log(f"resumed at step {e.step}")
        self._update_buttons()

    def _on_run_finished(self, e) -> None:
        self.bundle, self.reason = e.bundle, e.reason
        self.progress.setFormat(texts.finished_line(e))
        if e.reason == "completed":
            self.progress.setValue(self.progress.maximum())
        self._append_log(f"finished ({e.reason}): bundle {e.bundle}")

    def _show_error(self, error: BaseException, trace: str) -> None:
        self.reason = "failed"
        message = f"Training failed: {error}\n{advice(error)}"
        self.error_label.setText(message)
        self.error_label.show()
        self.progress.setFormat("Failed")
        self._append_log(trace.rstrip())
        self.status.emit(f"Training failed: {error}")

    @Slot()
    def _on_worker_finished(self, _result: object = None) -> None:
        self.worker = None
        self._state = PanelState.DONE
        self._timer.stop()
        self.redraw()
        self._update_buttons()
        self.runs.active = ""
        self._refresh_runs()
        self._live = None
        if self.bundle:
            self.next_label.setText(texts.next_step(self.reason))
            self.next_bar.show()
            self.status.emit(f"Training {self.reason}: {self.bundle}")
            self.run_finished.emit(self.bundle)

    # ---------------------------------------------------------------- runs
    @Slot(str)
    def resume_run(self, path: str) -> None:
        """Resume a run from the runs list (its own run.toml; its dataset is opened again)."""
        if self.running:
            self.status.emit("A run is already training: stop it first")
            return
        try:
            run = RunConfig.load(os.path.join(path, "run.toml"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            self.status.emit(f"Cannot resume {path}: {exc}")
            return
        self.set_run(run, None)
        self.start(out_dir=path, resume=True)

    @Slot(list)
    def _on_runs_selected(self, runs: list) -> None:
        others = [r for r in runs if r["path"] != os.path.abspath(self.out_dir or "-")]
        self.plots.overlay([(r["path"], engine.read_curves(r["path"])) for r in others])

    def _refresh_runs(self) -> None:
        if self._runs_loaded:
            self.runs.refresh()

    def redraw(self) -> None:
        """Push the buffers to the curves (called by the ~10 Hz timer, only when something changed),
        and about once a second the run's row in the runs list (duration, epoch, paused)."""
        self.plots.redraw()
        live = self._live
        if live is not None and self._runs_loaded and live.tick(self._state == PanelState.PAUSED):
            self.runs.show_live(live.path, live.epoch, getattr(self, "_epochs_total", 0), live.seconds, live.paused)

    def _append_log(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

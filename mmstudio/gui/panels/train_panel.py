"""The Train panel: runs the engine's training generator in a worker thread, with live curves.

Events arrive on the GUI thread as plain values; they go into numpy buffers, and the plots are
redrawn from those by a timer at about 10 Hz, so plotting never slows training down.
"""
from __future__ import annotations

import os
import time
import traceback

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import thread_worker

from mmstudio.config import RunConfig

REDRAW_MS = 100  # about 10 Hz


def runs_dir() -> str:
    """Where runs are written: ``$MMSTUDIO_HOME/runs``, else the user's data folder."""
    home = os.environ.get("MMSTUDIO_HOME")
    if not home:
        import platformdirs

        home = platformdirs.user_data_dir("mmstudio", appauthor=False)
    return os.path.join(home, "runs")


class Buffer:
    """A growable float64 column store: appends are amortised O(1), views are free."""

    def __init__(self, columns: int, capacity: int = 1024) -> None:
        self._data = np.empty((capacity, columns))
        self.size = 0

    def append(self, *values: float) -> None:
        if self.size == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self.size] = values
        self.size += 1

    def column(self, i: int) -> np.ndarray:
        return self._data[:self.size, i]

    def clear(self) -> None:
        self.size = 0


class _Failed:
    """What the worker yields instead of raising: the GUI turns it into a message."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.trace = traceback.format_exc()


def _events(run, out_dir, control, dataset, resume):
    from mmstudio import engine

    try:
        result = yield from engine.train(run, out_dir, control=control, resume=resume, dataset=dataset)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message, never a crash
        yield _Failed(exc)
        return None
    return result


def advice(error: BaseException) -> str:
    """A short hint for the failures users meet most."""
    text = str(error).lower()
    if "out of memory" in text:
        return "The GPU ran out of memory: lower the batch size or the image size, then resume."
    if "cuda" in text and ("available" in text or "driver" in text or "no cuda" in text):
        return "No usable CUDA device: choose the CPU device (or the Quick preset)."
    if isinstance(error, (OSError, ValueError)) and ("file" in text or "decode" in text or "no such" in text):
        return "A data file could not be read: check it in the Data panel, then resume."
    return "The last checkpoint is kept; change the settings and resume, or start again."


class TrainPanel(QWidget):
    """Start / pause / resume / stop one run and watch it; ``run_finished(bundle)`` at the end."""

    run_finished = Signal(str)
    status = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.run: RunConfig | None = None
        self.dataset = None
        self.out_dir = ""
        self.bundle = ""
        self.reason = ""
        self.worker = None
        self._pool = None
        self.control = None
        self.events: list = []
        self.loss = Buffer(2)  # step, loss
        self.lr = Buffer(2)  # step, lr
        self.epochs = Buffer(4)  # epoch, train loss, val metric, val loss
        self.metric_name = ""
        self._started = None
        self._total_steps = 0
        self._state = "idle"
        self._dirty = False
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._build()
        self._update_buttons()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.addWidget(QLabel("<h2>Train</h2>Train the model built in the Model panel; curves update live."))
        bar = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        for b in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            bar.addWidget(b)
        self.device_label = QLabel("Device: –")
        bar.addSpacing(16)
        bar.addWidget(self.device_label)
        bar.addStretch(1)
        outer.addLayout(bar)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("No run yet")
        self.progress.setValue(0)
        outer.addWidget(self.progress)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("background: #fdecea; color: #b3261e; padding: 6px;")
        self.error_label.hide()
        outer.addWidget(self.error_label)

        plots = QWidget()
        grid = QGridLayout(plots)
        grid.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = self._plot("Training loss", "step")
        self.metric_plot = self._plot("Validation", "epoch")
        self.lr_plot = self._plot("Learning rate", "step")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.metric_plot.addLegend(offset=(-10, 10))
        self.loss_raw = self.loss_plot.plot(pen=pg.mkPen((120, 150, 200), width=1), name="per step")
        self.loss_smooth = self.loss_plot.plot(pen=pg.mkPen((25, 80, 180), width=2), name="smoothed")
        self.metric_curve = self.metric_plot.plot(pen=pg.mkPen((30, 140, 60), width=2), symbol="o",
                                                  symbolSize=6, name="metric")
        self.val_loss_curve = self.metric_plot.plot(pen=pg.mkPen((200, 40, 40), width=2, style=Qt.PenStyle.DashLine),
                                                    symbol="t", symbolSize=6, name="val loss")
        self.epoch_loss_curve = self.metric_plot.plot(pen=pg.mkPen((200, 110, 30), width=2,), symbol="s",
                                                      symbolSize=6, name="train loss")
        self.lr_curve = self.lr_plot.plot(pen=pg.mkPen((140, 60, 160), width=2))
        grid.addWidget(self.loss_plot, 0, 0, 1, 2)
        grid.addWidget(self.metric_plot, 1, 0)
        grid.addWidget(self.lr_plot, 1, 1)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        split = QSplitter()
        split.setOrientation(split.orientation().Vertical)
        split.addWidget(plots)
        split.addWidget(self.log)
        split.setSizes([560, 160])
        outer.addWidget(split, 1)

    def _plot(self, title: str, x: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(title=title, background="w")
        plot.setLabel("bottom", x)
        plot.showGrid(x=True, y=True, alpha=0.2)
        item = plot.getPlotItem()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        return plot

    # ---------------------------------------------------------------- state
    @property
    def running(self) -> bool:
        return self.worker is not None

    def _update_buttons(self) -> None:
        s = self._state
        self.start_button.setEnabled(s in ("idle", "done") and self.run is not None)
        self.pause_button.setEnabled(s == "running")
        self.resume_button.setEnabled(s == "paused" or (s == "done" and self.reason == "stopped"))
        self.resume_button.setToolTip("Continue a stopped run from its last checkpoint"
                                      if s == "done" else "Continue training")
        self.stop_button.setEnabled(s in ("running", "paused", "starting"))

    def set_run(self, run: RunConfig, dataset=None) -> None:
        """The run the Start button trains (the Model panel hands it over)."""
        self.run, self.dataset = run, dataset
        self._update_buttons()

    # ---------------------------------------------------------------- commands
    def start(self, run: RunConfig | None = None, dataset=None, out_dir: str = "", resume: bool = False) -> None:
        if self.running:
            return
        if run is not None:
            self.set_run(run, dataset if dataset is not None else self.dataset)
        if self.run is None:
            return
        if not resume:
            self.out_dir = out_dir or _new_run_dir(self.run)
            for buf in (self.loss, self.lr, self.epochs):
                buf.clear()
            self.events.clear()
            self.log.clear()
        self.bundle, self.reason, self._ema = "", "", None
        self.error_label.hide()
        self._state = "starting"
        self._started = time.monotonic()
        self._append_log(("Resuming" if resume else "Starting") + f" run in {self.out_dir}")
        from mmstudio import engine

        self.control = engine.Control()
        self.worker = thread_worker(_events, start_thread=False)(
            self.run, self.out_dir, self.control, self.dataset, resume)
        self.worker.yielded.connect(self._on_event)
        self.worker.finished.connect(self._on_worker_finished)
        # A fresh thread per run, not the global pool's: torch (pybind11) caches a Python thread
        # state per OS thread, and a pooled thread reused after its state was freed crashes.
        if self._pool is not None:
            self._pool.deleteLater()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(0)
        self._pool.start(self.worker)
        self._timer.start()
        self.progress.setFormat("Preparing data…")
        self._update_buttons()
        self.status.emit("Training started")

    def pause(self) -> None:
        if self.control is not None and self._state in ("running", "starting"):
            self.control.pause()
            self.progress.setFormat(self.progress.format() + " · pausing…")

    def resume(self) -> None:
        if self._state == "done" and self.reason == "stopped":
            self.start(resume=True)
        elif self.control is not None:
            self.control.resume()

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
            self._append_log("Stopping at the next step; the last checkpoint is kept")

    def stop_and_wait(self, timeout_ms: int = 30000) -> bool:
        """Stop the run and wait (keeping the GUI alive) until its worker has ended."""
        if not self.running:
            return True
        loop = QEventLoop()
        self.worker.finished.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        self.stop()
        loop.exec()
        return not self.running

    # ---------------------------------------------------------------- events
    @Slot(object)
    def _on_event(self, event) -> None:
        if isinstance(event, _Failed):
            self._show_error(event.error, event.trace)
            return
        self.events.append(event)
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)
        self._dirty = True

    def _on_RunStarted(self, e) -> None:
        self._state = "running"
        self._total_steps = e.epochs * e.steps_per_epoch
        self._epochs_total, self._steps_per_epoch = e.epochs, e.steps_per_epoch
        self.progress.setRange(0, max(1, self._total_steps))
        self.progress.setValue(e.start_epoch * e.steps_per_epoch)
        self._progress_base = e.start_epoch * e.steps_per_epoch
        self._run_t0 = time.monotonic()
        self.device_label.setText(f"Device: {e.device} · {e.precision} · {e.parameters / 1e6:.2f} M parameters")
        self._append_log(f"{e.device} ({e.precision}), modalities {', '.join(e.modalities)}, "
                         f"{e.train_items} train / {e.val_items} val items, {e.epochs} epochs × "
                         f"{e.steps_per_epoch} steps")
        self._update_buttons()

    def _on_DataPrepared(self, e) -> None:
        self.progress.setFormat(f"Decoding {e.modality}: {e.done}/{e.total}")

    def _on_StepLogged(self, e) -> None:
        self._ema = e.loss if self._ema is None else 0.9 * self._ema + 0.1 * e.loss
        self.loss.append(e.step, e.loss)
        self.lr.append(e.step, e.lr)
        self.progress.setValue(e.step)
        done = e.step - self._progress_base
        elapsed = time.monotonic() - self._run_t0
        left = (self._total_steps - e.step) * elapsed / max(1, done)
        self.progress.setFormat(f"Epoch {e.epoch}/{self._epochs_total} · step {e.step}/{self._total_steps}"
                                f" · ETA {_clock(left)} · {e.samples_per_s:,.0f} samples/s")

    def _on_EpochDone(self, e) -> None:
        name, value = _main_metric(e.metrics)
        self.metric_name = name or self.metric_name
        val_loss = e.metrics.get("loss")
        self.epochs.append(e.epoch, e.train_loss, np.nan if value is None else value,
                           np.nan if not isinstance(val_loss, (int, float)) else val_loss)
        scores = ", ".join(f"{k} {v:.4g}" for k, v in e.metrics.items())
        self._append_log(f"epoch {e.epoch}: train loss {e.train_loss:.4f}{', ' + scores if scores else ''}"
                         f" ({e.seconds:.1f} s, {e.samples_per_s:,.0f} samples/s){' ★ best' if e.best else ''}")

    def _on_CheckpointSaved(self, e) -> None:
        self._append_log(f"checkpoint ({e.kind}) after epoch {e.epoch}")

    def _on_Paused(self, e) -> None:
        self._state = "paused"
        self.progress.setFormat(f"Paused at step {e.step}")
        self._append_log(f"paused at step {e.step}")
        self._update_buttons()

    def _on_Resumed(self, e) -> None:
        self._state = "running"
        self._append_log(f"resumed at step {e.step}")
        self._update_buttons()

    def _on_RunFinished(self, e) -> None:
        self.bundle, self.reason = e.bundle, e.reason
        self.progress.setFormat(f"{e.reason.replace('_', ' ').capitalize()} · {e.epochs} epochs, "
                                f"{e.steps} steps in {_clock(e.seconds)}")
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
    def _on_worker_finished(self) -> None:
        self.worker = None
        self._state = "done"
        self._timer.stop()
        self.redraw()
        self._update_buttons()
        if self.bundle:
            self.status.emit(f"Training {self.reason}: {self.bundle}")
            self.run_finished.emit(self.bundle)

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        """Push the buffers to the curves (called by the ~10 Hz timer, only when something changed)."""
        if not self._dirty:
            return
        self._dirty = False
        steps, losses = self.loss.column(0), self.loss.column(1)
        self.loss_raw.setData(steps, losses)
        self.loss_smooth.setData(steps, _ema(losses))
        self.lr_curve.setData(self.lr.column(0), self.lr.column(1))
        epochs = self.epochs.column(0)
        metric = self.epochs.column(2)
        if self.metric_name and np.isfinite(metric).any():
            self.metric_curve.setData(epochs, metric)
            legend = self.metric_plot.getPlotItem().legend
            label = legend.getLabel(self.metric_curve) if legend is not None else None
            if label is not None and label.text != f"val {self.metric_name}":
                label.setText(f"val {self.metric_name}")
            self.metric_plot.setTitle(f"Validation {self.metric_name} and train loss per epoch")
        self.epoch_loss_curve.setData(epochs, self.epochs.column(1))
        val_loss = self.epochs.column(3)
        if np.isfinite(val_loss).any():
            self.val_loss_curve.setData(epochs, val_loss)

    def _append_log(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")


def _ema(values: np.ndarray, smoothing: float = 0.8) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard draws it): no lag from a zero start."""
    out = np.empty_like(values)
    acc = 0.0
    for i, v in enumerate(values):  # a few thousand points at most: cheap at 10 Hz
        acc = smoothing * acc + (1 - smoothing) * v
        out[i] = acc / (1 - smoothing ** (i + 1))
    return out


def _main_metric(metrics: dict) -> tuple[str, float | None]:
    for key in ("accuracy", "macro_f1", "recall@1", "r@1", "loss"):
        for k, v in metrics.items():
            if k.endswith(key) and isinstance(v, (int, float)):
                return k, float(v)
    for k, v in metrics.items():
        if isinstance(v, (int, float)):
            return k, float(v)
    return "", None


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"


def _new_run_dir(run: RunConfig) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(runs_dir(), f"{stamp}-{run.name}" if run.name else stamp)
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    os.makedirs(path)
    return path

"""Training in a child process: ``torchrun`` for several GPUs, streaming the same events.

The Train panel normally runs ``engine.train`` in a thread. To use N GPUs it runs
``python -m torch.distributed.run --nproc-per-node N -m mmstudio train --config RUN.toml
--out DIR --json`` instead; rank 0 prints one JSON event per line, which this runner turns back
into the engine's event objects (``engine.event_from_dict``), so the same curves draw them::

    runner = ProcessRun(run, out_dir, nproc=gpu_count())
    runner.event_ready.connect(panel.on_event)  # RunStarted, StepLogged, ... RunFinished
    runner.failed.connect(show_message)         # a readable reason (stderr's last lines)
    runner.finished.connect(lambda code: ...)   # the launcher's exit status, always last
    runner.start()
    runner.stop()                               # graceful: checkpoint and bundle are saved

``stop()`` sends SIGTERM to torchrun, which forwards it to every worker; the CLI turns it into
``Control.stop()``, so the run ends at the next step with a checkpoint and a bundle (and a
``RunFinished`` with reason ``stopped``). torchrun kills workers that take over 30 s. Pause is
not offered for process runs. Nothing here imports torch: the GUI learns the GPU count from
``nvidia-smi -L`` (:func:`gpu_count`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal, Slot

from mmstudio import engine
from mmstudio.config import RunConfig

#: The package's parent folder: the child imports this same ``mmstudio`` (a source checkout too).
_SOURCE = str(Path(__file__).resolve().parents[2])


@functools.lru_cache(maxsize=1)
def gpu_count() -> int:
    """NVIDIA GPUs this machine shows (``nvidia-smi -L``; ``CUDA_VISIBLE_DEVICES`` narrows it);
    0 when there is no driver. Cheap and torch-free, so the window can ask before torch loads."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    count = sum(1 for line in out.splitlines() if line.startswith("GPU "))
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = min(count, len([v for v in visible.split(",") if v.strip()]))
    return count


def torchrun_command(config: str, out_dir: str, nproc: int, resume: bool = False) -> list[str]:
    """The launcher command line (also what the README shows for the terminal)."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        str(nproc),
        "--standalone",
        "-m",
        "mmstudio",
        "train",
        "--config",
        config,
        "--out",
        out_dir,
        "--json",
    ]
    return cmd + (["--resume"] if resume else [])


class ProcessRun(QObject):
    """One training run in a ``torchrun`` child process; signals arrive on the GUI thread."""

    # an engine event (RunStarted, StepLogged, ..., RunFinished); not named `event`, which is
    # QObject.event(), the method Qt calls to deliver every event to this object
    event_ready = Signal(object)
    failed = Signal(str)  # the run ended without a RunFinished: why
    finished = Signal(int)  # the launcher's exit status (after failed, if any)

    def __init__(
        self, run: RunConfig, out_dir: str, nproc: int = 1, resume: bool = False, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.run, self.out_dir, self.nproc, self.resume = run, out_dir, max(1, nproc), resume
        self.events: list = []
        self.stderr: deque[str] = deque(maxlen=40)  # the launcher's last lines
        self.errors: list[str] = []  # "mmstudio train: error: ..." lines from the workers
        self._stopping = False
        self._buffer = b""
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._on_stdout)
        self.process.readyReadStandardError.connect(self._on_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)

    @property
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        """Write ``OUT/run.toml`` and launch; the child rewrites it the same way."""
        os.makedirs(self.out_dir, exist_ok=True)
        config = os.path.join(self.out_dir, "run.toml")
        self.run.save(config)
        program, *args = torchrun_command(config, self.out_dir, self.nproc, self.resume)
        env = QProcessEnvironment.systemEnvironment()
        path = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", _SOURCE + (os.pathsep + path if path else ""))
        env.insert("PYTHONUNBUFFERED", "1")
        if not env.contains("OMP_NUM_THREADS"):
            env.insert("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // self.nproc)))
        self.process.setProcessEnvironment(env)
        self.process.start(program, args)

    def stop(self) -> None:
        """Ask for a graceful stop (SIGTERM to torchrun, forwarded to the workers)."""
        if self.running:
            self._stopping = True
            self.process.terminate()

    def kill(self) -> None:
        self.process.kill()

    @Slot()
    def _on_stdout(self) -> None:
        self._buffer += self.process.readAllStandardOutput().data()
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("{"):
                continue  # not an event line (a library's notice): ignore
            try:
                event = engine.event_from_dict(json.loads(line))
            except ValueError:
                self.stderr.append(line)
                continue
            self.events.append(event)
            self.event_ready.emit(event)

    @Slot()
    def _on_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self.stderr.append(line)
            if line.startswith("mmstudio ") and ": error: " in line:  # the CLI's own message
                self.errors.append(line)

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, _status) -> None:
        self._on_stdout()
        self._on_stderr()
        if not any(type(e).__name__ == "RunFinished" for e in self.events):
            self.failed.emit(self._reason(code))
        self.finished.emit(code)

    @Slot(QProcess.ProcessError)
    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.failed.emit(f"could not start {sys.executable} -m torch.distributed.run: {self.process.errorString()}")
            self.finished.emit(-1)

    def _reason(self, code: int) -> str:
        lines = list(self.stderr)
        errors = [ln for ln in lines if "error" in ln.lower()]
        detail = (self.errors or errors or lines or ["no output"])[-1]
        if self._stopping:
            return f"stopped before the run could save its state ({detail})"
        return f"training process exited with status {code}: {detail}"

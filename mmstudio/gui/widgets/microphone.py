"""Recording a few seconds from the microphone to a WAV file (QtMultimedia), when there is one."""
from __future__ import annotations

import os
import tempfile

from PySide6.QtCore import QObject, QTimer, QUrl, Signal


def microphones() -> list:
    """The audio inputs QtMultimedia sees (empty without QtMultimedia or a microphone)."""
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return []
    return list(QMediaDevices.audioInputs())


class Recorder(QObject):
    """``record(seconds)`` writes a temporary WAV and emits ``recorded(path)`` (or ``failed``)."""

    recorded = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = self._recorder = self._input = None
        self._path = ""

    @property
    def available(self) -> bool:
        return bool(microphones())

    def record(self, seconds: float = 3.0) -> None:
        from PySide6.QtMultimedia import (
            QAudioInput,
            QMediaCaptureSession,
            QMediaFormat,
            QMediaRecorder,
        )

        if self._recorder is None:
            self._session = QMediaCaptureSession(self)
            self._input = QAudioInput(self)
            self._session.setAudioInput(self._input)
            self._recorder = QMediaRecorder(self)
            self._session.setRecorder(self._recorder)
            fmt = QMediaFormat()
            fmt.setFileFormat(QMediaFormat.FileFormat.Wave)
            self._recorder.setMediaFormat(fmt)
            self._recorder.setQuality(QMediaRecorder.Quality.HighQuality)
            self._recorder.recorderStateChanged.connect(self._on_state)
            self._recorder.errorOccurred.connect(lambda _e, msg: self.failed.emit(msg))
        fd, self._path = tempfile.mkstemp(prefix="mmstudio-mic-", suffix=".wav")
        os.close(fd)
        self._recorder.setOutputLocation(QUrl.fromLocalFile(self._path))
        self._recorder.record()
        QTimer.singleShot(int(seconds * 1000), self._recorder.stop)

    def _on_state(self, state) -> None:
        from PySide6.QtMultimedia import QMediaRecorder

        if state == QMediaRecorder.RecorderState.StoppedState and self._path:
            actual = self._recorder.actualLocation().toLocalFile() or self._path
            path, self._path = actual, ""
            if os.path.isfile(path) and os.path.getsize(path) > 44:
                self.recorded.emit(path)
            else:
                self.failed.emit("the recording is empty")

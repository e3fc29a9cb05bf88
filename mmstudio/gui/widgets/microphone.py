"""Recording a few seconds from the microphone to a WAV file (QtMultimedia), when there is one."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, QUrl, Signal

if TYPE_CHECKING:  # QtMultimedia loads on first use (it starts FFmpeg)
    from PySide6.QtMultimedia import QAudioInput, QMediaCaptureSession, QMediaRecorder


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
        self._session: QMediaCaptureSession | None = None  # made on first use (QtMultimedia)
        self._input: QAudioInput | None = None
        self._recorder: QMediaRecorder | None = None
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

        recorder = self._recorder
        if recorder is None:
            session, audio_input = QMediaCaptureSession(self), QAudioInput(self)
            session.setAudioInput(audio_input)
            recorder = QMediaRecorder(self)
            session.setRecorder(recorder)
            fmt = QMediaFormat()
            fmt.setFileFormat(QMediaFormat.FileFormat.Wave)
            recorder.setMediaFormat(fmt)
            recorder.setQuality(QMediaRecorder.Quality.HighQuality)
            recorder.recorderStateChanged.connect(self._on_state)
            recorder.errorOccurred.connect(lambda _e, msg: self.failed.emit(msg))
            self._session, self._input, self._recorder = session, audio_input, recorder
        fd, self._path = tempfile.mkstemp(prefix="mmstudio-mic-", suffix=".wav")
        os.close(fd)
        recorder.setOutputLocation(QUrl.fromLocalFile(self._path))
        recorder.record()
        QTimer.singleShot(int(seconds * 1000), recorder.stop)

    def _on_state(self, state) -> None:
        from PySide6.QtMultimedia import QMediaRecorder

        if state == QMediaRecorder.RecorderState.StoppedState and self._path and self._recorder:
            actual = self._recorder.actualLocation().toLocalFile() or self._path
            path, self._path = actual, ""
            if os.path.isfile(path) and os.path.getsize(path) > 44:
                self.recorded.emit(path)
            else:
                self.failed.emit("the recording is empty")

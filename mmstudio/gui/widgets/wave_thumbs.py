"""Waveform thumbnails of audio clips for gallery cards, drawn off the GUI thread and cached
(the audio counterpart of :class:`ThumbnailCache`: ``get(path)``, then ``ready(path)``)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRunnable, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from mmstudio.gui.widgets.thumbnails import ThumbnailCache, _Loaded

WAVE_COLOR = "#3d7bd9"  # the audio preview's blue: readable on light and dark cards


def draw_waveform(path: str, size: int) -> QImage:
    """A ``size`` x ``size`` transparent image of the clip's envelope; a null image when the
    file cannot be decoded (the card then says "unreadable")."""
    from mmstudio.data import read_audio
    from mmstudio.data.preview import waveform_envelope

    try:
        wave, rate = read_audio(path)
    except Exception:  # noqa: BLE001 - any decoding failure is shown the same way
        return QImage()
    _, lo, hi = waveform_envelope(wave, rate, points=size)
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    peak = float(max(abs(lo).max(), abs(hi).max())) if len(lo) else 0.0
    if peak <= 0:
        return image
    painter = QPainter(image)
    painter.setPen(QPen(QColor(WAVE_COLOR), 1))
    mid, half = size / 2, size / 2 - 2
    step = size / len(lo)
    for i, (a, b) in enumerate(zip(lo, hi)):  # one vertical stroke per bucket: min to max
        x = i * step + step / 2
        painter.drawLine(QPointF(x, mid - b / peak * half), QPointF(x, mid - a / peak * half - 0.5))
    painter.end()
    return image


class _WaveJob(QRunnable):
    def __init__(self, path: str, size: int, sink: _Loaded) -> None:
        super().__init__()
        self.path, self.size, self.sink = path, size, sink

    def run(self) -> None:  # worker thread: QImage and QPainter on it are safe here
        self.sink.loaded.emit(self.path, draw_waveform(self.path, self.size))


class WaveformCache(ThumbnailCache):
    """Waveform pictures of clips, by path: ``get`` returns one or None and starts drawing it."""

    def get(self, path: str):
        pixmap = self._cache.get(path)
        if pixmap is not None:
            self._cache.move_to_end(path)
            return pixmap
        if path not in self._pending:
            job = self._pending[path] = _WaveJob(path, self.size, self._sink)  # type: ignore[assignment]
            job.setAutoDelete(False)
            self._pool.start(job)
        return None

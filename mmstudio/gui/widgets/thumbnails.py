"""Thumbnails decoded off the GUI thread, cached, and announced by a signal when ready."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap


class _Loaded(QObject):
    loaded = Signal(str, QImage)


class _LoadJob(QRunnable):
    def __init__(self, path: str, size: int, sink: _Loaded) -> None:
        super().__init__()
        self.path, self.size, self.sink = path, size, sink

    def run(self) -> None:  # worker thread: QImage (unlike QPixmap) is safe here
        reader = QImageReader(self.path)
        reader.setAutoTransform(True)
        original = reader.size()
        if original.isValid() and (original.width() > self.size or original.height() > self.size):
            reader.setScaledSize(original.scaled(QSize(self.size, self.size), Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        self.sink.loaded.emit(self.path, image)  # a null QImage marks an unreadable file


class ThumbnailCache(QObject):
    """``get(path)`` returns a cached pixmap or None and starts loading it; ``ready`` follows."""

    ready = Signal(str)

    def __init__(self, size: int = 48, capacity: int = 4000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size
        self.capacity = capacity
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        # path -> job: holding the Python object keeps PySide from collecting it before it runs.
        self._pending: dict[str, _LoadJob] = {}
        self._sink = _Loaded()
        self._sink.loaded.connect(self._on_loaded)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)

    def get(self, path: str) -> QPixmap | None:
        pixmap = self._cache.get(path)
        if pixmap is not None:
            self._cache.move_to_end(path)
            return pixmap
        if path not in self._pending:
            job = self._pending[path] = _LoadJob(path, self.size, self._sink)
            job.setAutoDelete(False)
            self._pool.start(job)
        return None

    def clear(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(2000)  # running jobs still emit; dropped in _on_loaded
        self._cache.clear()
        self._pending.clear()

    def wait(self, msecs: int = 5000) -> bool:
        return self._pool.waitForDone(msecs)

    @Slot(str, QImage)
    def _on_loaded(self, path: str, image: QImage) -> None:
        if self._pending.pop(path, None) is None:
            return  # loaded for a dataset that has since been replaced
        self._cache[path] = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.ready.emit(path)


def show_picture(label, path: str | None, largest: int = 320) -> None:
    """An item's image in ``label``, fitted to it (at most ``largest`` px; small images stay
    sharp), or a line saying why there is none."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPixmap

    if not path:
        label.setPixmap(QPixmap())
        label.setText("No image for this item")
        return
    pixmap = QPixmap(path)
    if pixmap.isNull():
        label.setText("Image cannot be shown")
        return
    side = min(label.width(), label.height(), largest)
    fast = Qt.TransformationMode.FastTransformation
    mode = fast if pixmap.width() < 64 else Qt.TransformationMode.SmoothTransformation
    label.setPixmap(pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode))

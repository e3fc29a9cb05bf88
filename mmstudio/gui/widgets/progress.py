"""One progress strip for every long operation: what is happening, how far (percent), Cancel.

The message says what is being done (with its count when the work has one: "Decoding image:
1,024/10,000"); the bar says how far, in percent. Cancel is shown only where the work can stop.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget


class ProgressStrip(QWidget):
    """``start(message)``, ``set_progress(fraction, message)``, ``finish()``; emits ``cancelled``."""

    cancelled = Signal()

    def __init__(self, cancel_text: str = "Cancel", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressStrip")
        self.label = QLabel("")
        self.label.setObjectName("progressMessage")
        self.label.setMinimumWidth(220)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMinimumWidth(160)
        self.bar.setFormat("%p%")
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.clicked.connect(self._on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, message: str, cancellable: bool = True) -> None:
        self.bar.setValue(0)
        self.label.setText(message)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        self.show()

    @Slot(float, str)
    def set_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        if message:
            self.label.setText(message)
        self.show()

    def finish(self) -> None:
        self.hide()

    @property
    def percent(self) -> int:
        return round(self.bar.value() / 10)

    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self.cancelled.emit()

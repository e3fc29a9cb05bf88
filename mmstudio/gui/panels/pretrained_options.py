"""The Model panel's pretrained-image controls: start from published weights or not, frozen
features or fine-tuning, and a button to the weights manager (download or import files)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QPushButton, QWidget

from mmstudio import engine

TUNES = (
    (
        "Frozen features (fast)",
        "frozen",
        "The backbone stays as published: its outputs are computed once per "
        "image and cached, and only the fusion and heads train (seconds per epoch on a CPU).",
    ),
    (
        "Fine-tune last blocks",
        "finetune",
        "The last blocks of the backbone train too, at a tenth of the learning "
        "rate: slower (the backbone runs every step), sometimes more accurate.",
    ),
)


class PretrainedOptions(QWidget):
    """``changed`` fires on an edit; :meth:`weights` and :meth:`options` read it back."""

    changed = Signal()
    weights_changed = Signal(str)  # the weights name to show ("" when unchecked)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.use = QCheckBox("Pretrained")
        self.use.setToolTip(
            "Start the image encoder from its published ImageNet weights (they must be on this machine)"
        )
        self.tune = QComboBox()
        for label, value, tip in TUNES:
            self.tune.addItem(label, value)
            self.tune.setItemData(self.tune.count() - 1, tip, 3)  # Qt.ToolTipRole
        self.manage = QPushButton("Weights…")
        self.manage.setToolTip("Which pretrained weights are on this machine; download or import them")
        self.manage.clicked.connect(self._on_manage_clicked)
        self.use.toggled.connect(self._on_use_toggled)
        self.tune.currentIndexChanged.connect(self.changed)
        line = QHBoxLayout(self)
        line.setContentsMargins(0, 0, 0, 0)
        for w in (self.use, self.tune, self.manage):
            line.addWidget(w)
        self._encoder = ""

    def set_encoder(self, encoder: str, weights: str) -> None:
        """The encoder chosen and the weights it has: checked when they are its published ones."""
        self._encoder = encoder
        name = engine.default_weights(encoder)
        self.use.blockSignals(True)
        self.use.setEnabled(bool(name))
        self.use.setChecked(bool(name) and weights == name)
        self.use.blockSignals(False)
        self.tune.setEnabled(self.use.isChecked())

    def set_tune(self, options) -> None:
        self.tune.blockSignals(True)
        self.tune.setCurrentIndex(1 if dict(options).get("tune") == "finetune" else 0)
        self.tune.blockSignals(False)

    def options(self, options, encoder: str) -> dict:
        """``options`` with ``tune`` as shown (left out when frozen: the default with weights)."""
        out = {k: v for k, v in dict(options).items() if k != "tune"}
        if self.use.isChecked() and self.tune.currentData() == "finetune" and engine.default_weights(encoder):
            out["tune"] = "finetune"
        return out

    def _on_use_toggled(self, on: bool) -> None:
        self.tune.setEnabled(on)
        self.weights_changed.emit(engine.default_weights(self._encoder) if on else "")
        self.changed.emit()

    def _on_manage_clicked(self) -> None:
        from mmstudio.gui.weights_manager import WeightsDialog

        dialog = WeightsDialog(self)
        name = engine.default_weights(self._encoder)
        if name:
            dialog.manager.select(name)
        dialog.exec()
        self.changed.emit()  # files may have arrived: the run checks look again

"""The Model panel's modality rows: include or not, the encoder and its options, per modality.

Image: size, published weights (frozen or fine-tuned; see pretrained_options) or a local file; text: tokens and layers; audio: duration,
log-mel or MFCC, mel bands and layers. Edits the per-modality part of a :class:`ModelSpec`.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mmstudio import engine
from mmstudio.config import MODALITY_NAMES, ModelSpec
from mmstudio.gui.panels.pretrained_options import PretrainedOptions
from mmstudio.gui.panels.train_options import spin_box

WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth);;All files (*)"
#: Why generate's text is no input (under the text row, and the box's tooltip).
TEXT_IS_OUTPUT = "generate writes the text: it is the output (the decoder below), not an input"


class EncoderOptions(QWidget):
    """``changed`` fires on every edit; :meth:`model` reads the modalities and encoders back."""

    changed = Signal()
    WIDGETS = (
        "include",
        "encoder",
        "encoder_doc",
        "option",
        "layers",
        "weights",
        "weights_button",
        "pretrained",
        "features",
        "n_mels",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.include: dict[str, QCheckBox] = {}
        self._have: tuple[str, ...] = MODALITY_NAMES
        self._generates = False  # the task writes the text: its box is unticked and disabled
        self._text_was = False  # ticked before generate took it: ticked again after
        self.encoder: dict[str, QComboBox] = {}
        self.encoder_doc: dict[str, QLabel] = {}
        options = {
            "image": ("Image size", spin_box(16, 512, 28, 4, suffix=" px")),
            "text": ("Max tokens", spin_box(4, 512, 32, 4)),
            "audio": ("Duration", spin_box(0.2, 30.0, 1.0, 0.5, decimals=1, suffix=" s")),
        }
        self.option = {m: w for m, (_, w) in options.items()}
        extras = self._make_extras()
        for row, m in enumerate(MODALITY_NAMES):
            self.include[m] = QCheckBox(m.capitalize())
            self.encoder[m] = QComboBox()
            self.encoder_doc[m] = QLabel("")
            self.encoder_doc[m].setWordWrap(True)
            self.encoder_doc[m].setObjectName("muted")  # theme.ROLES: readable in both themes
            label, widget = options[m]
            grid.addWidget(self.include[m], 2 * row, 0)
            grid.addWidget(self.encoder[m], 2 * row, 1)
            grid.addWidget(QLabel(label), 2 * row, 2)
            grid.addWidget(widget, 2 * row, 3)
            line = QHBoxLayout()
            for w in extras[m]:
                line.addWidget(w, 1 if isinstance(w, QLineEdit) else 0)
            line.addStretch(0 if m == "image" else 1)
            doc = QVBoxLayout()
            doc.addLayout(line)
            doc.addWidget(self.encoder_doc[m])
            grid.addLayout(doc, 2 * row + 1, 1, 1, 3)
            self.include[m].toggled.connect(self.changed)
            self.encoder[m].currentIndexChanged.connect(lambda _i, m=m: self._on_encoder_changed(m))
            widget.valueChanged.connect(self.changed)
        for w in (*self.layers.values(), self.n_mels):
            w.valueChanged.connect(self.changed)
        self.features.currentIndexChanged.connect(self.changed)
        self.weights.textChanged.connect(self.changed)
        self.pretrained.changed.connect(self.changed)
        self.pretrained.weights_changed.connect(self.weights.setText)

    def _make_extras(self) -> dict[str, list[QWidget]]:
        """The per-modality options beside the size: weights file, layers, audio features."""
        self.layers = {m: spin_box(1, 12, 1) for m in ("text", "audio")}
        for w in self.layers.values():
            w.setToolTip("Depth of GRU/LSTM/Transformer encoders (not used by bag or conv nets)")
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("weights: none, published ones, or a local file (never downloaded)")
        self.weights.setToolTip("Published weights (Pretrained), or a local .safetensors/.pt file for the backbone")
        self.weights.setMinimumWidth(240)  # a weights name reads whole
        self.pretrained = PretrainedOptions()
        self.weights_button = QPushButton("…")
        self.weights_button.setFixedWidth(32)
        self.weights_button.clicked.connect(self._on_weights_clicked)
        self.features = QComboBox()
        self.features.addItems(["logmel", "mfcc"])
        self.n_mels = spin_box(8, 256, 40, 8)
        self.n_mels.setToolTip("Mel bands (MFCC coefficients come from these)")
        return {
            "image": [self.pretrained, self.weights, self.weights_button],
            "text": [QLabel("Layers"), self.layers["text"]],
            "audio": [
                QLabel("Features"),
                self.features,
                QLabel("Mels"),
                self.n_mels,
                QLabel("Layers"),
                self.layers["audio"],
            ],
        }

    # ---------------------------------------------------------------- filling
    def set_catalog(self, encoders: dict[str, list[tuple[str, str]]]) -> None:
        """The registered encoders per modality, each with its one-line description."""
        for m, names in encoders.items():
            combo = self.encoder[m]
            combo.blockSignals(True)
            combo.clear()
            for name, doc in names:
                combo.addItem(name, doc)
            combo.blockSignals(False)

    def set_available(self, have: tuple[str, ...]) -> None:
        self._have = tuple(have)
        for m in MODALITY_NAMES:
            self.include[m].setEnabled(m in have and not (m == "text" and self._generates))
            self.include[m].setToolTip("" if m in have else f"The dataset has no {m}")
        if self._generates:
            self.include["text"].setToolTip(TEXT_IS_OUTPUT)

    def set_task(self, task: str) -> None:
        """generate: the text box unticked and disabled, saying why (ticked again, as it was,
        for another task). No ``changed``: the caller is redrawing the whole run."""
        generates, box = task == "generate", self.include["text"]
        box.blockSignals(True)
        if generates and box.isChecked():
            self._text_was = True
            box.setChecked(False)
        elif not generates and self._generates and self._text_was:
            box.setChecked("text" in self._have)
            self._text_was = False
        box.blockSignals(False)
        self._generates = generates
        self.set_available(self._have)

    def set_model(self, ms: ModelSpec, mods: tuple[str, ...], have: tuple[str, ...]) -> None:
        """Show ``ms`` (the caller blocks signals while it sets a whole run; :meth:`set_task` follows)."""
        self._text_was = False
        for m in MODALITY_NAMES:
            self.include[m].setChecked(m in mods and m in have)
            i = self.encoder[m].findText(getattr(ms, m).encoder)
            if i >= 0:
                self.encoder[m].setCurrentIndex(i)
        self.option["image"].setValue(ms.image.size)
        self.option["text"].setValue(ms.text.max_tokens)
        self.option["audio"].setValue(ms.audio.seconds)
        self.weights.setText(ms.image.weights)
        self.pretrained.set_encoder(ms.image.encoder, ms.image.weights)
        self.pretrained.set_tune(ms.image.options)
        self.features.setCurrentText(ms.audio.features)
        self.n_mels.setValue(ms.audio.n_mels)
        for m in ("text", "audio"):
            sub = getattr(ms, m)
            self.layers[m].setValue(int(sub.options.get("layers", default_depth(m, sub.encoder) or 1)))

    # ---------------------------------------------------------------- reading
    def included(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITY_NAMES if self.include[m].isChecked())

    def model(self, ms: ModelSpec) -> ModelSpec:
        """``ms`` with the included modalities and each modality's encoder and options."""
        text_encoder = self.encoder["text"].currentText() or ms.text.encoder
        text = engine.with_text_encoder(ms.text, text_encoder)
        audio_encoder = self.encoder["audio"].currentText() or ms.audio.encoder
        return ms.replace(
            modalities=self.included(),
            image=dataclasses.replace(
                ms.image,
                encoder=self.encoder["image"].currentText() or ms.image.encoder,
                size=self.option["image"].value(),
                weights=self.weights.text().strip(),
                options=self.pretrained.options(ms.image.options, self.encoder["image"].currentText()),
            ),
            text=dataclasses.replace(
                text,
                max_tokens=self.option["text"].value(),
                options=_layers(text.options, "text", text_encoder, self.layers["text"].value()),
            ),
            audio=dataclasses.replace(
                ms.audio,
                encoder=audio_encoder,
                seconds=round(self.option["audio"].value(), 2),
                features=self.features.currentText(),
                n_mels=self.n_mels.value(),
                options=_layers(ms.audio.options, "audio", audio_encoder, self.layers["audio"].value()),
            ),
        )

    def refresh(self) -> None:
        """Enable what applies to the included modalities and encoders; show encoder docs."""
        for m, combo in self.encoder.items():
            self.encoder_doc[m].setText(combo.currentData() or "")
            on = self.include[m].isChecked()
            combo.setEnabled(on)
            self.option[m].setEnabled(on or (m == "text" and self._generates))  # the length it writes
            if m in self.layers:
                self.layers[m].setEnabled(on and default_depth(m, combo.currentText()) is not None)
        if self._generates:
            self.encoder_doc["text"].setText(TEXT_IS_OUTPUT)
        image, audio = self.include["image"].isChecked(), self.include["audio"].isChecked()
        self.weights.setEnabled(image)
        self.weights_button.setEnabled(image)
        self.pretrained.setEnabled(image)
        for w in (self.features, self.n_mels):
            w.setEnabled(audio)

    def _on_encoder_changed(self, modality: str) -> None:
        """Another encoder: its own default depth (a transformer's is 2, a GRU's 1); another
        image backbone: its own published weights when Pretrained is on."""
        if modality == "image":
            self._on_image_encoder_changed()
        if modality in self.layers:
            spin = self.layers[modality]
            spin.blockSignals(True)
            spin.setValue(default_depth(modality, self.encoder[modality].currentText()) or 1)
            spin.blockSignals(False)
        self.changed.emit()

    def _on_image_encoder_changed(self) -> None:
        encoder, was = self.encoder["image"].currentText(), self.pretrained.use.isChecked()
        name = engine.default_weights(encoder)
        if was or self.weights.text() in [r["name"] for r in engine.weights_list()]:
            self.weights.setText(name if was else "")
        self.pretrained.set_encoder(encoder, self.weights.text())

    def _on_weights_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Pretrained Image Weights", "", WEIGHTS_FILTER)
        if path:
            self.weights.setText(path)


def default_depth(modality: str, encoder: str) -> int | None:
    """The encoder's default ``layers`` from its registry entry; None when depth is not an option."""
    try:
        entry = engine.component(modality, encoder)
    except KeyError:
        return None
    return int(entry.options["layers"]) if entry.layered else None


def _layers(options, modality: str, encoder: str, layers: int) -> dict:
    """Encoder options with the depth set for encoders that have one (and dropped otherwise)."""
    out = {k: v for k, v in dict(options).items() if k != "layers"}
    default = default_depth(modality, encoder)
    if default is not None and layers != default:
        out["layers"] = layers
    return out

"""The Model panel's training options: epochs, batch, optimiser and schedule, regularisation,
validation, precision and device. Edits the :class:`TrainSpec` part of a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QSpinBox, QWidget

from mmstudio.config import OPTIMIZERS, PRECISIONS, SCHEDULES, TrainSpec

DEVICES = ("auto", "cpu", "cuda")


def spin_box(lo, hi, value=0, step=1, decimals=None, suffix=""):
    """A QSpinBox, or a QDoubleSpinBox when ``decimals`` is given."""
    box = QDoubleSpinBox() if decimals is not None else QSpinBox()
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    if suffix:
        box.setSuffix(suffix)
    return box


@dataclass(frozen=True)
class Field:
    """One row of the form: the widget's attribute name, the TrainSpec field it edits, its label,
    how to make it and its tooltip. The table below is the one mapping between the two."""

    attr: str
    field: str
    label: str
    make: Callable[[], QWidget]
    tip: str = ""


def _combo(items) -> Callable[[], QComboBox]:
    def make() -> QComboBox:
        box = QComboBox()
        box.addItems(items)
        return box

    return make


def _check(text: str) -> Callable[[], QCheckBox]:
    return lambda: QCheckBox(text)


def _spin(*args, **kw) -> Callable[[], QWidget]:
    return lambda: spin_box(*args, **kw)


#: The form, in reading order. ``gpus`` and ``val_split`` are special: the GPU count is not part
#: of TrainSpec (it picks the number of processes) and the validation choices come from the data.
FIELDS = (
    Field("epochs", "epochs", "Epochs", _spin(1, 10_000, 10)),
    Field("batch", "batch_size", "Batch size", _spin(1, 65_536, 64, 16)),
    Field(
        "auto_batch",
        "auto_batch",
        "",
        _check("Largest that fits (CUDA)"),
        "Probe the GPU before training for the largest batch that fits "
        "(the batch size above is where the probe starts)",
    ),
    Field("optimizer", "optimizer", "Optimiser", _combo(OPTIMIZERS)),
    Field("lr", "lr", "Learning rate", _spin(1e-6, 10.0, 1e-3, 1e-4, decimals=6)),
    Field(
        "schedule",
        "schedule",
        "Schedule",
        _combo(SCHEDULES),
        "cosine: warm up, then decay to zero; constant: warm up, then hold",
    ),
    Field("warmup", "warmup_epochs", "Warm-up", _spin(0.0, 100.0, 0.5, 0.5, decimals=1, suffix=" epochs")),
    Field("weight_decay", "weight_decay", "Weight decay", _spin(0.0, 1.0, 1e-4, 1e-4, decimals=6)),
    Field(
        "l1", "l1", "L1", _spin(0.0, 1.0, 0.0, 1e-5, decimals=6), "L1 penalty on the weights (sparsity); 0 turns it off"
    ),
    Field("dropout", "dropout", "Dropout", _spin(0.0, 0.9, 0.1, 0.05, decimals=2)),
    Field(
        "modality_dropout",
        "modality_dropout",
        "Modality dropout",
        _spin(0.0, 0.9, 0.0, 0.05, decimals=2),
        "Chance of hiding one modality of a sample while training, so the model copes when one is missing",
    ),
    Field(
        "val_split",
        "val_split",
        "Validate on",
        QComboBox,
        "The split scored after each epoch (best checkpoint, early stopping). auto: the 'val' split, "
        "else 10% of train held out (stratified, from the seed); none: no validation",
    ),
    Field(
        "early_stopping",
        "early_stopping",
        "Early stopping",
        _spin(0, 1000, 0),
        "Stop after this many epochs without a better validation score",
    ),
    Field(
        "precision",
        "precision",
        "Precision",
        _combo(PRECISIONS),
        "auto: bf16 on CUDA where supported, fp32 on CPU (mixed precision is for CUDA only; on CPU it is far slower)",
    ),
    Field("device", "device", "Device", _combo(DEVICES)),
    Field("gpus", "", "GPUs", _spin(1, 64, 1), "Train on several GPUs with torchrun (DistributedDataParallel)"),
    Field(
        "compile",
        "compile",
        "",
        _check("torch.compile"),
        "Compile the model before training: faster steps on CUDA after a slow first one (minutes); "
        "rarely worth it on the CPU",
    ),
    Field("seed", "seed", "Seed", _spin(0, 2**31 - 1, 0)),
)


def _value(widget: QWidget) -> Any:
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    return widget.value()  # type: ignore[attr-defined]  # a spin box


def _show(widget: QWidget, value: Any) -> None:
    if isinstance(widget, QComboBox):
        widget.setCurrentText(str(value))
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value) and widget.isEnabled())
    else:
        widget.setValue(value)  # type: ignore[attr-defined]  # a spin box


class TrainOptions(QGroupBox):
    """``changed`` fires on every edit; :meth:`train` reads a TrainSpec back. Built from
    :data:`FIELDS`: each widget is an attribute of the same name (``options.batch``)."""

    changed = Signal()
    WIDGETS = tuple(f.attr for f in FIELDS)
    # the widgets this class uses by name (the others are reached through FIELDS)
    early_stopping: QSpinBox
    auto_batch: QCheckBox
    gpus: QSpinBox
    gpus_label: QLabel
    val_split: QComboBox

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        form = QFormLayout(self)
        self.gpu_list: list[dict] = []
        for f in FIELDS:
            widget = f.make()
            widget.setToolTip(f.tip)
            setattr(self, f.attr, widget)
            if f.attr == "gpus":
                self.gpus_label = QLabel(f.label)
                form.addRow(self.gpus_label, widget)
            else:
                form.addRow(f.label, widget)
            signal = (
                getattr(widget, "valueChanged", None)
                or getattr(widget, "currentIndexChanged", None)
                or getattr(widget, "toggled")  # noqa: B009  # a check box: the last kind
            )
            signal.connect(self.changed)
        self.early_stopping.setSpecialValueText("off")
        self.set_gpus([])

    def set_gpus(self, gpus: list[dict]) -> None:
        """Offer CUDA-only options only where CUDA is; "GPUs: N" only with several GPUs."""
        self.gpu_list = gpus
        self.auto_batch.setEnabled(bool(gpus))
        if not gpus:
            self.auto_batch.setChecked(False)
            self.auto_batch.setToolTip("Needs a CUDA GPU; none was found")
        self.gpus.setRange(1, max(1, len(gpus)))
        for w in (self.gpus, self.gpus_label):
            w.setVisible(len(gpus) > 1)

    def processes(self) -> int:
        """Training processes to start: the GPUs box where several GPUs are, else one."""
        return self.gpus.value() if len(self.gpu_list) > 1 else 1

    def set_train(self, tr: TrainSpec, splits: list[str]) -> None:
        """Show ``tr``; ``splits`` are the dataset's splits other than train (for validation)."""
        widgets = [getattr(self, n) for n in self.WIDGETS]
        for w in widgets:
            w.blockSignals(True)
        try:
            self.val_split.clear()
            choices = ["auto", *splits, "none"]
            self.val_split.addItems(choices if tr.val_split in choices else [*choices, tr.val_split])
            for f in FIELDS:
                if f.field:
                    _show(getattr(self, f.attr), getattr(tr, f.field))
        finally:
            for w in widgets:
                w.blockSignals(False)

    def train(self, base: TrainSpec) -> TrainSpec:
        """``base`` with every field of the form as shown (an empty validation choice keeps base's)."""
        values = {f.field: _value(getattr(self, f.attr)) for f in FIELDS if f.field}
        values["val_split"] = values["val_split"] or base.val_split
        return base.replace(**values)

"""The Model panel's training options: epochs, batch, optimiser and schedule, regularisation,
validation, precision and device. Edits the :class:`TrainSpec` part of a run."""

from __future__ import annotations

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


class TrainOptions(QGroupBox):
    """``changed`` fires on every edit; :meth:`train` reads a TrainSpec back."""

    changed = Signal()
    WIDGETS = (
        "epochs",
        "batch",
        "optimizer",
        "lr",
        "weight_decay",
        "dropout",
        "modality_dropout",
        "device",
        "seed",
        "schedule",
        "warmup",
        "l1",
        "precision",
        "early_stopping",
        "auto_batch",
        "gpus",
        "val_split",
        "compile",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        form = QFormLayout(self)
        self.gpu_list: list[dict] = []
        self.epochs = spin_box(1, 10_000, 10)
        self.batch = spin_box(1, 65_536, 64, 16)
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.lr = spin_box(1e-6, 10.0, 1e-3, 1e-4, decimals=6)
        self.weight_decay = spin_box(0.0, 1.0, 1e-4, 1e-4, decimals=6)
        self.dropout = spin_box(0.0, 0.9, 0.1, 0.05, decimals=2)
        self.modality_dropout = spin_box(0.0, 0.9, 0.0, 0.05, decimals=2)
        self.modality_dropout.setToolTip(
            "Chance of hiding one modality of a sample while training, so the model copes when one is missing"
        )
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.compile = QCheckBox("torch.compile")
        self.compile.setToolTip(
            "Compile the model before training: faster steps on CUDA after a "
            "slow first one (minutes); rarely worth it on the CPU"
        )
        self.seed = spin_box(0, 2**31 - 1, 0)
        self.schedule = QComboBox()
        self.schedule.addItems(SCHEDULES)
        self.schedule.setToolTip("cosine: warm up, then decay to zero; constant: warm up, then hold")
        self.warmup = spin_box(0.0, 100.0, 0.5, 0.5, decimals=1, suffix=" epochs")
        self.l1 = spin_box(0.0, 1.0, 0.0, 1e-5, decimals=6)
        self.l1.setToolTip("L1 penalty on the weights (sparsity); 0 turns it off")
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setToolTip(
            "auto: bf16 on CUDA where supported, fp32 on CPU (mixed precision "
            "is for CUDA only; on CPU it is far slower)"
        )
        self.early_stopping = spin_box(0, 1000, 0)
        self.early_stopping.setSpecialValueText("off")
        self.early_stopping.setToolTip("Stop after this many epochs without a better validation score")
        self.auto_batch = QCheckBox("Largest that fits (CUDA)")
        self.auto_batch.setToolTip(
            "Probe the GPU before training for the largest batch that fits "
            "(the batch size above is where the probe starts)"
        )
        self.gpus = spin_box(1, 64, 1)
        self.gpus.setToolTip("Train on several GPUs with torchrun (DistributedDataParallel)")
        self.gpus_label = QLabel("GPUs")
        self.val_split = QComboBox()
        self.val_split.setToolTip(
            "The split scored after each epoch (best checkpoint, early "
            "stopping). auto: the 'val' split, else 10% of train held out "
            "(stratified, from the seed); none: no validation"
        )
        rows = [
            ("Epochs", self.epochs),
            ("Batch size", self.batch),
            ("", self.auto_batch),
            ("Optimiser", self.optimizer),
            ("Learning rate", self.lr),
            ("Schedule", self.schedule),
            ("Warm-up", self.warmup),
            ("Weight decay", self.weight_decay),
            ("L1", self.l1),
            ("Dropout", self.dropout),
            ("Modality dropout", self.modality_dropout),
            ("Validate on", self.val_split),
            ("Early stopping", self.early_stopping),
            ("Precision", self.precision),
            ("Device", self.device),
            (self.gpus_label, self.gpus),
            ("", self.compile),
            ("Seed", self.seed),
        ]
        for label, widget in rows:
            form.addRow(label, widget)  # type: ignore[call-overload]  # label: str or QLabel, both exist
            signal = (
                getattr(widget, "valueChanged", None) or getattr(widget, "currentIndexChanged", None) or widget.toggled
            )
            signal.connect(self.changed)
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
            self.val_split.setCurrentText(tr.val_split)
            for combo, text in (
                (self.optimizer, tr.optimizer),
                (self.device, tr.device),
                (self.schedule, tr.schedule),
                (self.precision, tr.precision),
            ):
                combo.setCurrentText(text)
            self.epochs.setValue(tr.epochs)
            self.batch.setValue(tr.batch_size)
            self.lr.setValue(tr.lr)
            self.warmup.setValue(tr.warmup_epochs)
            self.weight_decay.setValue(tr.weight_decay)
            self.l1.setValue(tr.l1)
            self.dropout.setValue(tr.dropout)
            self.modality_dropout.setValue(tr.modality_dropout)
            self.early_stopping.setValue(tr.early_stopping)
            self.seed.setValue(tr.seed)
            self.auto_batch.setChecked(tr.auto_batch and self.auto_batch.isEnabled())
            self.compile.setChecked(tr.compile)
        finally:
            for w in widgets:
                w.blockSignals(False)

    def train(self, base: TrainSpec) -> TrainSpec:
        return base.replace(
            epochs=self.epochs.value(),
            batch_size=self.batch.value(),
            optimizer=self.optimizer.currentText(),
            lr=self.lr.value(),
            weight_decay=self.weight_decay.value(),
            dropout=self.dropout.value(),
            modality_dropout=self.modality_dropout.value(),
            device=self.device.currentText(),
            seed=self.seed.value(),
            schedule=self.schedule.currentText(),
            warmup_epochs=self.warmup.value(),
            l1=self.l1.value(),
            precision=self.precision.currentText(),
            early_stopping=self.early_stopping.value(),
            auto_batch=self.auto_batch.isChecked(),
            compile=self.compile.isChecked(),
            val_split=self.val_split.currentText() or base.val_split,
        )

"""The New Experiment dialog: a fusion grid or a hyperparameter search from the run the Model
panel holds. The plan is built by the engine (``engine.grid_plan`` / ``engine.search_plan``),
which refuses what cannot be an experiment with a message shown here."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mmstudio import engine


class NewExperimentDialog(QDialog):
    """``plan`` holds the engine's plan once the dialog is accepted."""

    def __init__(self, run, modalities: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Experiment")
        self.run = run
        self.plan = None
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.addItem("Fusion grid: each modality alone, then every fusion", "grid")
        self.kind.addItem("Hyperparameter search (Optuna), from the automatic settings", "search")
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        form.addRow("Kind", self.kind)
        self.name = QLineEdit(run.name)
        form.addRow("Name", self.name)
        row = QHBoxLayout()
        self.modalities: dict[str, QCheckBox] = {}
        for m in modalities:
            box = QCheckBox(m)
            box.setChecked(True)
            self.modalities[m] = box
            row.addWidget(box)
        form.addRow("Modalities", _boxed(row))
        self.fusions = QListWidget()
        for name, help_text in engine.fusion_names():
            item = QListWidgetItem(name)
            item.setToolTip(help_text)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.fusions.addItem(item)
        self.fusions.setMaximumHeight(150)
        form.addRow("Fusions", self.fusions)
        self.seeds = QSpinBox(minimum=1, maximum=20, value=3)
        self.seeds.setToolTip("Each configuration trains once per seed (0, 1, 2, ...): the table shows mean ± sd")
        form.addRow("Seeds", self.seeds)
        self.trials = QSpinBox(minimum=1, maximum=1000, value=20)
        form.addRow("Trials", self.trials)
        self.minutes = QDoubleSpinBox(minimum=0, maximum=100_000, value=0, suffix=" min")
        self.minutes.setSpecialValueText("no time limit")
        form.addRow("Time limit", self.minutes)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._on_kind_changed()

    def _on_kind_changed(self) -> None:
        grid = self.kind.currentData() == "grid"
        self.fusions.setEnabled(grid)
        self.seeds.setEnabled(grid)
        self.trials.setEnabled(not grid)
        self.minutes.setEnabled(not grid)

    def chosen_modalities(self) -> tuple[str, ...]:
        return tuple(m for m, box in self.modalities.items() if box.isChecked())

    def chosen_fusions(self) -> tuple[str, ...]:
        items = (self.fusions.item(i) for i in range(self.fusions.count()))
        return tuple(i.text() for i in items if i.checkState() == Qt.CheckState.Checked)

    def _on_accept(self) -> None:
        mods = self.chosen_modalities()
        name = self.name.text().strip()
        try:
            if self.kind.currentData() == "grid":
                seeds = tuple(range(self.seeds.value()))
                self.plan = engine.grid_plan(self.run, mods, self.chosen_fusions(), seeds, name=name)
            else:
                run = self.run.replace(model=self.run.model.replace(modalities=mods))
                self.plan = engine.search_plan(run, self.trials.value(), self.minutes.value() * 60, name=name)
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def _boxed(layout) -> QWidget:
    w = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    w.setLayout(layout)
    return w

"""The Model panel: modalities and their encoders, fusion, task and hyperparameters of one run.

It edits a :class:`RunConfig` (the same one ``run.toml`` holds). Engine names (encoders, fusions,
parameter counts) load torch, so they are fetched only once a dataset arrives, in the panel's lane.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpacerItem,
    QVBoxLayout,
    QWidget,
)

from mmstudio import engine
from mmstudio.config import MODALITY_NAMES, TASKS, RunConfig
from mmstudio.data import Dataset
from mmstudio.gui.jobs import Lane
from mmstudio.gui.panels import model_files
from mmstudio.gui.panels.encoder_options import EncoderOptions
from mmstudio.gui.panels.model_texts import estimate_text, fusion_doc_html, suggest_run
from mmstudio.gui.panels.preset_bar import PresetBar
from mmstudio.gui.panels.train_options import TrainOptions, spin_box
from mmstudio.gui.widgets.fusion_diagram import FusionDiagram

_spin = spin_box


class ModelPanel(QWidget):
    """Builds a run for the loaded dataset; ``start_requested(RunConfig, Dataset)`` starts it."""

    start_requested = Signal(object, object)
    status = Signal(str)
    suggested = Signal()  # a first run for a newly loaded dataset is shown (projects restore theirs)
    estimated = Signal(dict)  # the engine's size estimate of the run shown (engine.memory_estimate)

    def __init__(self) -> None:
        super().__init__()
        self.dataset: Dataset | None = None
        self._base: RunConfig | None = None
        self._catalog: dict | None = None
        self._loading = False
        self.chosen: list[dict] = []  # settings chosen from the data: field, value, reason
        self._pending = False
        self._facts = None  # what the rules need to know of the dataset (engine.DatasetFacts)
        self._gpus: int | None = None  # CUDA devices, once the engine has looked (None: unknown)
        self._loaded_notes: list[str] = []  # what was wrong with the last run loaded, until an edit
        # The panel's torch work (the first suggestion, estimates) runs here, in order, off the
        # GUI thread and off Qt's global pool (see jobs.py)
        self.lane = Lane(self)
        self.parameters = 0
        self._count_timer = QTimer(self, singleShot=True, interval=250)
        self._count_timer.timeout.connect(self._update_count)
        self._build()
        self._set_enabled(False)

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        title = QLabel("<h2>Model</h2>Choose an encoder per modality, a fusion method, a task and how to train.")
        outer.addWidget(title)
        self.hint = QLabel("Open a dataset in the Data panel first.")
        self.hint.setWordWrap(True)
        outer.addWidget(self.hint)
        self.presets = PresetBar()
        self.presets.preset_chosen.connect(self.apply_preset)
        self.presets.load.connect(lambda: model_files.load_dialog(self))
        self.presets.save.connect(lambda: model_files.save_dialog(self))
        self.auto_label, self.load_button, self.save_button = (
            self.presets.auto_label,
            self.presets.load_button,
            self.presets.save_button,
        )
        self.quick_button, self.accurate_button = self.presets.buttons["quick"], self.presets.buttons["accurate"]
        outer.addWidget(self.presets)

        body = QWidget()
        cols = QHBoxLayout(body)
        cols.addWidget(self._build_model_box(), 3)
        cols.addWidget(self._build_train_box(), 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        bottom = QHBoxLayout()
        self.count_label = QLabel("Parameters: –")
        self.count_label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)
        # room for the longest count: beside a wrapping label it was squeezed to "Parameters: 0"
        self.count_label.setMinimumWidth(
            self.count_label.fontMetrics().horizontalAdvance("Parameters: 000.00 M · memory ≈ 00,000 MiB")
        )
        self.problem_label = QLabel("")
        self.problem_label.setObjectName("problem")
        self.problem_label.setStyleSheet("color: #b3261e;")
        self.problem_label.setWordWrap(True)
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self._on_start_clicked)
        bottom.addWidget(self.count_label)
        bottom.addWidget(self.problem_label, 1)
        bottom.addWidget(self.start_button)
        outer.addLayout(bottom)

    def _build_model_box(self) -> QWidget:
        box = QGroupBox("Modalities and encoders")
        grid = QGridLayout(box)
        self.encoders = EncoderOptions()
        self.encoders.changed.connect(self._on_changed)
        for name in EncoderOptions.WIDGETS:  # the panel's own names, as tests and scripts use them
            setattr(self, name, getattr(self.encoders, name))
        grid.addWidget(self.encoders, 0, 0, 1, 4)
        form = QFormLayout()
        self.dim = _spin(8, 2048, 64, 32)
        self.dim.setToolTip("Feature size each encoder outputs (the fusion's input)")
        self.fusion = QComboBox()
        self.fusion_doc = QLabel("")  # one line each: wrapping made the form row too tall
        self.task = QComboBox()
        self.task.addItems(TASKS)
        self.task.setToolTip("\n".join(f"{t}: {text}" for t, text in engine.TASK_HELP.items()))
        self.decoder = QComboBox()  # generate's text decoder; the names come from the engine's registry
        for name, doc in engine.catalog()["decoders"].items():
            self.decoder.addItem(name, doc)
            self.decoder.setItemData(self.decoder.count() - 1, doc, Qt.ItemDataRole.ToolTipRole)
        form.addRow("Embedding size", self.dim)
        form.addRow("Fusion", self.fusion)
        form.addRow("", self.fusion_doc)
        self.diagram = FusionDiagram()
        form.addRow("", self.diagram)
        form.addRow("Task", self.task)
        form.addRow("Decoder", self.decoder)
        grid.addLayout(form, 1, 0, 1, 4)
        grid.addItem(QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding), 2, 0)
        for w in (self.dim,):
            w.valueChanged.connect(self._on_changed)
        self.fusion.currentIndexChanged.connect(self._on_changed)
        self.task.currentIndexChanged.connect(self._on_changed)
        self.decoder.currentIndexChanged.connect(self._on_changed)
        return box

    def _build_train_box(self) -> QWidget:
        self.train_options = TrainOptions()
        self.train_options.changed.connect(self._on_changed)
        for name in TrainOptions.WIDGETS:  # the panel's own names, as tests and scripts use them
            setattr(self, name, getattr(self.train_options, name))
        return self.train_options

    @property
    def gpu_list(self) -> list[dict]:
        return self.train_options.gpu_list

    def processes(self) -> int:
        """How many training processes Start asks for (one per GPU chosen; 1 on CPU)."""
        return self.train_options.processes()

    def _set_enabled(self, on: bool) -> None:
        for w in self.findChildren(QGroupBox):
            w.setEnabled(on)
        self.presets.set_enabled(on)
        self.start_button.setEnabled(on and not self.problems())

    # ---------------------------------------------------------------- dataset and engine names
    @Slot(object)
    def set_dataset(self, dataset) -> None:
        """A dataset was loaded: suggest a first run for it (in a worker: this imports torch).
        ``None`` (a new project): nothing of the last dataset's model stays offered."""
        if dataset is None:
            self.lane.cancel()  # a suggestion in flight for the old dataset delivers nothing
            self.dataset, self._facts, self._pending, self._loading = None, None, False, False
            self._set_enabled(False)
            self.hint.setText("Open a dataset in the Data panel first.")
            self.presets.show_chosen([])
            self.count_label.setText("Parameters: –")
            return
        self.dataset = dataset
        self._facts = engine.DatasetFacts.of(dataset)
        self._pending = True
        self._set_enabled(False)
        self.hint.setText(f"{len(dataset.items)} items loaded; the model builder opens with this panel.")
        if self.isVisible():
            self._suggest()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending and not self._loading:
            self._suggest()

    def _suggest(self) -> None:
        """Fetch engine names and a suggested run (in a worker: the first use imports torch)."""
        dataset = self.dataset
        if dataset is None:
            return
        self._pending = False
        self._loading = True
        self.hint.setText(f"Preparing a first model for {len(dataset.items)} items…")
        self.lane.submit(suggest_run, dataset, on_done=self._on_suggested, on_error=self._on_suggest_failed)

    def _on_suggested(self, result) -> None:
        run, catalog = result
        self._loading = False
        dataset = self.dataset
        if dataset is None:
            return
        self.chosen = catalog.get("chosen", [])
        self.presets.show_chosen(self.chosen)
        self._catalog = catalog
        self.encoders.set_catalog(catalog["encoders"])
        self.fusion.blockSignals(True)
        self.fusion.clear()
        for name, doc in catalog["fusions"]:
            self.fusion.addItem(name, doc)
        self.fusion.blockSignals(False)
        have = tuple(dataset.modalities)
        classes = len(dataset.class_names)
        self.hint.setText(
            f"{len(dataset.items)} items · {', '.join(have)} · {classes} classes. A first model is suggested below."
        )
        self.encoders.set_available(have)
        self.train_options.set_gpus(catalog.get("gpus", []))
        self._gpus = len(catalog.get("gpus", []))
        self.presets.set_gpus(self._gpus)
        self.set_config(run)
        self._set_enabled(True)
        self._count_timer.stop()  # the count at once, not after the first edit
        self._on_estimated(catalog["estimate"]) if catalog.get("estimate") else self._update_count()
        self.status.emit("Model: first run suggested")
        self.suggested.emit()
        if self._pending:  # another dataset arrived meanwhile
            self._suggest()

    def _on_suggest_failed(self, error: BaseException) -> None:
        self._loading = False
        self.hint.setText(f"Cannot build a model for this dataset: {error}")
        self.status.emit(f"Model: {error}")

    # ---------------------------------------------------------------- config <-> widgets
    def set_config(self, run: RunConfig) -> None:
        """Show ``run``. Its problems (engine.check) are noted first: an unknown encoder or
        fusion cannot be shown by the lists, so it is named in the problem line instead."""
        self._loaded_notes = [
            f"the run loaded had {p.field} {p.message}"
            for p in self._check(run)
            if p.field.endswith(("encoder", "fusion", "options"))
        ]
        self._base = run
        ms, tr = run.model, run.train
        have = tuple(self.dataset.modalities) if self.dataset is not None else MODALITY_NAMES
        mods = ms.modalities or have
        blocked = [w for w in self.findChildren(QWidget)]
        for w in blocked:
            w.blockSignals(True)
        try:
            self.encoders.set_model(ms, mods, have)
            splits = [s for s in self.dataset.splits() if s != "train"] if self.dataset is not None else []
            self.train_options.set_train(tr, splits)
            self.dim.setValue(ms.dim)
            for combo, text in ((self.fusion, ms.fusion), (self.task, ms.task), (self.decoder, ms.decoder)):
                i = combo.findText(text)
                if i >= 0:
                    combo.setCurrentIndex(i)
        finally:
            for w in blocked:
                w.blockSignals(False)
        self._refresh()

    def restore_saved(self, run: RunConfig, what: str = "the project's saved model settings") -> None:
        """Show a run saved earlier; the explanation says whose settings they are (not the data's)."""
        self.chosen = []
        self.set_config(run)
        self.presets.show_saved(what)

    def config(self) -> RunConfig | None:
        """The run the widgets describe, or None before a dataset is loaded."""
        if self._base is None:
            return None
        ms, tr = self._base.model, self._base.train
        model = self.encoders.model(ms).replace(
            dim=self.dim.value(),
            embed_dim=self.dim.value(),
            fusion=self.fusion.currentText() or ms.fusion,
            task=self.task.currentText(),
            decoder=self.decoder.currentText() or ms.decoder,
        )
        train = self.train_options.train(tr)
        return self._base.replace(model=model, train=train)

    def problems(self) -> list[str]:
        """Why the current combination cannot train (empty when it can): the engine's rules."""
        run = self.config()
        if run is None or self.dataset is None:
            return ["open a dataset first"]
        # No box ticked reads as modalities=() which, in a run, means "all the dataset has": the
        # panel's own state, so it is the one rule kept here.
        none = [] if self.encoders.included() else ["include at least one modality: the fusion needs something to fuse"]
        return none + [p.message for p in self._check(run)]

    def _check(self, run: RunConfig) -> list:
        """``engine.check`` on the loaded dataset (no torch: instant, on this thread)."""
        return engine.check(run, self._facts, gpus=self._gpus) if self._facts is not None else []

    # ---------------------------------------------------------------- reactions
    @Slot()
    def _on_changed(self, *_args) -> None:
        """An edit by the user: the notes about the run as loaded no longer apply."""
        self._loaded_notes = []
        self._refresh()

    def _refresh(self) -> None:
        task = self.task.currentText()
        self.encoders.set_task(task)  # generate writes the text: not an input
        self.encoders.refresh()
        generates = task == "generate"
        self.decoder.setEnabled(generates)
        self.diagram.set_model(self.encoders.included(), self.fusion.currentText(), task, self.decoder.currentText())
        one = len(self.encoders.included()) <= 1  # nothing to fuse: the choice is not offered
        self.fusion.setEnabled(not one and not generates)
        level = engine.fusion_level(self.fusion.currentText())
        self.fusion_doc.setText(fusion_doc_html(self.fusion.currentData() or "", level, one, generates))
        problems = self.problems()
        self.problem_label.setText(" · ".join(self._loaded_notes + problems))
        self.start_button.setEnabled(self._base is not None and not problems)
        self.start_button.setToolTip(
            "Cannot start: " + "; ".join(problems) if problems else "Train this model in the Train panel"
        )
        if self._base is not None:
            self._count_timer.start()

    def _update_count(self) -> None:
        run = self.config()
        if run is None or self.dataset is None or not run.model.modalities:
            self.count_label.setText("Parameters: –")
            return
        self.lane.submit(
            engine.memory_estimate,
            run,
            dataset=self.dataset,  # the vocabulary, channels and classes training builds from it
            slot="estimate",
            on_done=self._on_estimated,
            on_error=self._on_estimate_failed,
        )

    def _on_estimate_failed(self, exc: BaseException) -> None:
        """An option the model cannot take (found when the meta model is built): say which."""
        self.count_label.setText("Parameters: ?")
        self.problem_label.setText(f"This model cannot be built: {exc}")
        self.start_button.setEnabled(False)

    def _on_estimated(self, est: dict) -> None:
        text, tip = estimate_text(est)
        self.count_label.setText(text)
        self.count_label.setToolTip(tip)
        self.parameters = est["parameters"]
        self.estimated.emit(est)

    def apply_preset(self, name: str) -> None:
        """One of the engine's presets (``engine.PRESETS``) on top of the current run."""
        run = self.config()
        if run is None:
            return
        after = engine.apply_preset(run, name, gpus=len(self.gpu_list))
        self.set_config(after)
        self.presets.show_preset(name, engine.preset_changes(run, after), self.chosen)
        self.status.emit(f"Model: preset {engine.PRESETS[name].label}")

    def save_config(self, path: str) -> None:
        run = self.config()
        if run is None:
            return
        run.save(path)
        self.status.emit(f"Saved {path}")

    def load_config(self, path: str) -> None:
        run = RunConfig.load(path)
        self.restore_saved(run.replace(dataset=self._base.dataset) if self._base else run, f"the settings of {path}")
        self.status.emit(f"Loaded {path}")

    def _on_start_clicked(self) -> None:
        run = self.config()
        if self._count_timer.isActive():  # estimate now, and let it end: torch on two threads
            self._count_timer.stop()  # at once (this lane and the training thread) can stall
            self._update_count()
        self.lane.wait_idle(10.0)
        if run is not None and not self.problems():
            self.start_requested.emit(run, self.dataset)

    def shutdown(self) -> None:
        self.lane.close(timeout=0.5)

"""The Query panel's left column: what to ask with (text, an image, a sound), what to search,
and whether to search or classify. Emits ``changed`` whenever the question changes."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCursor, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStyle,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from mmstudio.data import AUDIO_EXTS, IMAGE_EXTS
from mmstudio.gui.widgets.gallery import ClipPlayer
from mmstudio.gui.widgets.microphone import Recorder

MODALITIES = ("text", "image", "audio")
IMAGE_PROMPT, AUDIO_PROMPT = "Drop an image here\nor choose one", "Drop a sound here or choose one"


class QueryInputs(QWidget):
    """What to ask with; ``set_modalities`` shows only the inputs the model has."""

    changed = Signal()
    text_edited = Signal()  # typing: the panel debounces this one

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_path: str | None = None
        self.audio_path: str | None = None
        self.start_dir = ""  # where file dialogs open (the collection's folder); else home
        self.align = True  # whether the model can rank one modality against another
        self.player = ClipPlayer(self)
        self.recorder = Recorder(self)
        self.recorder.recorded.connect(self.set_audio)
        self.recorder.failed.connect(self._on_record_failed)
        self._build_choices()
        self.rows = {
            "text": self._row("text", self._build_text()),
            "image": self._row("image", self._build_image()),
            "audio": self._row("audio", self._build_audio()),
        }
        box = QGroupBox("Ask with")
        grid = QVBoxLayout(box)
        for row in self.rows.values():
            grid.addWidget(row)
        self.hint = QLabel("")
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._mode_row())
        layout.addWidget(box)
        layout.addLayout(self._build_form())
        layout.addWidget(self.hint)
        layout.addStretch(1)
        self.ask["text"].setChecked(True)
        self._on_mode(True)

    def _build_choices(self) -> None:
        """Search or classify; per modality, "ask with it" (search) or "use it" (classify)."""
        self.search_mode = QRadioButton("Search")
        self.classify_mode = QRadioButton("Classify")
        self.search_mode.setChecked(True)
        self.search_mode.setToolTip("Rank the collection's items against the query")
        self.classify_mode.setToolTip("Class probabilities from the ticked inputs (any subset)")
        self.describe_mode = QRadioButton("Describe")
        self.describe_mode.setToolTip("Text the model writes for an image or a sound (a generating model)")
        self.describe_mode.setVisible(False)
        modes = QButtonGroup(self)
        modes.addButton(self.search_mode)
        modes.addButton(self.classify_mode)
        modes.addButton(self.describe_mode)
        self.search_mode.toggled.connect(self._on_mode)
        self.describe_mode.toggled.connect(self._on_mode)
        self.use = {m: QCheckBox() for m in MODALITIES}
        self.ask = {m: QRadioButton() for m in MODALITIES}
        ask_group = QButtonGroup(self)
        for m in MODALITIES:
            ask_group.addButton(self.ask[m])
            self.ask[m].setToolTip(f"Search with the {m}")
            self.use[m].setToolTip(f"Use the {m} when classifying")
            self.ask[m].toggled.connect(self._on_ask_toggled)
            self.use[m].toggled.connect(self._on_use_toggled)

    def _mode_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.search_mode)
        row.addWidget(self.classify_mode)
        row.addWidget(self.describe_mode)
        row.addStretch(1)
        return row

    def _build_text(self) -> QWidget:
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Type to search")
        self.text_edit.setClearButtonEnabled(True)
        self.text_edit.textEdited.connect(self._on_text)
        return self.text_edit

    def _build_image(self) -> QWidget:
        self.image_label = QLabel(IMAGE_PROMPT)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setFixedHeight(96)
        self.image_label.setStyleSheet("border: 2px dashed #afb8c1; color: #6a737d; border-radius: 6px;")
        choose = QPushButton("Choose image…")
        choose.clicked.connect(self._choose_image)
        return _stacked(self.image_label, [choose])

    def _build_audio(self) -> QWidget:
        self.audio_label = QLabel(AUDIO_PROMPT)
        self.audio_label.setWordWrap(True)
        self.audio_label.setStyleSheet("border: 2px dashed #afb8c1; color: #6a737d; border-radius: 6px; padding: 6px;")
        choose = QPushButton("Choose audio…")
        choose.clicked.connect(self._choose_audio)
        self.play_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "")
        self.play_button.setToolTip("Play the query sound")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self._play)
        self.record_button = QPushButton("Record 3 s")
        if self.recorder.available:
            self.record_button.setToolTip("Record three seconds from the microphone as the query")
            self.record_button.clicked.connect(self._record)
        else:
            self.record_button.setEnabled(False)
            self.record_button.setToolTip("No microphone found (QtMultimedia lists no audio input)")
        return _stacked(self.audio_label, [choose, self.play_button, self.record_button])

    def _build_form(self) -> QFormLayout:
        self.target = QComboBox()
        self.target.setToolTip("Which of the collection's modalities to rank")
        self.target.currentTextChanged.connect(lambda _t: self.changed.emit())
        self.top = QSpinBox()
        self.top.setRange(1, 100)
        self.top.setValue(10)
        self.top.valueChanged.connect(lambda _v: self.changed.emit())
        self.beam = QSpinBox()
        self.beam.setRange(1, 10)
        self.beam.setValue(3)
        self.beam.setToolTip("Beam width: how many texts to keep at each step (1: greedy); all are shown")
        self.beam.valueChanged.connect(lambda _v: self.changed.emit())
        form = QFormLayout()
        form.addRow("Find", self.target)
        form.addRow("Top K", self.top)
        form.addRow("Beam", self.beam)
        form.setRowVisible(self.beam, False)  # shown for a generating model only
        self._form = form
        return form

    def _row(self, modality: str, widget: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.ask[modality], 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.use[modality], 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(widget, 1)
        return row

    # ---------------------------------------------------------------- state
    def set_modalities(
        self, modalities, targets, can_classify: bool, align: bool = True, describes: bool = False
    ) -> None:
        """Show the inputs the model has (no audio controls for a model without audio); offer
        the collection's modalities as targets. A generating model (``describes``) offers the
        Describe mode alone."""
        self.align = align
        self.describe_mode.setVisible(describes)
        self._form.setRowVisible(self.beam, describes)
        self.search_mode.setEnabled(not describes)
        (self.describe_mode if describes else self.search_mode).setChecked(True)
        for m in MODALITIES:
            self.rows[m].setVisible(m in modalities)
            for w in (self.ask[m], self.use[m]):
                w.setEnabled(m in modalities)
        self.text_edit.setEnabled("text" in modalities)  # a generator's text is its output, not an input
        if self.ask_modality() not in modalities and modalities:
            self.ask[next(m for m in MODALITIES if m in modalities)].setChecked(True)
        self.set_targets(targets)
        self.classify_mode.setEnabled(can_classify)
        self.classify_mode.setToolTip(
            "Class probabilities from the ticked inputs"
            if can_classify
            else "This model was trained to align only: it has no classes"
        )
        self._show_mode()

    def clear_model(self, hint: str) -> None:
        """No model's controls (another one is loading, or none is chosen): nothing of the
        previous model stays offered; ``hint`` says why."""
        self.set_modalities([], [], False)
        self.search_mode.setEnabled(False)
        self.hint.setText(hint)

    def set_targets(self, targets) -> None:
        """The collection's modalities the model can rank ("Find"); the current one is kept."""
        current = self.target.currentText()
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(list(targets))
        preferred = current if current in targets else ("image" if "image" in targets else "")
        if preferred:
            self.target.setCurrentText(preferred)
        self.target.blockSignals(False)
        self._fit_target()

    def reset(self) -> None:
        """New Project: no typed text, dropped image or sound of the last one."""
        self.player.stop()
        self.text_edit.clear()
        self.text_edit.setPlaceholderText("Type to search")
        self.image_path = self.audio_path = None
        self.image_label.setPixmap(QPixmap())
        self.image_label.setText(IMAGE_PROMPT)
        self.audio_label.setText(AUDIO_PROMPT)
        for label in (self.image_label, self.audio_label):
            label.setToolTip("")
        self.play_button.setEnabled(False)

    def set_examples(self, words: list[str]) -> None:
        """The placeholder's examples: words this model knows (its classes, or the data's)."""
        shown = ", ".join(f"“{w}”" for w in words[:2])
        self.text_edit.setPlaceholderText(f"Type to search, e.g. {shown}" if shown else "Type to search")

    def ask_modality(self) -> str:
        return next((m for m in MODALITIES if self.ask[m].isChecked()), "text")

    def _fit_target(self) -> bool:
        """A model not trained to align modalities can only rank the query's own modality:
        switch "Find" to it. True when switched."""
        m = self.ask_modality()
        targets = [self.target.itemText(i) for i in range(self.target.count())]
        if self.align or self.target.currentText() == m or m not in targets:
            return False
        self.target.setCurrentText(m)  # emits changed
        return True

    def question(self) -> dict:
        """What to ask now: ``{"mode", "inputs": {modality: value}, "target", "top"}``."""
        values = {"text": self.text_edit.text().strip() or None, "image": self.image_path, "audio": self.audio_path}
        if self.describe_mode.isChecked():
            inputs = {m: v for m, v in values.items() if v and self.use[m].isChecked() and self.use[m].isEnabled()}
            return {"mode": "describe", "inputs": inputs, "beam": self.beam.value()}
        if self.classify_mode.isChecked():
            inputs = {m: v for m, v in values.items() if v and self.use[m].isChecked() and self.use[m].isEnabled()}
            return {"mode": "classify", "inputs": inputs}
        m = next((m for m in MODALITIES if self.ask[m].isChecked()), "text")
        return {
            "mode": "search",
            "inputs": {m: values[m]} if values[m] else {},
            "target": self.target.currentText(),
            "top": self.top.value(),
        }

    def _on_mode(self, _on: bool = True) -> None:
        self._show_mode()
        self.changed.emit()

    def _show_mode(self) -> None:
        """The controls of the mode chosen (search, classify or describe) and its hint."""
        search, describe = self.search_mode.isChecked(), self.describe_mode.isChecked()
        for m in MODALITIES:
            self.ask[m].setVisible(search)
            self.use[m].setVisible(not search)
        self.target.setEnabled(search)
        self.top.setEnabled(search)
        self.beam.setEnabled(describe)
        self.hint.setText(
            "Results update as you type. Drop an image or a sound anywhere on this panel to ask with it."
            if search
            else "Drop or choose an image or a sound (or record one): the model writes what it hears or sees."
            if describe
            else "Tick the inputs to combine; the others count as missing."
        )

    @Slot(bool)
    def _on_ask_toggled(self, on: bool) -> None:
        if on and not self._fit_target():  # switched on (the one switched off also toggles)
            self.changed.emit()

    @Slot(bool)
    def _on_use_toggled(self, _on: bool) -> None:
        if not self.search_mode.isChecked():
            self.changed.emit()

    @Slot(str)
    def _play(self) -> None:
        """Play (or stop) the query sound; when this machine cannot, say why (as every Play does)."""
        problem = self.player.toggle(self.audio_path) if self.audio_path else ""
        if problem:
            self.hint.setText(problem)
            QToolTip.showText(QCursor.pos(), problem, self.play_button)

    def _on_record_failed(self, message: str) -> None:
        self.audio_label.setText(f"Recording failed: {message}")

    # ---------------------------------------------------------------- inputs
    @Slot(str)
    def _on_text(self, _text: str) -> None:
        self.ask["text"].setChecked(True)
        self.use["text"].setChecked(True)
        self.text_edited.emit()

    def set_text(self, text: str) -> None:
        """As if typed (the panel debounces it)."""
        self.text_edit.setText(text)
        self._on_text(text)

    def set_image(self, path: str) -> None:
        self.image_path = path
        pixmap = QPixmap(path)
        if pixmap.isNull():
            self.image_label.setText(f"{os.path.basename(path)}\n(cannot be shown)")
        else:
            fast = (
                Qt.TransformationMode.FastTransformation
                if pixmap.width() < 64
                else Qt.TransformationMode.SmoothTransformation
            )
            self.image_label.setPixmap(pixmap.scaled(88, 88, Qt.AspectRatioMode.KeepAspectRatio, fast))
        self.image_label.setToolTip(path)
        self.use["image"].setChecked(True)
        self._select("image")

    @Slot(str)
    def set_audio(self, path: str) -> None:
        self.audio_path = path
        self.audio_label.setText(f"♪ {os.path.basename(path)}")
        self.audio_label.setToolTip(path)
        self.play_button.setEnabled(True)
        self.use["audio"].setChecked(True)
        self._select("audio")

    def set_file(self, path: str) -> bool:
        """Use a dropped or chosen file as the query: True for an image or a sound file."""
        ext = os.path.splitext(path)[1].lower()
        if ext in IMAGE_EXTS:
            self.set_image(path)
        elif ext in AUDIO_EXTS:
            self.set_audio(path)
        else:
            return False
        return True

    def _select(self, modality: str) -> None:
        if self.ask[modality].isChecked():
            self.changed.emit()
        else:
            self.ask[modality].setChecked(True)  # emits changed

    def _choose_image(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(IMAGE_EXTS))
        path, _ = QFileDialog.getOpenFileName(self, "Ask with an image", self.start_folder(), f"Images ({exts})")
        if path:
            self.set_image(path)

    def _choose_audio(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(AUDIO_EXTS))
        path, _ = QFileDialog.getOpenFileName(self, "Ask with a sound", self.start_folder(), f"Audio ({exts})")
        if path:
            self.set_audio(path)

    def _record(self) -> None:
        self.audio_label.setText("Recording 3 s…")
        self.recorder.record(3.0)

    def start_folder(self) -> str:
        """Where file dialogs open: the collection's folder, else the user's home."""
        return self.start_dir if os.path.isdir(self.start_dir) else os.path.expanduser("~")


def _stacked(shown: QWidget, buttons: list[QWidget]) -> QWidget:
    """``shown`` above a row of ``buttons``."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(shown)
    row = QHBoxLayout()
    for b in buttons:
        row.addWidget(b)
    row.addStretch(1)
    layout.addLayout(row)
    return box

"""The Model panel's top: what the automatic settings chose and why (or what a preset changed),
the preset buttons and Load/Save run.toml.

The presets come from the engine (``engine.PRESETS``); one written for a GPU is disabled, with
the reason in its tooltip, on a machine without one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mmstudio import engine
from mmstudio.gui.panels.model_texts import auto_settings_html, preset_html, saved_settings_html


class PresetBar(QWidget):
    """``preset_chosen(name)`` when a preset button is pressed; ``load``/``save`` for run.toml."""

    preset_chosen = Signal(str)
    load = Signal()
    save = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._gpus: int | None = None  # unknown until the engine has looked
        self._on = False
        self.auto_label = QLabel("")  # the settings chosen from the data (or by a preset), and why
        self.auto_label.setObjectName("autoSettings")
        self.auto_label.setWordWrap(True)
        self.auto_label.setTextFormat(Qt.TextFormat.RichText)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for name, preset in engine.PRESETS.items():
            button = QPushButton(preset.label)
            button.clicked.connect(lambda _=False, name=name: self.preset_chosen.emit(name))
            self.buttons[name] = button
            row.addWidget(button)
        self.load_button = QPushButton("Load run.toml…")
        self.save_button = QPushButton("Save run.toml…")
        self.load_button.clicked.connect(self.load)
        self.save_button.clicked.connect(self.save)
        row.addWidget(self.load_button)
        row.addWidget(self.save_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.auto_label)
        layout.addLayout(row)
        self.set_enabled(False)

    def set_gpus(self, gpus: int | None) -> None:
        """How many CUDA devices the engine found (None: not looked yet)."""
        self._gpus = gpus
        self.set_enabled(self._on)

    def offered(self, name: str) -> bool:
        """Whether preset ``name`` can be chosen here (a GPU preset needs a GPU)."""
        return not (engine.PRESETS[name].needs_gpu and self._gpus == 0)

    def set_enabled(self, on: bool) -> None:
        self._on = on
        for name, button in self.buttons.items():
            preset = engine.PRESETS[name]
            button.setEnabled(on and self.offered(name))
            button.setToolTip(
                preset.help if self.offered(name) else f"needs a GPU: this machine has none ({preset.help})"
            )
        self.load_button.setEnabled(on)
        self.save_button.setEnabled(on)

    def show_chosen(self, chosen: list[dict]) -> None:
        """The settings chosen from the data, each with its reason."""
        self.auto_label.setText(auto_settings_html(chosen))

    def show_preset(self, name: str, changes: list[dict], chosen: list[dict]) -> None:
        """What preset ``name`` changed (``engine.preset_changes``), then the choices from the
        data it left as they were."""
        self.auto_label.setText(preset_html(engine.PRESETS[name], changes, chosen))

    def show_saved(self, what: str) -> None:
        """Settings restored from a file (the project's, a run.toml): none was chosen from the data."""
        self.auto_label.setText(saved_settings_html(what))

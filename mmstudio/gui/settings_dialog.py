"""File > Settings: default device, cache folder and size limit, theme, data-loading workers
(General), and the pretrained weights on this machine (Models)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio import engine
from mmstudio.gui import theme
from mmstudio.gui.settings import DEVICES, THEMES, Settings, apply_settings, apply_theme, default_cache_dir
from mmstudio.gui.weights_manager import WeightsManager

DEVICE_TEXT = {"auto": "Automatic (GPU when present)", "cpu": "CPU", "cuda": "GPU (CUDA)"}
THEME_TEXT = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


class SettingsDialog(QDialog):
    """Shows the current settings; OK saves them to QSettings and applies them at once."""

    def __init__(self, parent: QWidget | None = None, settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(900)
        s = settings or Settings.load()
        self.device = QComboBox()
        for name in DEVICES:
            self.device.addItem(DEVICE_TEXT[name], name)
        self.device.setCurrentIndex(DEVICES.index(s.device))
        self.device.setToolTip("The device new runs start on; each run can still choose in the Model panel.")
        cache_row = self._cache_row(s.cache_dir)
        self.cache_gb = _gb_spin(
            s.cache_gb,
            1.0,
            4096.0,
            "The cache folder's bound: decoded data too large "
            "for memory is kept there; least recently used files go first.",
        )
        self.memory_gb = _gb_spin(
            s.memory_gb,
            0.25,
            512.0,
            "Decoded images and sounds kept in memory so "
            "later epochs and runs read no files (applies from the next session).",
        )
        self.theme = QComboBox()
        for name in THEMES:
            self.theme.addItem(THEME_TEXT[name], name)
        self.theme.setCurrentIndex(THEMES.index(s.theme))
        self._theme_at_open = s.theme  # put back on Cancel: a theme chosen here shows at once
        self.theme.currentIndexChanged.connect(self._preview_theme)
        self.workers = QSpinBox()
        self.workers.setRange(0, 64)
        # the engine's own rule (no torch): what decoding will use on this machine
        self.workers.setSpecialValueText(f"Automatic ({engine.decode_threads_text()})")
        self.workers.setValue(s.workers)
        self.workers.setToolTip("Threads that decode image and audio files before training.")
        form = QFormLayout()
        form.addRow("Default device:", self.device)
        form.addRow("Cache folder:", cache_row)
        form.addRow("Cache folder limit:", self.cache_gb)
        form.addRow("Memory for decoded data:", self.memory_gb)
        form.addRow("Theme:", self.theme)
        form.addRow("Data-loading workers:", self.workers)
        note = QLabel(
            "Settings are kept per user. A theme shows as soon as it is chosen (Cancel puts the old "
            "one back); the rest applies on OK (the memory budget from the next session). The default "
            "device is what new runs start with in the Model panel."
        )
        note.setObjectName("muted")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._tabs(form, note))
        layout.addWidget(buttons)
        theme.polish(self)
        theme.watch(self)

    def _tabs(self, form: QFormLayout, note: QLabel) -> QTabWidget:
        """General (the form above) and Models (the pretrained weights manager)."""
        general = QWidget()
        page = QVBoxLayout(general)
        page.addLayout(form)
        page.addWidget(note)
        page.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.addTab(general, "General")
        self.models = WeightsManager()
        self.tabs.addTab(self.models, "Models")
        return self.tabs

    def _cache_row(self, cache_dir: str) -> QHBoxLayout:
        """The cache folder's line with Browse… and Default."""
        self.cache_dir = QLineEdit(cache_dir)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        reset = QPushButton("Default")
        reset.clicked.connect(lambda: self.cache_dir.setText(default_cache_dir()))
        cache_row = QHBoxLayout()
        cache_row.addWidget(self.cache_dir, 1)
        cache_row.addWidget(browse)
        cache_row.addWidget(reset)
        return cache_row

    def settings(self) -> Settings:
        """The settings the widgets show."""
        return Settings(
            device=self.device.currentData(),
            cache_dir=self.cache_dir.text().strip(),
            cache_gb=self.cache_gb.value(),
            memory_gb=self.memory_gb.value(),
            theme=self.theme.currentData(),
            workers=self.workers.value(),
        )

    def _on_browse_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Cache Folder", self.cache_dir.text())
        if path:
            self.cache_dir.setText(path)

    def _preview_theme(self) -> None:
        """The chosen theme on the whole application now (a tenth of a second; see theme.py)."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.theme.currentData())

    def reject(self) -> None:
        if self.theme.currentData() != self._theme_at_open:
            self.theme.setCurrentIndex(THEMES.index(self._theme_at_open))  # previews it back
        super().reject()

    def accept(self) -> None:
        s = self.settings()
        s.save()
        apply_settings(s)
        super().accept()

    def done(self, result: int) -> None:
        self.models.close_lane()  # a download in flight is cancelled with the dialog
        super().done(result)


def _gb_spin(value: float, low: float, high: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(0.5)
    spin.setDecimals(2)
    spin.setSuffix(" GB")
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin

"""The Data panel: what was dropped, understood, previewed and checked.

Scanning runs in a worker thread; the table is a model/view over the items with lazily loaded
thumbnails; the layout, column roles, label pattern and split ratios can all be overridden.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mmstudio.config import DEFAULT_LABEL_PATTERN, LAYOUTS, DatasetSpec, SplitSpec
from mmstudio.data import Dataset, open_dataset
from mmstudio.gui import theme
from mmstudio.gui.widgets.audio_view import AudioView
from mmstudio.gui.widgets.charts import BarChart
from mmstudio.gui.widgets.dataset_tables import (
    fill_columns,
    fill_counts,
    fill_problems,
    fit_item_columns,
    show_class_counts,
    summary_html,
)
from mmstudio.gui.widgets.item_model import COLUMNS, ItemTableModel
from mmstudio.gui.widgets.progress import ProgressStrip
from mmstudio.gui.widgets.thumbnails import ThumbnailCache, show_picture
from mmstudio.gui.workers import run_in_thread

OPEN_HINT = (
    "Drop a dataset folder or a CSV/TSV/JSONL manifest anywhere on the window, or use File ▸ Open Dataset (Ctrl+O)."
)


class _ScanProgress(QObject):
    """Carries progress from the scanning thread to the GUI thread (queued signal)."""

    changed = Signal(float, str)
    scan = 0  # the scan whose progress is shown; an earlier scan's reports are dropped


class DataPanel(QWidget):
    dataset_loaded = Signal(object)  # Dataset
    dataset_changing = Signal(str)  # the path now being read: views of the previous dataset clear
    status = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self._spec: DatasetSpec | None = None
        self._worker = None
        self._scan = 0  # which scan's result is awaited: a late result of an earlier one is dropped
        self._progress_sink = _ScanProgress()
        self._progress_sink.changed.connect(self._on_progress)
        self.thumbnails = ThumbnailCache(size=40, parent=self)
        self.model = ItemTableModel(self.thumbnails, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._build()

    # ---------------------------------------------------------------- layout of the panel
    def _build(self) -> None:
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self._build_table())
        upper.addWidget(self._build_detail())
        upper.addWidget(self._build_side())
        upper.setSizes([640, 360, 380])
        for index, stretch in enumerate((3, 2, 2)):
            upper.setStretchFactor(index, stretch)
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_head())
        layout.addWidget(upper, 1)

    def _build_head(self) -> QHBoxLayout:
        self.source_label = QLabel(OPEN_HINT)
        self.source_label.setObjectName("headline")
        self.source_label.setWordWrap(True)
        # Ignored: a long path or summary wraps; it never widens the window
        self.source_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = ProgressStrip("Cancel")
        self.progress.cancelled.connect(self.cancel_scan)
        head = QHBoxLayout()
        head.addWidget(self.source_label, 1)
        head.addWidget(self.progress, 1)
        return head

    def _build_options(self) -> QGroupBox:
        self.layout_combo = QComboBox()
        self.layout_combo.addItems(LAYOUTS)
        self.layout_combo.setToolTip("How the files are organised; 'auto' guesses")
        self.pattern_edit = QLineEdit()
        self.pattern_edit.setPlaceholderText(r"^(?P<label>[^_\-]+)[_\-]")
        self.pattern_edit.setToolTip("For labels in file names: a regular expression with a (?P<label>…) group")
        self.ratio_spins: list[QDoubleSpinBox] = []
        ratios = QHBoxLayout()
        for name, value in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.05)
            spin.setValue(value)
            spin.setPrefix(f"{name} ")
            self.ratio_spins.append(spin)
            ratios.addWidget(spin)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setPrefix("seed ")
        ratios.addWidget(self.seed_spin)
        self.apply_button = QPushButton("Re-scan")
        self.apply_button.setToolTip("Read the dataset again with these settings")
        self.apply_button.clicked.connect(self.rescan)
        self.apply_button.setEnabled(False)
        options = QGroupBox("How to read it")
        form = QFormLayout(options)
        form.addRow("Layout", self.layout_combo)
        form.addRow("Label pattern", self.pattern_edit)
        form.addRow("Split", ratios)
        for box in (*self.ratio_spins, self.seed_spin):
            box.setToolTip("Used when the data has no split column: stratified by label, reproducible by seed")
        form.addRow(self.apply_button)
        return options

    def _build_table(self) -> QWidget:
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter items by id, label, split or text…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # ids and paths keep their ends
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)  # the last shown column fills the rest
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        fit_item_columns(self.table, [])
        left = QWidget()
        left.setMinimumWidth(380)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.filter_edit)
        left_layout.addWidget(self.table)
        return left

    def _build_detail(self) -> QWidget:
        self.image_label = QLabel("No image")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(200, 160)
        # Ignored: the shown pixmap must not push the label (and the window) wider.
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.text_view = QTextBrowser()
        self.text_view.setMaximumHeight(90)
        self.item_title = QLabel("")
        self.item_title.setObjectName("headline")
        self.item_title.setWordWrap(True)
        self.item_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.audio_view = AudioView()
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.item_title)
        detail_layout.addWidget(self.image_label, 2)
        detail_layout.addWidget(self.text_view)
        detail_layout.addWidget(self.audio_view, 3)
        return detail

    def _build_side(self) -> QWidget:
        self.class_chart = BarChart("Items per class")
        self.counts_table = QTableWidget()
        self.problems_table = QTableWidget(0, 4)
        self.problems_table.setHorizontalHeaderLabels(["Severity", "File", "Row", "Reason"])
        self.problems_table.horizontalHeader().setStretchLastSection(True)  # the reason stays in view
        self.problems_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.problems_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.columns_table = QTableWidget(0, 3)
        self.columns_table.setHorizontalHeaderLabels(["Column", "Role", "Example"])
        self.columns_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.class_chart, "Classes")
        self.tabs.addTab(self.counts_table, "Counts")
        self.tabs.addTab(self.problems_table, "Problems")
        self.tabs.addTab(self.columns_table, "Columns")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self._build_options())
        side_layout.addWidget(self.tabs, 1)
        return side

    # ---------------------------------------------------------------- loading
    def open_path(self, path: str) -> None:
        """Scan ``path`` with everything guessed."""
        self.layout_combo.setCurrentText("auto")
        self.pattern_edit.clear()
        self._start_scan(DatasetSpec(path=os.path.abspath(path), split=self._split_spec()))

    @property
    def spec(self) -> DatasetSpec | None:
        """The dataset spec being shown or scanned (also while its scan is still running)."""
        return self._spec

    def open_spec(self, spec: DatasetSpec) -> None:
        """Scan with a saved spec (a project's): layout, label pattern, columns and split as given."""
        self.layout_combo.setCurrentText(spec.layout)
        self.pattern_edit.setText(
            ""
            if spec.label_pattern == DatasetSpec.__dataclass_fields__["label_pattern"].default
            else spec.label_pattern
        )
        for box, value in zip(self.ratio_spins, (spec.split.train, spec.split.val, spec.split.test)):
            box.setValue(value)
        self.seed_spin.setValue(spec.split.seed)
        self._start_scan(spec)

    def rescan(self) -> None:
        if self._spec is None:
            return
        columns = {}
        for row in range(self.columns_table.rowCount()):
            combo, name = self.columns_table.cellWidget(row, 1), self.columns_table.item(row, 0)
            if isinstance(combo, QComboBox) and name is not None:
                columns[name.text()] = combo.currentText()
        pattern = self.pattern_edit.text()
        try:
            spec = DatasetSpec(
                path=self._spec.path,
                layout=self.layout_combo.currentText(),
                columns=columns,
                split=self._split_spec(),
                label_pattern=pattern if pattern.strip() else DEFAULT_LABEL_PATTERN,
            )
        except ValueError as exc:
            self.status.emit(str(exc))
            return
        self._start_scan(spec)

    def _split_spec(self) -> SplitSpec:
        train, val, test = (s.value() for s in self.ratio_spins)
        return SplitSpec(train=train, val=val, test=test, seed=self.seed_spin.value())

    def _start_scan(self, spec: DatasetSpec) -> None:
        self._spec = spec
        self._scan += 1
        self._clear_shown()
        self.dataset_changing.emit(str(spec.path))
        self.source_label.setText(f"Reading {spec.path} …")
        self.progress.start(f"Reading {os.path.basename(spec.path.rstrip(os.sep))}…")
        self.apply_button.setEnabled(False)
        sink, scan = self._progress_sink, self._scan
        sink.scan = scan
        # The scanning thread holds only the sink, never the panel: a widget whose last
        # reference goes away on a pooled thread is deleted there (a deadlock at close).
        self._worker = run_in_thread(
            open_dataset,
            spec,
            progress=lambda f, msg: sink.changed.emit(f, msg) if scan == sink.scan else None,
            on_done=lambda ds: self._on_scanned(ds) if scan == self._scan else None,
            on_error=lambda exc: self._on_scan_failed(exc) if scan == self._scan else None,
        )

    def _clear_shown(self) -> None:
        """Nothing of the previous dataset stays on screen while another one is read."""
        self.dataset = None
        self.thumbnails.clear()
        self.model.set_items([])
        self.item_title.setText("")
        self.image_label.setPixmap(QPixmap())
        self.image_label.setText("")
        self.text_view.clear()
        self.audio_view.clear()
        self.class_chart.set_values({})
        self.counts_table.setRowCount(0)
        self.problems_table.setRowCount(0)
        self.columns_table.setRowCount(0)

    def clear(self) -> None:
        """File ▸ New: no dataset shown; a scan in flight is dropped when it ends."""
        self._scan += 1
        self._progress_sink.scan = self._scan
        self._worker, self._spec = None, None
        self.progress.finish()
        self._clear_shown()
        self.apply_button.setEnabled(False)
        self.source_label.setText(OPEN_HINT)

    def cancel_scan(self) -> None:
        """Stop waiting for the scan in flight: its result, when it comes, is dropped."""
        self._scan += 1
        self._progress_sink.scan = self._scan
        self._worker = None
        self.progress.finish()
        self.source_label.setText("Reading cancelled: drop a dataset or use File ▸ Open Dataset.")
        self.status.emit("Reading the dataset was cancelled")

    def is_busy(self) -> bool:
        return self._worker is not None

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.set_progress(fraction, message)

    @Slot(object)
    def _on_scan_failed(self, exc: BaseException) -> None:
        self._worker = None
        self.progress.finish()
        self.apply_button.setEnabled(self.dataset is not None)
        self.source_label.setText(f"Could not read this dataset: {exc}")
        self.status.emit(f"Could not read dataset: {exc}")

    @Slot(object)
    def show_dataset(self, ds: Dataset) -> None:
        """Show a dataset read before this panel was built (the demo, behind the welcome page)."""
        self._spec = ds.spec
        self._on_scanned(ds, announce=False)

    def _on_scanned(self, ds: Dataset, announce: bool = True) -> None:
        self._worker = None
        self.progress.finish()
        self.apply_button.setEnabled(True)
        self.dataset = ds
        self.thumbnails.clear()
        self.model.set_items(ds.items)
        fit_item_columns(self.table, ds.items)  # widths per dataset, never the last one's
        self._show_summary(ds)
        if ds.items:
            self.table.selectRow(0)
        if announce:
            self.dataset_loaded.emit(ds)
        errors = len(ds.errors())
        warnings = len(ds.problems) - errors
        self.status.emit(
            f"Loaded {len(ds.items):,} items ({ds.layout}); {errors} unusable "
            f"input{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
            + (" — see the Problems tab" if ds.problems else "")
        )

    def _show_summary(self, ds: Dataset) -> None:
        counts = ds.modality_counts()
        self.source_label.setText(theme.adapt_html(summary_html(ds)))
        if self.layout_combo.currentText() == "auto":
            self.layout_combo.setCurrentText(ds.layout)
        for column, modality in ((3, "text"), (4, "image"), (5, "audio")):
            self.table.setColumnHidden(column, counts[modality] == 0)
        self.image_label.setVisible(counts["image"] > 0)
        self.text_view.setVisible(counts["text"] > 0)
        self.audio_view.setVisible(counts["audio"] > 0)
        show_class_counts(self.class_chart, ds.labels())
        fill_counts(self.counts_table, ds)
        self.tabs.setTabText(2, f"Problems ({fill_problems(self.problems_table, ds)})")
        self.tabs.setTabEnabled(3, fill_columns(self.columns_table, ds))

    # ---------------------------------------------------------------- item detail
    @Slot()
    def _on_current_row(self, current, _previous=None) -> None:
        if not current.isValid():
            return
        it = self.model.item(self.proxy.mapToSource(current).row())
        self.item_title.setText(
            f"{it.id}" + (f"   ·   label {it.label}" if it.label else "") + (f"   ·   {it.split}" if it.split else "")
        )
        show_picture(self.image_label, it.image)
        self.text_view.setPlainText(it.text or "(no text for this item)")
        self.audio_view.show_clip(it.audio)

    def current_item(self):
        index = self.table.currentIndex()
        return self.model.item(self.proxy.mapToSource(index).row()) if index.isValid() else None


__all__ = ["DataPanel", "COLUMNS"]

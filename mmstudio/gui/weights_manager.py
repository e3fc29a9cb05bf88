"""The weights manager (Settings ▸ Models, and "Weights…" in the Model panel): the published
weights encoders can start from, their size and licence, whether they are on this machine;
Download (progress, Cancel; only when pressed) and Import file… for machines without a network.

Downloads and imports run in the manager's lane, off the GUI thread; the engine does the work
(``engine.download_weights``, ``engine.import_weights``) and this only draws.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmstudio import engine
from mmstudio.gui.jobs import Lane

COLUMNS = ("Weights", "For", "Size", "Licence", "On this machine")
FILTER = "Weights (*.pth *.pt *.safetensors);;All files (*)"


class WeightsManager(QWidget):
    """The table and its actions; ``changed`` fires when a file arrived (downloaded or imported)."""

    changed = Signal()
    _progressed = Signal(float, float)  # MB done, MB expected (from the lane's thread)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = Lane(self)
        self._cancel = threading.Event()
        self._rows: list[dict] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        # one line a row from the first paint (a long licence is elided, whole in its tooltip):
        # wrapped at the stretch column's width before the first layout, rows were far too tall
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Fetch the selected weights from download.pytorch.org (needs a network)")
        self.cancel_button = QPushButton("Cancel")
        self.import_button = QPushButton("Import file…")
        self.import_button.setToolTip("Copy a weights file brought from another machine into the cache, checked first")
        self.download_button.clicked.connect(self._on_download_clicked)
        self.cancel_button.clicked.connect(self._cancel.set)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.progress = QProgressBar()
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # shown in its place: nothing else moves
        self.progress.setSizePolicy(policy)
        self.progress.hide()
        self._downloading = ""  # the row whose cell shows the percentage
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(self.status.fontMetrics().lineSpacing() * 2)  # a message moves nothing
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._progressed.connect(self._on_progressed)
        self.lane.busy_changed.connect(lambda _busy: self._update_buttons())
        self._build()
        self.refresh()

    def _build(self) -> None:
        note = QLabel(
            "Encoders can start from these published weights. Files live where PyTorch looks for them: "
            f"<code>{engine.weights_dir()}</code>. Nothing is downloaded unless you press Download; "
            "on a machine without a network, copy the file over and use Import file…."
        )
        note.setWordWrap(True)
        note.setObjectName("muted")
        buttons = QHBoxLayout()
        for b in (self.download_button, self.cancel_button, self.import_button):
            buttons.addWidget(b)
        buttons.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

    # ---------------------------------------------------------------- table
    def refresh(self) -> None:
        """Read the catalogue and the files on disk again (cheap: no torch)."""
        selected = self.selected()
        self._rows = engine.weights_list()
        self.table.setRowCount(len(self._rows))
        for i, r in enumerate(self._rows):
            cells = (
                r["name"],
                f"{r['modality']} · {r['encoder']}",
                f"{r['mbytes']:,.0f} MB",
                r["licence"],
                "yes" if r["present"] else "no",
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(r["file"] if j == 4 else r["source"] if j == 0 else text)
                self.table.setItem(i, j, item)
        if selected:
            self.select(selected)
        self._update_buttons()

    def select(self, name: str) -> None:
        for i, r in enumerate(self._rows):
            if r["name"] == name:
                self.table.selectRow(i)

    def selected(self) -> str:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._rows[rows[0].row()]["name"] if rows and rows[0].row() < len(self._rows) else ""

    def _update_buttons(self) -> None:
        busy = self.lane.busy
        row = next((r for r in self._rows if r["name"] == self.selected()), None)
        self.download_button.setEnabled(not busy and row is not None and not row["present"])
        self.cancel_button.setEnabled(busy)
        self.import_button.setEnabled(not busy)

    # ---------------------------------------------------------------- actions
    @Slot()
    def _on_download_clicked(self) -> None:
        name = self.selected()
        if not name:
            return
        self._cancel.clear()
        self._downloading = name
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText(f"Downloading {name}…")
        self.lane.submit(
            engine.download_weights,
            name,
            lambda p: self._progressed.emit(p.done / 1e6, p.total / 1e6),
            self._cancel.is_set,
            on_done=lambda path: self._finished(f"{name} is on this machine: {path}"),
            on_error=self._failed,
        )
        self._update_buttons()

    @Slot(float, float)
    def _on_progressed(self, done: float, total: float) -> None:
        if done > 0:
            self.progress.setRange(0, max(1, int(total)))
            self.progress.setValue(min(int(done), int(total)))
            self.progress.setFormat(f"{done:,.1f} of {total:,.1f} MB (%p%)")
            row = next((i for i, r in enumerate(self._rows) if r["name"] == self._downloading), -1)
            cell = self.table.item(row, 4) if row >= 0 else None
            if cell is not None and total > 0:
                cell.setText(f"downloading {min(100, round(100 * done / total))}%")

    @Slot()
    def _on_import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import Weights File", "", FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str, name: str = "", force: bool = False) -> None:
        """Check and copy ``path`` into the cache (in the lane); asks before accepting a file
        whose checksum is not the published one."""
        self.status.setText(f"Checking {path}…")
        self.lane.submit(
            engine.import_weights,
            path,
            name or self.selected_if_unnamed(path),
            force,
            on_done=lambda info: self._finished(f"{info.name} imported: {info.path()}"),
            on_error=lambda exc: self._import_failed(exc, path, name, force),
        )
        self._update_buttons()

    def selected_if_unnamed(self, path: str) -> str:
        """The selected row's name when the file's own name says nothing (``mystery.pth``)."""
        known = {r["file"].rsplit("/", 1)[-1] for r in self._rows}
        return "" if path.rsplit("/", 1)[-1] in known else self.selected()

    def _import_failed(self, exc: BaseException, path: str, name: str, force: bool) -> None:
        if "does not match the published" in str(exc) and not force and self.isVisible():
            answer = QMessageBox.question(self, "Import Anyway?", f"{exc}\n\nImport this file anyway?")
            if answer == QMessageBox.StandardButton.Yes:
                self.import_file(path, name, force=True)
                return
        self._failed(exc)

    def _finished(self, message: str) -> None:
        self._downloading = ""
        self.progress.hide()
        self.status.setText(message)
        self.refresh()
        self.changed.emit()

    def _failed(self, exc: BaseException) -> None:
        self._downloading = ""
        self.progress.hide()
        self.status.setText(str(exc))
        self.refresh()

    def close_lane(self) -> None:
        self._cancel.set()
        self.lane.close()


class WeightsDialog(QDialog):
    """The manager on its own (from the Model panel's encoder options)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pretrained Weights")
        self.resize(980, 460)
        self.manager = WeightsManager(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.manager)
        layout.addWidget(buttons)

    def done(self, result: int) -> None:
        self.manager.close_lane()
        super().done(result)

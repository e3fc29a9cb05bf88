"""The Evaluate panel: how good a bundle is on one split of a dataset, and where it fails.

It evaluates when asked (the Evaluate button) and once after a training run finishes, never on
its own when opened. The report comes from ``engine.evaluation_report`` in the panel's lane, for
the (model, dataset, split) named above it: when any of them changes, the shown report is
cleared at once and work in flight for the old key is cancelled (``jobs.ViewKey``). This panel
only lays the report's plain numbers out: metric tables, a clickable confusion matrix, a gallery
of samples, the ablation and robustness plots and the learned modality weights. "Export report"
writes the plots as PNG and the numbers as CSV and JSON.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.jobs import Lane, ViewKey
from mmstudio.gui.panels.compress_tab import CompressTab
from mmstudio.gui.panels.eval_results import EvalResults
from mmstudio.gui.widgets.generation_view import GenerationReport
from mmstudio.gui.widgets.progress import ProgressStrip

TRAINING_QUESTION = (
    "A model is training now. Evaluating at the same time shares the processor with it and slows "
    "both down. Evaluate anyway?"
)


class EvaluatePanel(QWidget):
    """``set_bundle(path)``, ``set_dataset(dataset)``, then ``evaluate()`` (the Evaluate button)."""

    status = Signal(str)
    report_ready = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bundle_path = ""
        self.dataset = None
        self.report: dict | None = None
        self.is_training: Callable[[], bool] = lambda: False  # the window asks its Train panel
        #: Asks the user a yes/no question (tests replace it): evaluate while training?
        self.confirm: Callable[[str], bool] = self._ask
        self.lane = Lane(self, name="mmstudio-evaluate")
        self._build()
        self.lane.progress.connect(self.progress.set_progress)
        self.lane.busy_changed.connect(lambda _busy: self._update_buttons())
        self._on_key_changed()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        self.pages = self.views = QStackedWidget()  # idle, results, a generator's texts
        self.pages.addWidget(self._build_idle_page())
        self.results = EvalResults()
        self.pages.addWidget(self.results)
        self.generation = GenerationReport()  # a generating model's texts instead of classes
        self.pages.addWidget(self.generation)
        r = self.results  # its parts, by the names the tests and the screenshots use
        self.tables, self.heatmap, self.gallery, self.plots = r.tables, r.heatmap, r.gallery, r.plots
        self.ablation_chart, self.robustness_chart, self.weights_chart = (
            r.ablation_chart,
            r.robustness_chart,
            r.weights_chart,
        )
        self.ablation_note, self.show_mistakes = r.ablation_note, r.show_mistakes
        self.regress_view, self.gallery_label = r.regress_view, r.gallery_label
        self.compress_tab = CompressTab()
        self.compress_tab.status.connect(self.status)
        self.tabs = QTabWidget()  # the report, and smaller variants of the model
        self.tabs.addTab(self.pages, "Report")
        self.tabs.addTab(self.compress_tab, "Make it smaller")
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_bar())
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)

    def _build_bar(self) -> QHBoxLayout:
        self.key_label = QLabel("")
        self.key_label.setObjectName("muted")
        self.key_label.setWordWrap(True)
        choose = QPushButton("Choose bundle…")
        choose.clicked.connect(self._choose_bundle)
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which split of the Data panel's dataset to evaluate on")
        self.split_combo.currentTextChanged.connect(lambda _t: self._on_key_changed())
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setObjectName("primary")
        self.evaluate_button.setToolTip("Measure this model on this split (it can take a while on a large split)")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip("Plots as PNG, numbers as CSV and JSON, into a folder")
        self.export_button.clicked.connect(self._choose_export_folder)
        self.progress = ProgressStrip("Cancel")
        self.progress.cancelled.connect(self.cancel)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<h2>Evaluate</h2>"))
        bar.addSpacing(12)
        bar.addWidget(self.key_label, 1)
        for widget in (choose, QLabel("Split"), self.split_combo, self.evaluate_button, self.export_button):
            bar.addWidget(widget)
        return bar

    def _build_idle_page(self) -> QWidget:
        self.idle_label = QLabel("")
        self.idle_label.setObjectName("headline")
        self.idle_label.setWordWrap(True)
        self.idle_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.idle_label)
        layout.addStretch(2)
        return page

    def _update_buttons(self) -> None:
        ready = bool(self.bundle_path and self.dataset is not None and self.split_combo.currentText())
        self.evaluate_button.setEnabled(ready and not self.lane.working)
        self.export_button.setEnabled(self.report is not None and not self.lane.working)
        shown = self.report is not None and "predictions" in self.report
        self.show_mistakes.setEnabled(shown and self.results.misclassified_count > 0)
        self.compress_tab.set_inputs(self.bundle_path, self.dataset, self.split_combo.currentText())

    # ---------------------------------------------------------------- the key: what is shown
    def key(self) -> ViewKey:
        """The (model, dataset, split) this panel shows results for."""
        ds = self.dataset
        return ViewKey(
            self.bundle_path,
            str(ds.spec.path) if ds is not None else "",
            self.split_combo.currentText(),
            id(ds) if ds is not None else 0,
        )

    def _on_key_changed(self) -> None:
        """Another model, dataset or split: clear the report and cancel work for the old one."""
        key = self.key()
        self.key_label.setText(key.describe())
        self.key_label.setToolTip(f"{key.model}\n{key.dataset}")
        if not self.lane.set_view(key):  # the same key: what is shown still belongs to it
            self._update_buttons()
            return
        self.report = None
        self.results.clear()
        self.progress.finish()
        self.message.hide()
        self.pages.setCurrentIndex(0)
        self._show_idle()
        self._update_buttons()

    def _show_idle(self) -> None:
        if not self.bundle_path:
            text = "No model yet: train one, or choose a bundle."
        elif self.dataset is None:
            text = "No dataset: open one in the Data panel (it is loading, if you just opened one)."
        else:
            text = f"Press <b>Evaluate</b> to measure this model on the <b>{self.split_combo.currentText()}</b> split."
        self.idle_label.setText(text)

    # ---------------------------------------------------------------- inputs
    def set_bundle(self, path: str) -> None:
        self.bundle_path = path
        self._on_key_changed()

    @Slot(object)
    def set_dataset(self, dataset) -> None:
        """The dataset to evaluate on; ``None`` while the Data panel loads another one."""
        self.dataset = dataset
        splits = [s for s in dataset.splits() if s != "unassigned"] if dataset is not None else []
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        if dataset is not None:
            self.split_combo.addItems([*splits, "all"])
            preferred = next((s for s in ("test", "val") if s in splits), "all")
            self.split_combo.setCurrentText(preferred)
        self.split_combo.blockSignals(False)
        self._on_key_changed()

    def _choose_bundle(self) -> None:
        start = os.path.dirname(self.bundle_path) if self.bundle_path else os.path.expanduser("~")
        path = QFileDialog.getExistingDirectory(self, "Choose a model bundle (a folder with bundle.json)", start)
        if path:
            self.set_bundle(path)

    # ---------------------------------------------------------------- evaluating
    def evaluate(self) -> bool:
        """Evaluate the shown key (asking first while a model trains); False when not started."""
        if not self.bundle_path or self.dataset is None or self.lane.working:
            return False
        if self.is_training() and not self.confirm(TRAINING_QUESTION):
            return False
        from mmstudio import engine

        key = self.key()
        self.message.setVisible(False)
        self.progress.start("Evaluating: starting…")
        self.idle_label.setText(f"Evaluating this model on the <b>{key.split}</b> split…")
        self.lane.submit(
            engine.evaluation_report,
            self.bundle_path,
            self.dataset,
            split=key.split,
            view=key,
            with_progress=True,
            on_done=self._on_report,
            on_error=self._on_failed,
        )
        self._update_buttons()
        self.status.emit("Evaluating… (training is running: both are slower)" if self.is_training() else "Evaluating…")
        return True

    def cancel(self) -> None:
        """Stop the evaluation in flight (at its next progress step); nothing it found is shown."""
        self.lane.cancel()
        self.progress.finish()
        self._show_idle()
        self.idle_label.setText("Evaluation cancelled. " + self.idle_label.text())
        self._update_buttons()
        self.status.emit("Evaluation cancelled")

    def _ask(self, question: str) -> bool:
        answer = QMessageBox.question(self, "Evaluate while training?", question)
        return answer == QMessageBox.StandardButton.Yes

    def _on_failed(self, exc: BaseException) -> None:
        self.progress.finish()
        self.message.setText(f"Could not evaluate {self.bundle_path}: {exc}")
        self.message.setStyleSheet("background: #fdecea; color: #b3261e; padding: 6px;")
        self.message.setVisible(True)
        self._update_buttons()
        self.status.emit(f"Evaluation failed: {exc}")

    def _on_report(self, report: dict) -> None:
        self.report = report
        self.progress.finish()
        if report.get("task") == "generate":
            self._show_generation(report)
            return
        self.pages.setCurrentIndex(1)
        self.results.show_report(report)
        self._update_buttons()
        if report.get("input_warnings"):  # inputs unlike the training data: say so above it all
            self.message.setText("⚠ " + " ".join(report["input_warnings"]))
            self.message.setStyleSheet("")
            self.message.show()
        scores = {**report, **report.get("regression", {})}
        summary = ", ".join(
            f"{k.replace('_', ' ')} {scores[k]:.4f}" for k in ("accuracy", "macro_f1", "mae") if k in scores
        )
        self.status.emit(
            f"Evaluated on {len(report['samples']):,} {report['split']} items" + (f": {summary}" if summary else "")
        )
        self.report_ready.emit(report)

    def _show_generation(self, report: dict) -> None:
        from mmstudio import engine

        self.pages.setCurrentIndex(2)
        headers, rows = engine.comparison_rows(report)
        self.generation.show_report(report, headers, rows)
        self._update_buttons()
        g = report["generation"]
        self.status.emit(
            f"Evaluated on {report['items']:,} {report['split']} items: CER {g['cer']:.3f}, BLEU {g['bleu']:.1f}"
        )
        self.report_ready.emit(report)

    # ---------------------------------------------------------------- export
    def _choose_export_folder(self) -> None:
        start = export_start(self.bundle_path)
        folder = QFileDialog.getExistingDirectory(self, "Export the report into a folder", start)
        if folder:
            self.export_report(folder)

    def export_report(self, folder: str) -> list[str]:
        """Write PNG plots plus CSV/JSON numbers into ``folder``; returns the files written."""
        if self.report is None:
            return []
        from mmstudio import engine

        written = engine.save_report(self.report, folder)  # makes the folder
        if self.report.get("task") != "generate":  # a generator's numbers and examples are in report.json
            written += self.results.export_plots(folder)
        self.status.emit(f"Report written to {folder} ({len(written)} files)")
        return written

    def shutdown(self) -> None:
        self.compress_tab.shutdown()
        self.gallery.shutdown()
        self.lane.close(timeout=0.5)

    @property
    def shown_rows(self) -> list[int]:
        return self.results.shown_rows

    def show_misclassified(self) -> None:
        self.results.show_misclassified()


def export_start(bundle_path: str) -> str:
    """Where "Export report…" starts: beside the bundle when that is the user's and writable,
    else the home folder (never the installation, e.g. the bundled demo model)."""
    from mmstudio.gui.paths import RESOURCES

    folder = os.path.dirname(bundle_path) if bundle_path else ""
    inside = bool(folder) and os.path.realpath(folder).startswith(os.path.realpath(str(RESOURCES)) + os.sep)
    return folder if folder and not inside and os.access(folder, os.W_OK) else os.path.expanduser("~")

"""The Evaluate panel: how good a bundle is on one split of a dataset, and where it fails.

The report comes from ``engine.evaluation_report`` in a background lane; this panel only lays
its plain numbers out: metric tables, a clickable confusion matrix, a gallery of samples, the
ablation and robustness plots and the learned modality weights. "Export report" writes the
plots as PNG and the numbers as CSV and JSON.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.jobs import Lane
from mmstudio.gui.widgets.charts import BarChart
from mmstudio.gui.widgets.eval_charts import AblationChart, ConfusionHeatmap, RobustnessChart
from mmstudio.gui.widgets.gallery import SampleGallery
from mmstudio.gui.widgets.generation_view import GenerationReport
from mmstudio.gui.widgets.report_tables import MetricTables


class EvaluatePanel(QWidget):
    """``set_bundle(path)``, ``set_dataset(dataset)``, then ``evaluate()`` (or show the panel)."""

    status = Signal(str)
    report_ready = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bundle_path = ""
        self.dataset = None
        self.report: dict | None = None
        self._evaluated_for: tuple | None = None
        self.lane = Lane(self)
        self.lane.progress.connect(self._on_progress)
        self._build()
        self._update_buttons()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        title = QLabel("<h2>Evaluate</h2>")
        self.bundle_label = QLabel("No model yet: train one, or choose a bundle.")
        self.bundle_label.setObjectName("muted")
        choose = QPushButton("Choose bundle…")
        choose.clicked.connect(self._choose_bundle)
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which split of the Data panel's dataset to evaluate on")
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.export_button = QPushButton("Export report…")
        self.export_button.setToolTip("Plots as PNG, numbers as CSV and JSON, into a folder")
        self.export_button.clicked.connect(self._choose_export_folder)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(320)
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        bar = QHBoxLayout()
        bar.addWidget(title)
        bar.addSpacing(12)
        bar.addWidget(self.bundle_label, 1)
        bar.addWidget(choose)
        bar.addWidget(QLabel("Split"))
        bar.addWidget(self.split_combo)
        bar.addWidget(self.evaluate_button)
        bar.addWidget(self.export_button)
        bar.addWidget(self.progress)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        self.tables = MetricTables()
        self.heatmap = ConfusionHeatmap()
        self.heatmap.cell_clicked.connect(self._on_cell_clicked)
        self.ablation_chart = AblationChart()
        ablation, self.ablation_note = _with_note(self.ablation_chart)
        self.robustness_chart = RobustnessChart()
        self.weights_chart = BarChart("Learned modality weights")
        weights, self.weights_note = _with_note(self.weights_chart)
        self.plots = QTabWidget()
        self.plots.addTab(ablation, "Ablation")
        self.plots.addTab(self.robustness_chart, "Robustness")
        self.plots.addTab(weights, "Modality weights")
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.tables)
        top.addWidget(self.heatmap)
        top.addWidget(self.plots)
        top.setSizes([380, 420, 460])

        self.gallery_label = QLabel("Misclassified samples appear here after an evaluation.")
        self.gallery_label.setObjectName("headline")
        self.show_mistakes = QPushButton("Show all misclassified")
        self.show_mistakes.clicked.connect(self.show_misclassified)
        self.gallery = SampleGallery()
        head = QHBoxLayout()
        head.addWidget(self.gallery_label, 1)
        head.addWidget(self.show_mistakes)
        bottom = QWidget()
        b_layout = QVBoxLayout(bottom)
        b_layout.setContentsMargins(0, 0, 0, 0)
        b_layout.addLayout(head)
        b_layout.addWidget(self.gallery, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([470, 330])
        self.generation = GenerationReport()  # a generating model's texts instead of classes
        self.views = QStackedWidget()
        self.views.addWidget(split)
        self.views.addWidget(self.generation)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.views, 1)

    def _update_buttons(self) -> None:
        busy = self.lane.busy
        self.evaluate_button.setEnabled(bool(self.bundle_path and self.dataset is not None) and not busy)
        self.export_button.setEnabled(self.report is not None and not busy)
        self.show_mistakes.setEnabled(self.report is not None and "predictions" in self.report)

    # ---------------------------------------------------------------- inputs
    def set_bundle(self, path: str) -> None:
        self.bundle_path = path
        self.bundle_label.setText(f"Model: {_short_path(path)}")
        self.bundle_label.setToolTip(path)
        self._update_buttons()
        if self.isVisible():
            self._evaluate_if_stale()

    @Slot(object)
    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        splits = [s for s in dataset.splits() if s != "unassigned"]
        self.split_combo.clear()
        self.split_combo.addItems([*splits, "all"])
        for preferred in ("test", "val", "all"):
            if preferred in splits or preferred == "all":
                self.split_combo.setCurrentText(preferred)
                break
        self._update_buttons()

    def _choose_bundle(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model bundle (a folder with bundle.json)")
        if path:
            self.set_bundle(path)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._evaluate_if_stale()

    def _evaluate_if_stale(self) -> None:
        if (
            self.bundle_path
            and self.dataset is not None
            and not self.lane.busy
            and self._evaluated_for != self._inputs()
        ):
            self.evaluate()

    def _inputs(self) -> tuple:
        return (self.bundle_path, id(self.dataset), self.split_combo.currentText())

    # ---------------------------------------------------------------- evaluating
    def evaluate(self) -> None:
        if not self.bundle_path or self.dataset is None or self.lane.busy:
            return
        from mmstudio import engine

        self._evaluated_for = self._inputs()
        self.message.setVisible(False)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.progress.setVisible(True)
        self.lane.submit(
            engine.evaluation_report,
            self.bundle_path,
            self.dataset,
            split=self.split_combo.currentText(),
            with_progress=True,
            on_done=self._on_report,
            on_error=self._on_failed,
        )
        self._update_buttons()
        self.status.emit("Evaluating…")

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(message)

    def _on_failed(self, exc: BaseException) -> None:
        self.progress.setVisible(False)
        self.message.setText(f"Could not evaluate {self.bundle_path}: {exc}")
        self.message.setStyleSheet("background: #fdecea; color: #b3261e; padding: 6px;")
        self.message.setVisible(True)
        self._update_buttons()
        self.status.emit(f"Evaluation failed: {exc}")

    def _on_report(self, report: dict) -> None:
        self.report = report
        self.progress.setVisible(False)
        self.views.setCurrentIndex(1 if report.get("task") == "generate" else 0)
        if report.get("task") == "generate":
            self._show_generation(report)
            return
        self.tables.show_report(report)
        if "confusion" in report:
            self.heatmap.set_matrix(report["confusion"], report["class_names"])
        else:
            self.heatmap.set_matrix([], [])
            self.heatmap.setTitle("No confusion matrix: this model does not classify")
        self._show_ablation(report)
        if "robustness" in report:
            self.robustness_chart.set_curves(report["robustness"])
        self._show_weights(report)
        self.show_misclassified()
        self._update_buttons()
        if report.get("input_warnings"):  # inputs unlike the training data: say so above it all
            self.message.setText("⚠ " + " ".join(report["input_warnings"]))
            self.message.show()
        summary = ", ".join(f"{k.replace('_', ' ')} {report[k]:.4f}" for k in ("accuracy", "macro_f1") if k in report)
        self.status.emit(
            f"Evaluated on {len(report['samples']):,} {report['split']} items" + (f": {summary}" if summary else "")
        )
        self.report_ready.emit(report)

    def _show_generation(self, report: dict) -> None:
        from mmstudio import engine

        headers, rows = engine.comparison_rows(report)
        self.generation.show_report(report, headers, rows)
        self._update_buttons()
        g = report["generation"]
        self.status.emit(
            f"Evaluated on {report['items']:,} {report['split']} items: CER {g['cer']:.3f}, BLEU {g['bleu']:.1f}"
        )
        self.report_ready.emit(report)

    def _show_ablation(self, report: dict) -> None:
        a = report.get("ablation")
        if not a:
            self.ablation_note.setText("No ablation: it needs a classifier over two or more modalities.")
            return
        self.ablation_chart.set_ablation(a)
        if "only" not in a:
            self.ablation_note.setText("One modality: nothing to remove.")
            return
        best = a["best_single"]
        self.ablation_note.setText(
            f"<b>Fused {a['fused']:.3f}</b> vs the best single modality, <b>{best} only "
            f"{a['only'][best]:.3f}</b>: gain <b>{a['gain']:+.3f}</b>. “Only” bars are this same "
            "model with the other inputs masked as missing, not separately trained models."
        )

    def _show_weights(self, report: dict) -> None:
        weights = report.get("modality_weights")
        self.plots.setTabEnabled(2, bool(weights))
        if weights:
            self.weights_chart.set_values(weights)
            self.weights_note.setText(f"Softmax weights the {report.get('fusion')} fusion learned.")
        else:
            self.weights_note.setText("This fusion learns no per-modality weights.")

    # ---------------------------------------------------------------- samples
    def show_misclassified(self) -> None:
        if not self.report or "predictions" not in self.report:
            return
        from mmstudio import engine

        wrong = engine.misclassified(self.report)
        total = len(self.report["samples"])
        self.gallery_label.setText(
            f"Misclassified: {len(wrong):,} of {total:,} {self.report['split']} samples, most confident mistakes first"
        )
        self._show_samples(wrong)

    @Slot(int, int)
    def _on_cell_clicked(self, true: int, pred: int) -> None:
        if not self.report or "predictions" not in self.report:
            return
        from mmstudio import engine

        rows = engine.samples_in_cell(self.report, true, pred)
        names = self.report["class_names"]
        self.gallery_label.setText(f"True {names[true]}, predicted {names[pred]}: {len(rows):,} samples")
        self._show_samples(rows)

    def _show_samples(self, rows: list[int]) -> None:
        report = self.report
        if report is None:
            return
        p, names = report["predictions"], report["class_names"]
        samples = []
        for i in rows:
            s = dict(report["samples"][i])
            t, q, c = p["true"][i], p["pred"][i], p["confidence"][i]
            mark = "#2f9e55" if t == q else "#c2452d"
            s["caption"] = (
                f"<b>{s['id']}</b><br>true <b>{names[t] if t >= 0 else '?'}</b><br>"
                f"<span style='color:{mark}'>pred <b>{names[q]}</b></span> {c:.2f}"
            )
            samples.append(s)
        self.shown_rows = rows
        self.gallery.set_samples(samples)

    # ---------------------------------------------------------------- export
    def _choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the report into a folder")
        if folder:
            self.export_report(folder)

    def export_report(self, folder: str) -> list[str]:
        """Write PNG plots plus CSV/JSON numbers into ``folder``; returns the files written."""
        if self.report is None:
            return []
        from mmstudio import engine

        written = engine.save_report(self.report, folder)
        plots = {
            "confusion.png": self.heatmap,
            "ablation.png": self.ablation_chart,
            "robustness.png": self.robustness_chart,
            "modality_weights.png": self.weights_chart,
        }
        if self.report.get("task") == "generate":  # no plots: the numbers and examples are in report.json
            plots = {}
        for name, plot in plots.items():
            if name == "modality_weights.png" and not self.report.get("modality_weights"):
                continue
            path = os.path.join(folder, name)
            if _save_png(plot, path):
                written.append(path)
        self.status.emit(f"Report written to {folder} ({len(written)} files)")
        return written

    def shutdown(self) -> None:
        self.gallery.shutdown()
        self.lane.close(timeout=0.5)


def _save_png(plot, path: str) -> bool:
    """Render a plot at a readable size even when its tab is hidden."""
    from pyqtgraph.exporters import ImageExporter

    exporter = ImageExporter(plot.getPlotItem())
    exporter.parameters()["width"] = 900
    exporter.export(path)
    return os.path.isfile(path)


def _short_path(path: str) -> str:
    parts = os.path.normpath(path).split(os.sep)
    return os.sep.join(parts[-3:]) if len(parts) > 3 else path


def _with_note(chart: QWidget) -> tuple[QWidget, QLabel]:
    """``chart`` above a wrapping note (what the figure means): the page, and the note."""
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    note = QLabel("")
    note.setWordWrap(True)
    layout.addWidget(chart, 1)
    layout.addWidget(note)
    return page, note

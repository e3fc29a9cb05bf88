"""The Evaluate panel's results: metric tables, a clickable confusion matrix, the ablation,
robustness and modality-weight plots, and a gallery of samples, for one evaluation report."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from mmstudio.gui.widgets.charts import BarChart
from mmstudio.gui.widgets.eval_charts import AblationChart, ConfusionHeatmap, RobustnessChart
from mmstudio.gui.widgets.gallery import SampleGallery, data_modalities
from mmstudio.gui.widgets.regress_view import RegressView, worst_caption
from mmstudio.gui.widgets.report_tables import MetricTables


class EvalResults(QWidget):
    """``show_report(report)`` lays it out; ``clear()`` forgets it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: dict | None = None
        self.shown_rows: list[int] = []
        self.misclassified_count = 0  # of the report shown: "Show all misclassified" needs one
        self._modalities: set[str] = set()
        self.tables = MetricTables()
        self.heatmap = ConfusionHeatmap()
        self.heatmap.cell_clicked.connect(self._on_cell_clicked)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.tables)
        top.addWidget(self.heatmap)
        self.regress_view = RegressView()  # in the heatmap's place for a regress model
        self.regress_view.setVisible(False)
        top.addWidget(self.regress_view)
        top.addWidget(self._build_plots())
        top.setSizes([380, 420, 460])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self._build_gallery())
        split.setSizes([470, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def _build_plots(self) -> QTabWidget:
        self.ablation_chart = AblationChart()
        ablation, self.ablation_note = _with_note(self.ablation_chart)
        self.robustness_chart = RobustnessChart()
        self.weights_chart = BarChart("Learned modality weights")
        weights, self.weights_note = _with_note(self.weights_chart)
        self.plots = QTabWidget()
        self.plots.addTab(ablation, "Ablation")
        self.plots.addTab(self.robustness_chart, "Robustness")
        self.plots.addTab(weights, "Modality weights")
        return self.plots

    def _build_gallery(self) -> QWidget:
        self.gallery_label = QLabel("Misclassified samples appear here after an evaluation.")
        self.gallery_label.setObjectName("headline")
        self.show_mistakes = QPushButton("Show all misclassified")
        self.show_mistakes.setEnabled(False)
        self.show_mistakes.clicked.connect(self.show_misclassified)
        self.gallery = SampleGallery()
        head = QHBoxLayout()
        head.addWidget(self.gallery_label, 1)
        head.addWidget(self.show_mistakes)
        bottom = QWidget()
        layout = QVBoxLayout(bottom)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.gallery, 1)
        return bottom

    def show_report(self, report: dict) -> None:
        """Lay ``report`` out in every table, plot and the gallery (parts it lacks are disabled)."""
        self.report = report
        self._modalities = data_modalities(report.get("samples", []))
        self.tables.show_report(report)
        if "confusion" in report:
            self.heatmap.set_matrix(report["confusion"], report["class_names"])
        else:
            self.heatmap.set_matrix([], [], empty=no_confusion_reason(report))
        self._show_ablation(report)
        self.plots.setTabEnabled(1, "robustness" in report)
        if "robustness" in report:
            self.robustness_chart.set_curves(report["robustness"])
        self._show_weights(report)
        self.show_misclassified()
        self._show_regression(report)

    def clear(self) -> None:
        self.report = None
        self.shown_rows = []
        self.misclassified_count = 0
        self.show_mistakes.setEnabled(False)
        self.gallery.set_samples([])
        self.gallery_label.setText("Misclassified samples appear here after an evaluation.")

    def _show_ablation(self, report: dict) -> None:
        a = report.get("ablation")
        self.plots.setTabEnabled(0, bool(a))
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

    def _show_regression(self, report: dict) -> None:
        """A regress model: the scatter and ablation errors replace the heatmap; worst items below."""
        regress = "values" in report
        self.heatmap.setVisible(not regress)
        self.regress_view.setVisible(regress)
        if regress:
            self.regress_view.set_report(report)
            samples = [dict(report["samples"][i], caption=worst_caption(report, i)) for i in report["worst"]]
            self.gallery_label.setText(f"Worst predicted: {len(samples)} items with the largest errors, largest first")
            self.gallery.set_samples(samples, modalities=self._modalities)

    def _show_weights(self, report: dict) -> None:
        weights = report.get("modality_weights")
        self.plots.setTabEnabled(2, bool(weights))
        if weights:
            self.weights_chart.set_values(weights)
            self.weights_note.setText(f"Softmax weights the {report.get('fusion')} fusion learned.")
        else:
            self.weights_note.setText("This fusion learns no per-modality weights.")

    def show_misclassified(self) -> None:
        if self.report and "predictions" not in self.report:  # no classes: nothing can be misclassified
            self.gallery_label.setText("No misclassified samples: this model does not classify (its metrics are above)")
            self.show_mistakes.setEnabled(False)
        if not self.report or "predictions" not in self.report:
            return
        from mmstudio import engine

        wrong = engine.misclassified(self.report)
        total, split = len(self.report["samples"]), self.report["split"]
        self.misclassified_count = len(wrong)
        self.show_mistakes.setEnabled(bool(wrong))
        self.show_mistakes.setToolTip("" if wrong else "No misclassified items")
        if wrong:
            text = f"Misclassified: {len(wrong):,} of {total:,} {split} samples, most confident mistakes first"
        else:
            text = f"No misclassified items: all {total:,} {split} samples are predicted right"
        self.gallery_label.setText(text)
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
        self.gallery.set_samples(samples, modalities=self._modalities)

    def export_plots(self, folder: str) -> list[str]:
        """The plots as PNG files in ``folder``; returns the files written."""
        plots = {
            "confusion.png": self.heatmap,
            "ablation.png": self.ablation_chart,
            "robustness.png": self.robustness_chart,
            "modality_weights.png": self.weights_chart,
        }
        written = []
        for name, plot in plots.items():
            if name == "modality_weights.png" and not (self.report or {}).get("modality_weights"):
                continue
            path = os.path.join(folder, name)
            if _save_png(plot, path):
                written.append(path)
        return written


def _save_png(plot, path: str) -> bool:
    """Render a plot at a readable size even when its tab is hidden, in the light palette
    whatever the theme (a report is read elsewhere)."""
    from mmstudio.gui import theme

    return theme.export_png(plot, path, width=900)


def no_confusion_reason(report: dict) -> str:
    """Why a report has no confusion matrix, in the words of what is wrong."""
    if report.get("task") in ("classify", "classify+align") and report.get("class_names"):
        known = ", ".join(report["class_names"][:6]) + ("…" if len(report["class_names"]) > 6 else "")
        return f"No confusion matrix: no item of this split has a label the model knows ({known})"
    return "No confusion matrix: this model does not classify"


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

"""The Query panel: ask a trained model across modalities.

Pick a bundle (the last run's by default) and a collection (the Data panel's dataset, or any
dataset dropped here). The collection is indexed once in a background lane, cached beside the
bundle, and kept in memory; queries (typed text, debounced; an image; a sound) then rank it in
milliseconds. Classify mode shows class probabilities; the map shows where the query falls.
A generating model (the ``generate`` task) needs no collection: its Describe mode shows the text
it writes for an image or a sound, with the beam search's alternatives.
"""

from __future__ import annotations

import html
import os
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.jobs import Lane
from mmstudio.gui.widgets.charts import BarChart
from mmstudio.gui.widgets.embedding_map import EmbeddingMap
from mmstudio.gui.widgets.gallery import SampleGallery
from mmstudio.gui.widgets.generation_view import DescribeView
from mmstudio.gui.widgets.query_inputs import QueryInputs

DEBOUNCE_MS = 250
MANIFESTS = "Datasets (*.csv *.tsv *.jsonl *.ndjson *.txt);;All files (*)"


class _Asker:
    """Lives in the lane's thread: the loaded model and the collection's index."""

    def __init__(self) -> None:
        self.session: Any = None  # an engine.QuerySession once a bundle is loaded
        self.bundle = ""

    def prepare(self, bundle: str, dataset, progress=None) -> dict:
        from mmstudio import engine

        if self.session is None or self.bundle != bundle:
            if progress:
                progress(0.0, "Loading the model…")
            self.session, self.bundle = engine.QuerySession(bundle), bundle
        model = self.session.bundle.model
        if model.generates or dataset is None:  # describing needs no collection; searching waits for one
            return {"bundle": bundle, "modalities": list(model.modalities), "describes": model.generates}
        self.session.index(dataset, progress=progress)
        return {
            "bundle": bundle,
            "modalities": list(self.session.modalities),
            "targets": self.session.targets,
            "classify": model.classify,
            "align": model.align,
            "items": len(self.session.items),
            "collection": str(dataset.spec.path),
        }

    def ask(self, question: dict, map_method: str | None) -> dict:
        inputs = question["inputs"]
        if question["mode"] == "describe":
            from mmstudio import engine

            found = engine.describe_files(self.session.bundle, beam=question["beam"], **inputs)
            return {"mode": "describe", "asked": question, **found}
        if question["mode"] == "classify":
            return {"mode": "classify", **self.session.classify(**inputs)}
        out = self.session.query(**inputs, target=question["target"], top=question["top"], map_method=map_method)
        return {"mode": "search", "value": next(iter(inputs.values())), **out}

    def embedding_map(self, target: str, method: str) -> dict:
        out = self.session.embedding_map(target, method)
        out["items"] = self.session.items
        return out


class QueryPanel(QWidget):
    """``set_bundle(path)``, ``set_dataset(dataset)``; then type, drop or choose a query."""

    status = Signal(str)
    ready = Signal(dict)
    results_ready = Signal(dict)
    map_ready = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bundle_path = ""
        self.collection = None
        self.info: dict | None = None
        self.last: dict | None = None
        self._stale = False
        self._asker = _Asker()
        self.lane = Lane(self)
        self.lane.progress.connect(self._on_progress)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_query)
        self._build()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        self.bundle_label = QLabel("No model yet: train one, or choose a bundle.")
        self.bundle_label.setObjectName("muted")
        choose_bundle = QPushButton("Choose bundle…")
        choose_bundle.clicked.connect(self._choose_bundle)
        self.collection_label = QLabel("No collection: open a dataset in the Data panel or drop one here.")
        self.collection_label.setObjectName("muted")
        choose_collection = QPushButton("Search another dataset…")
        choose_collection.clicked.connect(self._choose_collection)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(300)
        self.progress.setVisible(False)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<h2>Query</h2>"))
        bar.addSpacing(12)
        info = QVBoxLayout()
        info.addWidget(self.bundle_label)
        info.addWidget(self.collection_label)
        bar.addLayout(info, 1)
        bar.addWidget(self.progress)
        bar.addWidget(choose_bundle)
        bar.addWidget(choose_collection)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("background: #fdecea; color: #b3261e; padding: 6px;")
        self.message.hide()

        self.inputs = QueryInputs()
        self.inputs.setMinimumWidth(300)
        self.inputs.setMaximumWidth(380)
        self.inputs.changed.connect(self.run_query)
        self.inputs.text_edited.connect(self._debounce.start)
        self.inputs.target.currentTextChanged.connect(self._on_target_changed)
        self.results_label = QLabel("Results appear here.")
        self.results_label.setObjectName("headline")
        self.results_label.setWordWrap(True)
        self.gallery = SampleGallery()
        self.probabilities = BarChart("Class probabilities")
        self.results = QStackedWidget()
        self.results.addWidget(self.gallery)
        self.results.addWidget(self.probabilities)
        self.describe_view = DescribeView()
        self.results.addWidget(self.describe_view)
        middle = QWidget()
        m_layout = QVBoxLayout(middle)
        m_layout.setContentsMargins(0, 0, 0, 0)
        m_layout.addWidget(self.results_label)
        m_layout.addWidget(self.results, 1)
        self.map_method = QComboBox()
        self.map_method.addItems(["PCA", "t-SNE"])
        self.map_method.setToolTip(
            "PCA is instant; t-SNE separates clusters better but takes several seconds (on up to 1,000 points)"
        )
        self.map_method.currentTextChanged.connect(lambda _t: self.draw_map())
        self.map = EmbeddingMap()
        right = QWidget()
        r_layout = QVBoxLayout(right)
        r_layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Embedding map</b>"))
        head.addStretch(1)
        head.addWidget(self.map_method)
        r_layout.addLayout(head)
        r_layout.addWidget(self.map, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.inputs)
        split.addWidget(middle)
        split.addWidget(right)
        self.map_side = right
        split.setSizes([320, 560, 410])
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

    # ---------------------------------------------------------------- model and collection
    def set_bundle(self, path: str) -> None:
        self.bundle_path = path
        self.bundle_label.setText(f"Model: {_short_path(path)}")
        self.bundle_label.setToolTip(path)
        self._prepare()

    @Slot(object)
    def set_dataset(self, dataset) -> None:
        """The collection to search (the Data panel's dataset, or one dropped here)."""
        self.collection = dataset
        name = os.sep.join(str(dataset.spec.path).rstrip(os.sep).split(os.sep)[-2:])
        self.collection_label.setText(f"Collection: {name} ({len(dataset.items):,} items)")
        self.collection_label.setToolTip(str(dataset.spec.path))
        self._prepare()

    def open_collection(self, path: str) -> None:
        from mmstudio.data import open_dataset

        self.collection_label.setText(f"Reading {path} …")
        self.lane.submit(open_dataset, path, on_done=self.set_dataset, on_error=self._on_failed)

    def _prepare(self) -> None:
        """Load the model and index the collection, once the panel is on screen (not before:
        a finished training run should not start indexing a collection nobody asked about)."""
        self.info = None
        self._stale = True
        if not self.bundle_path or not self.isVisible():
            return
        self._stale = False
        self.message.hide()
        self.progress.setValue(0)
        self.progress.setFormat("Loading the model…")
        self.progress.setVisible(True)
        self.lane.submit(
            self._asker.prepare,
            self.bundle_path,
            self.collection,
            key="prepare",
            with_progress=True,
            on_done=self._on_ready,
            on_error=self._on_failed,
        )

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._prepare()

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(message)

    def _on_ready(self, info: dict) -> None:
        if info["bundle"] != self.bundle_path:
            return  # another bundle was chosen meanwhile; its own job follows
        self.info = info
        self.progress.setVisible(False)
        self.map_side.setVisible(not info.get("describes"))
        if "targets" not in info:  # a generator (Describe), or a search model awaiting a collection
            self.inputs.set_modalities(info["modalities"], [], False, describes=bool(info.get("describes")))
            self.info = info if info.get("describes") else None
            if self.info is not None:
                self.status.emit("A generating model: drop an image or a sound to describe")
                self.ready.emit(info)
                self.run_query()
            return
        self.inputs.set_modalities(info["modalities"], info["targets"], info["classify"])
        self.status.emit(f"Indexed {info['items']:,} items: ask away")
        self.ready.emit(info)
        self.draw_map()
        self.run_query()

    def _on_failed(self, exc: BaseException) -> None:
        self.progress.setVisible(False)
        self.message.setText(str(exc))
        self.message.show()
        self.status.emit(f"Query: {exc}")

    def _choose_bundle(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model bundle (a folder with bundle.json)")
        if path:
            self.set_bundle(path)

    def _choose_collection(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Search another dataset", "", MANIFESTS)
        if path:
            self.open_collection(path)

    def accept_drop(self, paths: list[str]) -> bool:
        """A dropped image or sound becomes the query; a dropped dataset the collection."""
        if not paths:
            return False
        if self.inputs.set_file(paths[0]):
            return True
        if os.path.isdir(paths[0]) or os.path.splitext(paths[0])[1].lower() in (".csv", ".tsv", ".jsonl", ".ndjson"):
            self.open_collection(paths[0])
            return True
        return False

    # ---------------------------------------------------------------- asking
    @Slot()
    def run_query(self) -> None:
        self._debounce.stop()
        if self.info is None:
            return
        question = self.inputs.question()
        classify = question["mode"] == "classify"
        self.results.setCurrentIndex({"search": 0, "classify": 1, "describe": 2}[question["mode"]])
        if question["mode"] == "describe" and not question["inputs"]:
            self.results_label.setText("Drop or choose an image or a sound to describe.")
            return
        if not question["inputs"]:
            self.results_label.setText(
                "Tick at least one input to classify." if classify else "Type, drop or choose something to search with."
            )
            self.gallery.set_samples([])
            return
        self.lane.submit(
            self._asker.ask, question, self._map_key(), key="query", on_done=self._on_answer, on_error=self._on_failed
        )

    def _on_answer(self, answer: dict) -> None:
        self.message.hide()
        if answer["mode"] == "describe" and answer["asked"] != self.inputs.question():
            return  # a late answer to an earlier question (another file, another beam): dropped
        self.last = answer
        if answer["mode"] == "describe":
            self.describe_view.set_answer(answer)
            self.results_label.setText(f"What the model writes for the {' + '.join(answer['used'])}")
        elif answer["mode"] == "classify":
            probs = {row["label"]: row["probability"] for row in answer["top"]}
            self.probabilities.set_values(probs)
            self.probabilities.setTitle(f"Class probabilities from {', '.join(answer['used'])}: {answer['label']}")
            self.results_label.setText(f"Classified as <b>{answer['label']}</b> from {' + '.join(answer['used'])}")
        else:
            self._show_results(answer)
        self.results_ready.emit(answer)

    def _show_results(self, answer: dict) -> None:
        samples = []
        for r in answer["results"]:
            s = dict(r)
            s["caption"] = (
                f"<b>#{r['rank']}</b> · {r['score']:.3f}<br>label <b>{r.get('label') or '–'}</b>"
                f"<br><span style='color:#6a737d'>{r['id']}</span>"
            )
            samples.append(s)
        self.gallery.set_samples(samples)
        value = answer["value"]
        shown = f"“{value}”" if answer["query"] == "text" else os.path.basename(value)
        labels = [r.get("label") for r in answer["results"]]
        common = max(set(labels), key=labels.count) if labels else None
        self.results_label.setText(
            f"Top {len(samples)} {answer['target']} items for the {answer['query']} {shown}"
            + (f" — {labels.count(common)} labelled {common}" if common is not None else "")
            + (f"<br><span style='color:#b26a00'>⚠ {html.escape(answer['note'])}</span>" if answer.get("note") else "")
        )
        self.map.set_query_position(answer.get("position"))

    # ---------------------------------------------------------------- map
    def _map_key(self) -> str:
        return "tsne" if self.map_method.currentText() == "t-SNE" else "pca"

    @Slot(str)
    def _on_target_changed(self, _target: str) -> None:
        self.draw_map()

    def draw_map(self) -> None:
        target = self.inputs.target.currentText()
        if self.info is None or not target:
            return
        method = self._map_key()
        self.map.hint.setText(f"Computing the {self.map_method.currentText()} map…")
        self.lane.submit(
            self._asker.embedding_map, target, method, key="map", on_done=self._on_map, on_error=self._on_failed
        )

    def _on_map(self, data: dict) -> None:
        self.map.set_map(data, data["items"])
        self.map_ready.emit(data)
        if self.last is not None and self.last.get("mode") == "search":
            self.run_query()  # places the query's star on the new map

    def shutdown(self) -> None:
        self.gallery.shutdown()
        self.inputs.player.stop()
        self.lane.close(timeout=0.5)


def _short_path(path: str) -> str:
    parts = os.path.normpath(path).split(os.sep)
    return os.sep.join(parts[-3:]) if len(parts) > 3 else path

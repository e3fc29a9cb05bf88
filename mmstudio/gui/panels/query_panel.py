"""The Query panel: ask a trained model across modalities.

Pick a bundle (the last run's by default) and a collection (the Data panel's dataset, or any
dataset dropped here). The collection is indexed once in a background lane (into the user
cache folder, never beside the bundle), with progress and Stop; queries (typed text,
debounced; an image; a sound; "more like this" from a result) then rank it in milliseconds.
Classify mode shows class probabilities; the map shows where the query falls.

The panel shows results only for the (model, collection) named above them (``jobs.ViewKey``):
when either changes, results, error and map are cleared at once, work in flight for the old
pair is cancelled, and its late answers are dropped. The controls belong to the model named:
another model's are cleared at once and the new one's shown as soon as it has loaded, before
its collection is indexed (a model loads in one job, the collection indexes in the next).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMenu, QPushButton, QSplitter, QVBoxLayout, QWidget

from mmstudio.gui.jobs import Lane, ViewKey
from mmstudio.gui.panels.query_parts import (
    STALE_STYLE,
    Asker,
    Banner,
    MapColumn,
    ResultsColumn,
)
from mmstudio.gui.widgets.progress import ProgressStrip
from mmstudio.gui.widgets.query_inputs import QueryInputs

DEBOUNCE_MS = 250
LOADING = "Loading the model…"
MANIFESTS = "Datasets (*.csv *.tsv *.jsonl *.ndjson *.txt);;All files (*)"


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
        self.selected: dict | None = None  # the result card last clicked ("More like this")
        self._stale = False  # preparing waits until the panel is shown
        self._stopped = False  # the user stopped indexing: nothing indexes until Resume/Rebuild
        self._rebuild = False
        self._asker = Asker()
        self.lane = Lane(self, name="mmstudio-query")
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_query)
        self._build()
        self.lane.progress.connect(self.progress.set_progress)
        self._on_key_changed()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        self.inputs = QueryInputs()
        self.inputs.setMinimumWidth(300)
        self.inputs.setMaximumWidth(380)
        self.inputs.changed.connect(self.run_query)
        self.inputs.text_edited.connect(self._debounce.start)
        self.inputs.target.currentTextChanged.connect(self._on_target_changed)
        self.middle = ResultsColumn()
        self.gallery, self.results_label, self.probabilities = (
            self.middle.gallery,
            self.middle.label,
            self.middle.probabilities,
        )
        self.results = self.middle.stack
        self.describe_view = self.middle.describe_view
        self.gallery.sample_clicked.connect(self._on_sample_clicked)
        self.gallery.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.gallery.customContextMenuRequested.connect(self._on_gallery_menu)
        self.middle.more_button.clicked.connect(lambda: self.more_like(self.selected))
        self.right = self.map_side = MapColumn()  # hidden for a generator (nothing to map)
        self.map, self.map_method = self.right.map, self.right.method
        self.map_method.currentTextChanged.connect(lambda _t: self.draw_map())
        split = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((self.inputs, 0), (self.middle, 3), (self.right, 2)):
            split.addWidget(widget)
            split.setStretchFactor(split.count() - 1, stretch)
        split.setSizes([320, 560, 410])
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_bar())
        layout.addWidget(self.progress)
        self.banner = Banner()
        self.message, self.resume_button = self.banner.message, self.banner.resume_button
        self.banner.resume_requested.connect(self._prepare)
        self.banner.rebuild_requested.connect(lambda: self._prepare(rebuild=True))
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)

    def _build_bar(self) -> QHBoxLayout:
        self.key_label = QLabel("")
        self.key_label.setObjectName("muted")
        self.key_label.setWordWrap(True)
        choose_bundle = QPushButton("Choose bundle…")
        choose_bundle.clicked.connect(self._choose_bundle)
        choose_collection = QPushButton("Search another dataset…")
        choose_collection.clicked.connect(self._choose_collection)
        self.progress = ProgressStrip("Stop")
        self.progress.cancel_button.setToolTip("Stop indexing; what is indexed is kept, and Resume continues")
        self.progress.cancelled.connect(self.stop)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<h2>Query</h2>"))
        bar.addSpacing(12)
        bar.addWidget(self.key_label, 1)
        bar.addWidget(choose_bundle)
        bar.addWidget(choose_collection)
        return bar

    # ---------------------------------------------------------------- the key: what is shown
    def key(self) -> ViewKey:
        """The (model, collection) this panel shows results for."""
        ds = self.collection
        path = str(ds.spec.path) if ds is not None else ""
        return ViewKey(self.bundle_path, path, "all" if ds is not None else "", id(ds) if ds is not None else 0)

    def _on_key_changed(self) -> None:
        """Another model or collection: clear what was shown, cancel work for the old pair."""
        key = self.key()
        old = self.lane.view
        self.key_label.setText(key.describe())
        self.key_label.setToolTip(f"{key.model}\n{key.dataset}")
        if not self.lane.set_view(key):  # the same key: retry only what is missing
            if self.info is None and not self.lane.working and not self._stopped:
                self._prepare()
            return
        had = self.info is not None or self.last is not None
        self.info, self.last, self.selected, self._stopped = None, None, None, False
        self._clear_results(
            "Results appear here once the collection is indexed."
            if key.complete
            else "Choose a model and a dataset to search (or a generating model to describe)."
        )
        self.map.clear()
        self.progress.finish()
        self.banner.show_text(
            f"Cleared the results of {old.describe()}: they do not belong to the new choice." if had and old else "",
            STALE_STYLE,
        )
        if old is None or old.model != key.model:  # the old model's controls go at once
            self.inputs.clear_model(LOADING if key.model else "Choose a model (or train one).")
        self.inputs.start_dir = os.path.dirname(key.dataset) if key.dataset else ""
        if key.complete:
            self.status.emit(f"Query: preparing {os.path.basename(key.dataset)} for {os.path.basename(key.model)}")
        self._prepare()

    def _clear_results(self, text: str) -> None:
        self.gallery.set_samples([])
        self.probabilities.set_values({})
        self.results_label.setText(text)
        self.middle.more_button.setEnabled(False)
        self.map.set_query_position(None)

    # ---------------------------------------------------------------- model and collection
    def reset(self) -> None:
        """New Project: no model, no collection, no inputs, results or banner of the last one."""
        self.inputs.reset()
        self.bundle_path, self.collection = "", None
        self._on_key_changed()
        self.banner.clear()

    def set_bundle(self, path: str) -> None:
        self.bundle_path = path
        self._on_key_changed()

    @Slot(object)
    def set_dataset(self, dataset) -> None:
        """The collection to search (the Data panel's dataset, or one dropped here); ``None``
        while the Data panel reads another one."""
        self.collection = dataset
        self._on_key_changed()

    def open_collection(self, path: str) -> None:
        from mmstudio.data import open_dataset

        self.progress.start(f"Reading {os.path.basename(path.rstrip(os.sep))}…", cancellable=False)
        self.lane.submit(open_dataset, path, view=self.key(), on_done=self.set_dataset, on_error=self._on_failed)

    def _prepare(self, rebuild: bool = False) -> None:
        """Load the model, then index the collection, once the panel is on screen (not before:
        a finished training run should not start indexing a collection nobody asked about)."""
        self._stale = True
        if not self.bundle_path or not self.isVisible():  # a generator describes without a collection
            return
        self._stale, self._stopped, self._rebuild = False, False, rebuild
        if self.banner.incomplete:  # resuming or rebuilding: the offer goes
            self.banner.clear()
        self.progress.start(f"Preparing {os.path.basename(self.key().dataset) or 'the model'}…")
        self.lane.submit(
            self._asker.load,
            self.bundle_path,
            self.collection,
            slot="prepare",
            view=self.key(),
            with_progress=True,
            on_done=self._on_loaded,
            on_error=self._on_failed,
        )

    def _on_loaded(self, info: dict) -> None:
        """The model is loaded: its controls now, then its collection is indexed."""
        describes = bool(info["describes"])
        self.right.setVisible(not describes)
        can_classify = info["classify"] and not describes
        self.inputs.set_modalities(info["modalities"], info["targets"], can_classify, info["align"], describes)
        if describes:  # a generator: nothing to index
            self.info = info
            self.progress.finish()
            self.status.emit("A generating model: drop an image or a sound to describe")
            self.ready.emit(info)
            self.run_query()
        elif self.collection is None:
            self.progress.finish()
            self.results_label.setText("Open a dataset (Data panel) or search another one to ask this model.")
        elif self._stopped:  # Stop was pressed while the model loaded
            self._show_incomplete()
        else:
            self.lane.submit(
                self._asker.index,
                self.collection,
                self._rebuild,
                slot="index",
                view=self.key(),
                with_progress=True,
                on_done=self._on_ready,
                on_error=self._on_failed,
            )

    def stop(self) -> None:
        """Stop indexing (between batches): the embedded items are kept; Resume continues."""
        self._stopped = True
        self.lane.cancel("index")
        self.progress.finish()
        self._show_incomplete()
        self.status.emit("Query: indexing stopped")

    def _show_incomplete(self) -> None:
        self.results_label.setText("The index is incomplete: results appear once it is finished.")
        self.banner.show_incomplete(
            "The index is incomplete: indexing was stopped. Resume indexing continues from what was "
            "embedded; Rebuild index starts over."
        )

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale and not self._stopped:
            self._prepare()

    def _on_ready(self, info: dict) -> None:
        """The collection is indexed: ask away."""
        self.info = info
        self.progress.finish()
        self.banner.clear()
        self.inputs.set_targets(info["targets"])
        self.inputs.set_examples(info["examples"])
        self.results_label.setText("Type, drop or choose something to search with.")
        self.status.emit(f"Indexed {info['items']:,} items: ask away")
        self.ready.emit(info)
        self.draw_map()
        self.run_query()

    def _on_failed(self, exc: BaseException) -> None:
        self.progress.finish()
        self._clear_results("No results: see the message above.")
        self.banner.show_text(str(exc))
        if self.inputs.hint.text() == LOADING:  # the model did not load: it offers no controls
            self.inputs.hint.setText("This model could not be loaded: see the message above.")
        self.status.emit(f"Query: {exc}")

    def _choose_bundle(self) -> None:
        start = os.path.dirname(self.bundle_path) if self.bundle_path else os.path.expanduser("~")
        path = QFileDialog.getExistingDirectory(self, "Choose a model bundle (a folder with bundle.json)", start)
        if path:
            self.set_bundle(path)

    def _choose_collection(self) -> None:
        start = self.inputs.start_folder()
        path, _ = QFileDialog.getOpenFileName(self, "Search another dataset", start, MANIFESTS)
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
            self._clear_results(
                "Tick at least one input to classify." if classify else "Type, drop or choose something to search with."
            )
            return
        self._submit(self._asker.ask, question, self.right.method_key())

    def more_like(self, sample: dict | None) -> None:
        """Items like a result (``sample``, a card's), in the "Find" modality."""
        if self.info is None or not sample or sample.get("index") is None:
            return
        target = self.inputs.target.currentText() or None
        self._submit(self._asker.more_like, sample["index"], target, self.inputs.top.value())

    def _submit(self, fn, *args) -> None:
        self.lane.submit(fn, *args, slot="query", view=self.key(), on_done=self._on_answer, on_error=self._on_failed)

    def _on_answer(self, answer: dict) -> None:
        self.banner.clear()
        if answer["mode"] == "describe" and answer["asked"] != self.inputs.question():
            return  # a late answer to an earlier question (another file, another beam): dropped
        self.last = answer
        self.middle.show_answer(answer)
        if answer["mode"] in ("search", "like"):
            self.selected = None
            self.map.set_query_position(answer.get("position"))
        self.results_ready.emit(answer)

    @Slot(dict)
    def _on_sample_clicked(self, sample: dict) -> None:
        self.selected = sample
        self.middle.more_button.setEnabled(sample.get("index") is not None)
        self.middle.more_button.setText(f"More like #{sample['rank']}" if sample.get("rank") else "More like this")

    @Slot(QPoint)
    def _on_gallery_menu(self, pos: QPoint) -> None:
        item = self.gallery.itemAt(pos)
        card = self.gallery.itemWidget(item) if item is not None else None
        sample = getattr(card, "sample", None)
        if not sample:
            return
        menu = QMenu(self)
        menu.addAction("More like this", lambda: self.more_like(sample))
        menu.exec(self.gallery.viewport().mapToGlobal(pos))

    # ---------------------------------------------------------------- map
    @Slot(str)
    def _on_target_changed(self, _target: str) -> None:
        self.draw_map()

    def draw_map(self) -> None:
        target = self.inputs.target.currentText()
        if self.info is None or not target:
            return
        self.map.hint.setText(f"Computing the {self.map_method.currentText()} map…")
        self.lane.submit(
            self._asker.embedding_map,
            target,
            self.right.method_key(),
            slot="map",
            view=self.key(),
            on_done=self._on_map,
            on_error=self._on_map_failed,
        )

    def _on_map(self, data: dict) -> None:
        self.map.set_map(data, data["items"])
        self.map_ready.emit(data)
        if self.last is not None and self.last.get("mode") == "search":
            self.run_query()  # places the query's star on the new map

    def _on_map_failed(self, exc: BaseException) -> None:
        self.map.hint.setText(f"No map: {exc}")

    def shutdown(self) -> None:
        self.gallery.shutdown()
        self.inputs.player.stop()
        self.lane.close(timeout=0.5)

"""The Query panel's parts: the asker (the model and index, in the lane's thread), the banner
(an error, cleared results, or an incomplete index with Resume and Rebuild), the results column
(gallery or class probabilities, "More like this") and the embedding-map column."""

from __future__ import annotations

import html
import os
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from mmstudio.gui.widgets.charts import BarChart
from mmstudio.gui.widgets.embedding_map import EmbeddingMap
from mmstudio.gui.widgets.gallery import SampleGallery
from mmstudio.gui.widgets.generation_view import DescribeView


class Asker:
    """Lives in the lane's thread: the loaded model and the collection's index."""

    def __init__(self) -> None:
        self.session: Any = None  # an engine.QuerySession once a bundle is loaded
        self.bundle = ""

    def load(self, bundle: str, dataset, progress=None) -> dict:
        """Load ``bundle`` (unless loaded): what the panel's controls need, before any indexing
        (the modalities, Describe or Search, Classify; the targets ``dataset`` will offer)."""
        from mmstudio import engine

        if self.session is None or self.bundle != bundle:
            if progress:
                progress(0.0, "Loading the model…")
            self.session, self.bundle = None, ""  # a model that fails to load leaves none behind
            self.session, self.bundle = engine.QuerySession(bundle), bundle
        model = self.session.bundle.model
        counts = dataset.modality_counts() if dataset is not None and not model.generates else {}
        return {
            "bundle": bundle,
            "modalities": list(model.modalities),
            "describes": model.generates,
            "classify": model.classify or model.regress,  # regress: "classify" shows the number
            "align": model.align,
            "targets": [m for m in model.modalities if counts.get(m)],
        }

    def index(self, dataset, rebuild: bool = False, progress=None) -> dict:
        """Index ``dataset`` with the loaded model (``rebuild``: from nothing); ``progress`` may
        raise ``jobs.Cancelled``, which stops between batches (what is embedded is kept)."""
        self.session.index(dataset, progress=progress, rebuild=rebuild)
        return {
            "bundle": self.bundle,
            "modalities": list(self.session.modalities),
            "targets": self.session.targets,
            "items": len(self.session.items),
            "collection": str(dataset.spec.path),
            "examples": examples(self.session.bundle.class_names, self.session.items),
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

    def more_like(self, index: int, target: str | None, top: int) -> dict:
        out = self.session.more_like(index, target=target, top=top)
        item = self.session.items[index]
        return {"mode": "like", "value": str(item.get("id") or index), **out}

    def embedding_map(self, target: str, method: str) -> dict:
        out = self.session.embedding_map(target, method)
        out["items"] = self.session.items
        return out


def examples(class_names: list[str], items: list[dict], n: int = 2) -> list[str]:
    """Words to suggest typing: the model's classes, else the collection's labels, else the
    first words of its texts."""
    if class_names:
        step = max(1, len(class_names) // n)
        return [class_names[(i * step + step // 2) % len(class_names)] for i in range(min(n, len(class_names)))]
    labels = sorted({str(it["label"]) for it in items[:2000] if it.get("label")})
    if labels:
        return labels[:n]
    texts = [" ".join(str(it["text"]).split()[:3]) for it in items[:50] if it.get("text")]
    return list(dict.fromkeys(texts))[:n]


def result_caption(r: dict) -> str:
    """A result card's caption: rank, score, label and id."""
    return (
        f"<b>#{r['rank']}</b> · {r['score']:.3f}<br>label <b>{r.get('label') or '–'}</b>"
        f"<br><span style='color:#6a737d'>{r['id']}</span>"
    )


ERROR_STYLE = "background: #fdecea; color: #b3261e; padding: 6px;"
STALE_STYLE = "background: #fff4d6; color: #6b4e00; padding: 6px;"


class Banner(QWidget):
    """One line above the results: an error, why they were cleared, or an incomplete index
    (indexing was stopped) with Resume and Rebuild."""

    resume_requested = Signal()
    rebuild_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.resume_button = QPushButton("Resume indexing")
        self.resume_button.setToolTip("Embed the items still missing; what is embedded is kept")
        self.resume_button.clicked.connect(self.resume_requested)
        self.rebuild_button = QPushButton("Rebuild index")
        self.rebuild_button.setToolTip("Throw away what was embedded and index the whole collection again")
        self.rebuild_button.clicked.connect(self.rebuild_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.message, 1)
        row.addWidget(self.resume_button)
        row.addWidget(self.rebuild_button)
        self.clear()

    @property
    def incomplete(self) -> bool:
        """Whether it offers to resume (an index stopped part-way)."""
        return not self.resume_button.isHidden()

    def show_text(self, text: str, style: str = ERROR_STYLE) -> None:
        """``text`` alone (none: nothing shown); an offer to resume goes."""
        self.message.setText(text)
        self.message.setStyleSheet(style)
        self.message.setVisible(bool(text))
        self.resume_button.hide()
        self.rebuild_button.hide()

    def show_incomplete(self, text: str) -> None:
        self.show_text(text, STALE_STYLE)
        self.resume_button.show()
        self.rebuild_button.show()

    def clear(self) -> None:
        self.show_text("")


class ResultsColumn(QWidget):
    """A headline over the result cards (search) or the class probabilities (classify)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("Results appear here.")
        self.label.setObjectName("headline")
        self.label.setWordWrap(True)
        self.more_button = QPushButton("More like this")
        self.more_button.setToolTip("Click a result, then this: items like it (or right-click a result)")
        self.more_button.setEnabled(False)
        self.gallery = SampleGallery()
        self.probabilities = BarChart("Class probabilities")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.gallery)
        self.stack.addWidget(self.probabilities)
        self.describe_view = DescribeView()  # a generating model's texts (Describe mode)
        self.stack.addWidget(self.describe_view)
        head = QHBoxLayout()
        head.addWidget(self.label, 1)
        head.addWidget(self.more_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)

    def show_answer(self, answer: dict) -> None:
        """An answer, in the page of its mode: texts (describe), a number (regress), class
        probabilities (classify) or result cards (search, "more like this")."""
        self.stack.setCurrentIndex({"classify": 1, "describe": 2}.get(answer["mode"], 0))  # answers come in order
        used = " + ".join(answer.get("used", []))
        if answer["mode"] == "describe":
            self.describe_view.set_answer(answer)
            self.label.setText(f"What the model writes for the {used}")
        elif answer["mode"] == "classify" and "value" in answer:  # regress: the predicted number
            self.probabilities.set_values({})
            self.probabilities.setTitle(f"Predicted from {', '.join(answer['used'])}: {answer['value']:.4g}")
            self.label.setText(f"Predicted <b>{answer['value']:.4g}</b> from {used}")
        elif answer["mode"] == "classify":
            self.probabilities.set_values({row["label"]: row["probability"] for row in answer["top"]})
            self.probabilities.setTitle(f"Class probabilities from {', '.join(answer['used'])}: {answer['label']}")
            self.label.setText(f"Classified as <b>{answer['label']}</b> from {used}")
        else:
            self.gallery.set_samples([dict(r, caption=result_caption(r)) for r in answer["results"]])
            self.more_button.setEnabled(False)
            self.more_button.setText("More like this")
            self.label.setText(results_headline(answer))


def results_headline(answer: dict) -> str:
    """What a search found: "Top 10 image items for the text “seven” — 10 labelled 7"."""
    value = answer["value"]
    shown = f"“{value}”" if answer["query"] == "text" and answer["mode"] == "search" else os.path.basename(value)
    asked = f"items like {shown}" if answer["mode"] == "like" else f"the {answer['query']} {shown}"
    labels = [r.get("label") for r in answer["results"]]
    common = max(set(labels), key=labels.count) if labels else None
    n = len(answer["results"])
    only = f" (only {n} distinct in this collection)" if answer.get("exhausted") else ""  # fewer than Top K
    return (
        f"Top {n} {answer['target']} items{only} for {asked}"
        + (f" — {labels.count(common)} labelled {common}" if common is not None else "")
        + (f"<br><span style='color:#b26a00'>⚠ {html.escape(answer['note'])}</span>" if answer.get("note") else "")
    )


class MapColumn(QWidget):
    """The embedding map with its method (PCA or t-SNE)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = QComboBox()
        self.method.addItems(["PCA", "t-SNE"])
        self.method.setToolTip(
            "PCA is instant; t-SNE separates clusters better but takes several seconds (on up to 1,000 points)"
        )
        self.map = EmbeddingMap()
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Embedding map</b>"))
        head.addStretch(1)
        head.addWidget(self.method)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.map, 1)

    def method_key(self) -> str:
        return "tsne" if self.method.currentText() == "t-SNE" else "pca"

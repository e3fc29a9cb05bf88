"""The Query panel's parts: the asker (the model and index, in the lane's thread), the results
column (gallery or class probabilities, "More like this") and the embedding-map column."""

from __future__ import annotations

from typing import Any

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

    def prepare(self, bundle: str, dataset, progress=None) -> dict:
        """Load ``bundle`` (unless loaded) and index ``dataset``; ``progress`` may raise
        ``jobs.Cancelled``, which stops indexing between batches (what is embedded is kept)."""
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
            "classify": model.classify or model.regress,  # regress: "classify" shows the number
            "align": model.align,
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

"""Asking one bundle many questions: the model loaded once, a collection's index opened.

The Query panel and ``scripts/bench_query.py`` use this. A collection is embedded into an
on-disk store in the user's cache folder (:mod:`mmstudio.engine.collection`), keyed by the
model, the dataset's path and the split; opening it again embeds only files added or changed
since (:func:`mmstudio.engine.indexing.index_collection`), and a second :meth:`QuerySession.index`
of the same collection returns at once. Large collections are searched through their FAISS
index (:mod:`mmstudio.engine.search`). An index shipped inside a bundle (the demo's) over this
very collection is used as is.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mmstudio.engine.bundle import Bundle, BundleError, load_bundle
from mmstudio.engine.inputstats import input_warnings
from mmstudio.engine.projection import Projection, project
from mmstudio.engine.retrieval import INDEX_FILE, embed_input, load_index, query_input

MAP_POINTS = {"pca": 3000, "tsne": 1000}  # the most points a map shows (t-SNE is O(N^2))


def collection_key(dataset, split: str = "all") -> str:
    """A short hash naming a collection: its path, split and every item's id and files."""
    h = hashlib.sha1(f"{dataset.spec.path}\0{split}".encode())
    items = dataset.items if split == "all" else dataset.subset(split)
    for it in items:
        h.update(f"{it.id}\0{it.image}\0{it.audio}\0{it.text}\0{it.label}\n".encode())
    return h.hexdigest()[:16]


#: Hits asked for per result wanted, so duplicates of one input can be dropped.
DUPLICATE_ROOM = 5


class QuerySession:
    """A loaded bundle plus the index of one collection: ``index`` then ``query`` / ``classify``."""

    def __init__(self, bundle) -> None:
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.key = ""
        self.path = ""
        self.search: Any = None  # a CollectionSearch once a collection is indexed
        self.items: Any = []
        self._maps: dict[tuple[str, str], tuple[Projection, list[int]]] = {}

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.bundle.modalities

    @property
    def targets(self) -> list[str]:
        """Modalities the current index holds embeddings of."""
        return [m for m in self.modalities if self.search and m in self.search.targets]

    def index(
        self,
        dataset,
        split: str = "all",
        progress: Callable[[float, str], None] | None = None,
        control=None,
        rebuild: bool = False,
    ) -> str:
        """Make ``dataset`` the collection searched, embedding what its store lacks; returns the
        store's path. ``control`` (an ``engine.Control``) stops indexing between batches;
        ``rebuild`` deletes the cached store first and embeds every item again."""
        from mmstudio.engine.collection import collection_folder, discard
        from mmstudio.engine.data import load_dataset
        from mmstudio.engine.events import drive
        from mmstudio.engine.indexing import index_collection
        from mmstudio.engine.search import CollectionSearch

        dataset = load_dataset(dataset)
        key = collection_key(dataset, split)
        if rebuild:
            sha = self.bundle.meta.get("weights", {}).get("sha256", "")
            discard(collection_folder(sha, dataset.spec.path, split))
            self.key, self.search, self.items = "", None, []
        if key == self.key and self.search is not None:
            return self.path
        search = None if rebuild else self._shipped(dataset, split)
        if search is None:

            def on_event(e) -> None:
                if progress is not None and e.total:
                    progress(e.done / e.total, describe_progress(e))

            result = drive(index_collection(self.bundle, dataset, split, control=control), on_event)
            if result.stopped:
                raise RuntimeError(
                    f"indexing stopped at {result.rows:,} of {len(dataset.items):,} items; index again to continue"
                )
            search = CollectionSearch(os.path.dirname(result.path))
        self.search, self.items = search, search.items
        self.key, self.path = key, search.store.path
        self._maps.clear()
        if progress is not None:
            progress(1.0, f"Indexed {search.store.live:,} items")
        return self.path

    def open_collection(self, folder: str) -> str:
        """Search the collection already indexed in ``folder`` (no dataset scan, no embedding)."""
        from mmstudio.engine.search import CollectionSearch

        search = CollectionSearch(folder)
        if search.store.info.get("bundle_sha256") != self.bundle.meta.get("weights", {}).get("sha256", ""):
            raise BundleError(f"{search.store.path}: indexed with another model; index it again")
        self.search, self.items = search, search.items
        self.key, self.path = f"folder:{folder}", search.store.path
        self._maps.clear()
        return self.path

    def _shipped(self, dataset, split: str):
        """A search over the bundle's own ``index.safetensors`` when it holds exactly
        ``dataset``'s items (its paths are relative to it, so it matches in any clone)."""
        from mmstudio.engine.search import memory_search

        path = os.path.join(self.bundle.path, INDEX_FILE)
        if not os.path.isfile(path):
            return None
        try:
            tensors, records, meta = load_index(path)
        except BundleError:
            return None
        if meta.get("bundle_sha256", "") != self.bundle.meta.get("weights", {}).get("sha256", ""):
            return None
        items = dataset.items if split == "all" else dataset.subset(split)
        fields = ("id", "image", "audio", "text", "label")
        have = [tuple(r.get(f) for f in fields) for r in records]
        want = [tuple(getattr(it, f) for f in fields) for it in items]
        return memory_search(tensors, records, path) if have == want else None

    @torch.no_grad()
    def embed(
        self, text: str | None = None, image: str | None = None, audio: str | None = None
    ) -> tuple[str, torch.Tensor]:
        modality, x = self.model_input(text, image, audio)
        return modality, embed_input(self.bundle, modality, x)

    def model_input(
        self, text: str | None = None, image: str | None = None, audio: str | None = None
    ) -> tuple[str, torch.Tensor]:
        """(modality, one-item model input) of the one query given."""
        given = [(m, v) for m, v in (("text", text), ("image", image), ("audio", audio)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one query: text, image or audio")
        modality, value = given[0]
        if modality not in self.modalities:
            raise ValueError(f"this model has no {modality} encoder (it has {', '.join(self.modalities)})")
        return modality, query_input(self.bundle, modality, value)

    @torch.no_grad()
    def query(
        self,
        text: str | None = None,
        image: str | None = None,
        audio: str | None = None,
        target: str | None = None,
        top: int = 10,
        map_method: str | None = None,
        label=None,
        split=None,
        has=None,
        knob: int | None = None,
    ) -> dict[str, Any]:
        """The ``top`` items of modality ``target`` nearest the query (scores are cosines).

        ``label``, ``split`` and ``has`` (a value or a list) keep only matching items; ``knob``
        trades speed for recall on a large collection. With ``map_method``, also where the
        query falls on that map of ``target`` (``position``), when the map has been computed.
        """
        if self.search is None:
            raise RuntimeError("no collection indexed yet: call index() first")
        modality, x = self.model_input(text, image, audio)
        q = embed_input(self.bundle, modality, x)
        target = self._target(modality, target)
        vector = q.numpy()
        results, short = self._distinct(
            lambda k: self.search.search(vector, target, k, label=label, split=split, has=has, knob=knob), target, top
        )
        out: dict[str, Any] = {"query": modality, "target": target, "results": results, "exhausted": short}
        notes = input_warnings(self.bundle.meta.get("input_stats"), {modality: x})
        if notes:
            out["note"] = notes[0]
        cached = self._maps.get((target, map_method or ""))
        if cached is not None:
            out["position"] = cached[0].locate(q)
        return out

    def more_like(self, index: int, target: str | None = None, top: int = 10, **filters) -> dict[str, Any]:
        """Items of ``target`` (default: the result's own first modality) nearest item
        ``index`` (a result's ``index``), the item itself left out."""
        if self.search is None:
            raise RuntimeError("no collection indexed yet: call index() first")
        have = [m for m in self.targets if self.search.present(m)[index]]
        if not have:
            raise ValueError(f"item {index} has no embeddings in this collection")
        target = target or have[0]
        source = target if target in have else have[0]
        if source != target and not self.bundle.model.align:
            raise ValueError(f"this model was not trained to align {source} with {target}")
        results, short = self._distinct(
            lambda k: self.search.more_like(index, target, k, modality=source, **filters), target, top
        )
        return {"query": source, "target": target, "like": index, "results": results, "exhausted": short}

    def _distinct(self, fetch: Callable[[int], list], target: str, top: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``top`` result rows, each distinct ``target`` input once, and whether the
        collection (as filtered) ran out of distinct inputs before ``top``.

        Several items may share one target input (an image with five captions), so ``fetch(k)``
        (the ``k`` nearest hits) is asked for more hits, four times as many each round, until
        ``top`` distinct inputs are found or it returns fewer than asked (nothing left)."""
        asked = top * DUPLICATE_ROOM
        while True:
            hits = fetch(asked)
            results = self._results(hits, target)
            if len(results) >= top or len(hits) < asked:
                return results[:top], len(results) < top
            asked *= 4

    def _target(self, modality: str, target: str | None) -> str:
        if target is None:
            others = [m for m in self.targets if m != modality]
            target = others[0] if self.bundle.model.align and others else modality
        if target not in self.targets:
            raise ValueError(f"the index has no {target} embeddings (it has {', '.join(self.targets)})")
        if modality != target and not self.bundle.model.align:
            raise ValueError(
                f"this model was not trained to align {modality} with {target}: search {modality} against {modality}"
            )
        return target

    def _results(self, hits: list[tuple[int, float]], target: str) -> list[dict[str, Any]]:
        """Result rows, each distinct ``target`` input once (the best-scoring item shows it)."""
        out: list[dict[str, Any]] = []
        seen: set[Any] = set()
        for i, score in hits:
            item = self.items[i]
            key = item.get(target)
            key = " ".join(str(key).split()).casefold() if target == "text" and key else key
            if key is not None and key in seen:
                continue
            seen.add(key)
            out.append(
                {
                    "rank": len(out) + 1,
                    "score": round(score, 4),
                    "index": i,
                    **item,
                    "path": item.get(target) if target != "text" else None,
                }
            )
        return out

    def classify(self, image: str | None = None, text: str | None = None, audio: str | None = None) -> dict[str, Any]:
        """Class probabilities (every class, best first) from any subset of the inputs."""
        from mmstudio.engine.prediction import predict

        return predict(self.bundle, image=image, audio=audio, text=text, top=max(1, len(self.bundle.class_names)))

    def embedding_map(self, target: str, method: str = "pca", max_points: int = 0, seed: int = 0) -> dict[str, Any]:
        """A 2-D map of the collection's ``target`` embeddings (subsampled to ``max_points``)."""
        if target not in self.targets:
            raise ValueError(f"the index has no {target} embeddings")
        cached = self._maps.get((target, method))
        if cached is None:
            rows = np.flatnonzero(self.search.present(target))
            max_points = max_points or MAP_POINTS.get(method, 2000)
            if len(rows) > max_points:
                rng = np.random.default_rng(seed)
                rows = np.sort(rng.choice(rows, max_points, replace=False))
            vectors = torch.from_numpy(np.array(self.search.store.vectors(target)[rows]))
            proj = project(vectors, method, seed)
            cached = self._maps[(target, method)] = (proj, rows.tolist())
        proj, indices = cached
        return {
            "method": method,
            "target": target,
            "xy": np.asarray(proj.xy, dtype=np.float32),
            "indices": indices,
            "labels": [self.items[i].get("label") for i in indices],
        }


def describe_progress(event) -> str:
    """One line for a progress bar or stderr: what is done, how fast, how long is left."""
    if event.phase == "embedding":
        text = f"Indexing: embedded {event.done:,}/{event.total:,}"
        if event.items_per_s:
            text += f" ({event.items_per_s:,.0f}/s, {event.eta_s:,.0f} s left)"
        return text
    return f"Indexing: building the approximate index of {event.phase[4:]}"


def find_collection(bundle, data=None, split: str = "all") -> str:
    """The folder of the collection ``data`` (one split) indexed with ``bundle``; without
    ``data``, the last one indexed with it."""
    from mmstudio.engine.collection import collection_folder, last_collection
    from mmstudio.engine.data import load_dataset

    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    sha = bundle.meta.get("weights", {}).get("sha256", "")
    folder = collection_folder(sha, load_dataset(data).spec.path, split) if data else last_collection(sha)
    if not folder or not os.path.isfile(os.path.join(folder, "store.json")):
        raise FileNotFoundError(
            "no collection indexed with this model"
            + (f" for {data} (split {split})" if data else "")
            + "; build one with `mmstudio index BUNDLE --data DATASET`"
        )
    return folder


def has_bundle_index(bundle) -> bool:
    """Whether the bundle ships an ``index.safetensors`` of its own (the demos do)."""
    from mmstudio.engine.bundle import resolve

    folder = bundle.path if isinstance(bundle, Bundle) else resolve(str(bundle))
    return os.path.isfile(os.path.join(folder, INDEX_FILE))

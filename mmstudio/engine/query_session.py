"""Asking one bundle many questions: the model loaded once, a collection's index in memory.

The Query panel and ``scripts/bench_query.py`` use this. An index is cached on disk per
collection (a hash of the dataset's path, split and items) beside the bundle, or in the user's
cache folder when the bundle's folder is read-only, so a collection is embedded only once; a
second :meth:`QuerySession.index` of the same collection returns at once from memory.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mmstudio.engine.bundle import Bundle, BundleError, load_bundle
from mmstudio.engine.projection import Projection, project
from mmstudio.engine.retrieval import INDEX_FILE, _embed_one, build_index, load_index

MAP_POINTS = {"pca": 3000, "tsne": 1000}  # the most points a map shows (t-SNE is O(N^2))


def collection_key(dataset, split: str = "all") -> str:
    """A short hash naming a collection: its path, split and every item's id and files."""
    h = hashlib.sha1(f"{dataset.spec.path}\0{split}".encode())
    items = dataset.items if split == "all" else dataset.subset(split)
    for it in items:
        h.update(f"{it.id}\0{it.image}\0{it.audio}\0{it.text}\0{it.label}\n".encode())
    return h.hexdigest()[:16]


def index_path(bundle: Bundle, dataset, split: str = "all") -> str:
    """Where the index of ``dataset`` for ``bundle`` is cached (beside the bundle if writable)."""
    name = f"index-{collection_key(dataset, split)}.safetensors"
    if os.access(bundle.path, os.W_OK):
        return os.path.join(bundle.path, name)
    import platformdirs

    sha = bundle.meta.get("weights", {}).get("sha256", "")[:16] or "bundle"
    folder = os.path.join(platformdirs.user_cache_dir("mmstudio", appauthor=False), "indexes", sha)
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


class QuerySession:
    """A loaded bundle plus the index of one collection: ``index`` then ``query`` / ``classify``."""

    def __init__(self, bundle) -> None:
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.key = ""
        self.path = ""
        self.items: list[dict[str, Any]] = []
        self.tensors: dict[str, torch.Tensor] = {}
        self._maps: dict[tuple[str, str], tuple[Projection, list[int]]] = {}

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.bundle.modalities

    @property
    def targets(self) -> list[str]:
        """Modalities the current index holds embeddings of."""
        return [m for m in self.modalities if f"emb.{m}" in self.tensors]

    def index(self, dataset, split: str = "all",
              progress: Callable[[float, str], None] | None = None) -> str:
        """Make ``dataset`` the collection searched: from memory, the disk cache, or embedded now."""
        from mmstudio.engine.data import load_dataset

        dataset = load_dataset(dataset)
        key = collection_key(dataset, split)
        if key == self.key and self.tensors:
            return self.path
        path = index_path(self.bundle, dataset, split)
        loaded = self._load(path)
        if loaded is None:  # an index shipped with the bundle (the demo's) over this very collection
            loaded, shipped = self._shipped(dataset, split)
            path = shipped if loaded is not None else path
        if loaded is None:
            def on_event(e) -> None:
                if progress is not None and e.total:
                    progress(e.done / e.total, f"Indexing: decoding {e.modality} "
                                               f"{e.done:,}/{e.total:,}")
            build_index(self.bundle, dataset, out=path, split=split, on_event=on_event)
            loaded = self._load(path)
        self.tensors, self.items = loaded
        self.key, self.path = key, path
        self._maps.clear()
        if progress is not None:
            progress(1.0, f"Indexed {len(self.items):,} items")
        return path

    def _shipped(self, dataset, split: str):
        """The bundle's own ``index.safetensors`` when it holds exactly ``dataset``'s items (its
        paths are relative to it, so it matches in any clone); else (None, "")."""
        path = os.path.join(self.bundle.path, INDEX_FILE)
        loaded = self._load(path)
        if loaded is None:
            return None, ""
        items = dataset.items if split == "all" else dataset.subset(split)
        fields = ("id", "image", "audio", "text", "label")
        have = [tuple(r.get(f) for f in fields) for r in loaded[1]]
        want = [tuple(getattr(it, f) for f in fields) for it in items]
        return (loaded, path) if have == want else (None, "")

    def _load(self, path: str):
        if not os.path.isfile(path):
            return None
        try:
            tensors, items, meta = load_index(path)
        except BundleError:
            return None
        sha = self.bundle.meta.get("weights", {}).get("sha256", "")
        if meta.get("bundle_sha256", "") != sha:
            return None  # built by an earlier model of the same name: embed again
        return tensors, items

    @torch.no_grad()
    def embed(self, text: str | None = None, image: str | None = None,
              audio: str | None = None) -> tuple[str, torch.Tensor]:
        given = [(m, v) for m, v in (("text", text), ("image", image), ("audio", audio))
                 if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one query: text, image or audio")
        modality, value = given[0]
        if modality not in self.modalities:
            raise ValueError(f"this model has no {modality} encoder (it has "
                             f"{', '.join(self.modalities)})")
        return modality, _embed_one(self.bundle, modality, value)

    @torch.no_grad()
    def query(self, text: str | None = None, image: str | None = None, audio: str | None = None,
              target: str | None = None, top: int = 10, map_method: str | None = None
              ) -> dict[str, Any]:
        """The ``top`` items of modality ``target`` nearest the query (scores are cosines).

        With ``map_method``, also where the query falls on that map of ``target``
        (``position``), when the map has been computed.
        """
        if not self.tensors:
            raise RuntimeError("no collection indexed yet: call index() first")
        modality, q = self.embed(text, image, audio)
        if target is None:
            others = [m for m in self.targets if m != modality]
            target = others[0] if self.bundle.model.align and others else modality
        if f"emb.{target}" not in self.tensors:
            raise ValueError(f"the index has no {target} embeddings "
                             f"(it has {', '.join(self.targets)})")
        if modality != target and not self.bundle.model.align:
            raise ValueError(f"this model was not trained to align {modality} with {target}: "
                             f"search {modality} against {modality}")
        present = self.tensors[f"has.{target}"].bool()
        scores = (self.tensors[f"emb.{target}"] @ q).masked_fill(~present, float("-inf"))
        best = torch.topk(scores, min(top, int(present.sum())))
        results = [{"rank": r, "score": round(s, 4), "index": i, **self.items[i]}
                   for r, (s, i) in enumerate(zip(best.values.tolist(), best.indices.tolist()), 1)]
        out: dict[str, Any] = {"query": modality, "target": target, "results": results}
        cached = self._maps.get((target, map_method or ""))
        if cached is not None:
            out["position"] = cached[0].locate(q)
        return out

    def classify(self, image: str | None = None, text: str | None = None,
                 audio: str | None = None) -> dict[str, Any]:
        """Class probabilities (every class, best first) from any subset of the inputs."""
        from mmstudio.engine.prediction import predict

        return predict(self.bundle, image=image, audio=audio, text=text,
                       top=max(1, len(self.bundle.class_names)))

    def embedding_map(self, target: str, method: str = "pca", max_points: int = 0,
                      seed: int = 0) -> dict[str, Any]:
        """A 2-D map of the collection's ``target`` embeddings (subsampled to ``max_points``)."""
        if f"emb.{target}" not in self.tensors:
            raise ValueError(f"the index has no {target} embeddings")
        cached = self._maps.get((target, method))
        if cached is None:
            rows = torch.nonzero(self.tensors[f"has.{target}"].bool()).flatten()
            max_points = max_points or MAP_POINTS.get(method, 2000)
            if len(rows) > max_points:
                gen = torch.Generator().manual_seed(seed)
                rows = rows[torch.randperm(len(rows), generator=gen)[:max_points]].sort().values
            proj = project(self.tensors[f"emb.{target}"][rows], method, seed)
            cached = self._maps[(target, method)] = (proj, rows.tolist())
        proj, indices = cached
        return {"method": method, "target": target, "xy": np.asarray(proj.xy, dtype=np.float32),
                "indices": indices, "labels": [self.items[i].get("label") for i in indices]}

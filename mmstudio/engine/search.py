"""Searching a collection: exact below a size, approximate above; filters; "more like this".

:class:`CollectionSearch` opens a store (:mod:`mmstudio.engine.collection`) and the saved
approximate index of each modality (:mod:`mmstudio.engine.ann`), if any. A query vector is
ranked against one target modality among the rows a filter keeps (label, split, modalities
present). A filter that keeps few rows is answered exactly over just those rows, so it never
returns fewer hits than exist; otherwise the approximate index searches with the filter as an
id selector. ``knob`` trades speed for recall (IVF ``nprobe`` / HNSW ``efSearch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmstudio.engine.ann import AnnIndex, exact_search
from mmstudio.engine.collection import Collection, CollectionError

EXACT_SUBSET = 50_000  # a filter keeping at most this many rows is searched exactly


class Records(Sequence):
    """The collection's items by row, read from disk on demand (a million never sit in memory)."""

    def __init__(self, store: Collection) -> None:
        self.store = store

    def __len__(self) -> int:
        return self.store.rows

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self.store.record(i) for i in range(*row.indices(len(self)))]
        return self.store.record(int(row))


class CollectionSearch:
    """Search one collection folder: ``search(vector, target, ...)``, ``more_like(row, ...)``."""

    def __init__(self, folder: str) -> None:
        store = Collection.open(folder)
        if store is None:
            raise CollectionError(f"{folder}: no collection here; index it first")
        self.store = store
        self.items = Records(store)
        self.ann: dict[str, AnnIndex | None] = {}
        self._present: dict[str, np.ndarray] = {}  # the store is fixed while it is open here
        self._meta: dict[str, np.ndarray] | None = None

    @property
    def targets(self) -> list[str]:
        return [m for m in self.store.modalities if self.present(m).any()]

    def present(self, modality: str) -> np.ndarray:
        """Live rows having ``modality`` (a copy the caller may change)."""
        if modality not in self._present:
            self._present[modality] = self.store.present(modality)
        return self._present[modality].copy()

    def ann_for(self, target: str) -> AnnIndex | None:
        """The approximate index of ``target`` with every row of the store, if there is one."""
        if target not in self.ann:
            ann = AnnIndex.load(self.store.folder, target, self.store.dim)
            if ann is not None and ann.rows < self.store.rows:
                ann.add(self.store.vectors(target))  # rows appended since it was saved
            self.ann[target] = ann
        return self.ann[target]

    def vector(self, row: int, modality: str) -> np.ndarray:
        if not self.present(modality)[row]:
            raise ValueError(f"item {row} has no {modality} in this collection")
        return np.array(self.store.vectors(modality)[row], np.float32)

    def search(
        self,
        q: np.ndarray,
        target: str,
        top: int = 10,
        label=None,
        split=None,
        has=None,
        knob: int | None = None,
        exact: bool = False,
        exclude: int | None = None,
    ) -> list[tuple[int, float]]:
        """(row, cosine) of the ``top`` rows of ``target`` nearest ``q``, best first."""
        allowed = self.present(target)
        if label is not None or split is not None or has is not None:
            if self._meta is None and self.store.folder is not None:
                self._meta = self.store.columns()  # read once
            allowed &= self.store.mask(label=label, split=split, has=has, meta=self._meta)
        if exclude is not None:
            allowed[exclude] = False
        count = int(allowed.sum())
        if count == 0:
            return []
        k = min(top, count)
        ann = None if exact else self.ann_for(target)
        vectors = self.store.vectors(target)
        if ann is not None and count > EXACT_SUBSET:
            scores, rows = self._approximate(ann, vectors, q, k, knob, allowed)
        elif count <= EXACT_SUBSET and count < len(allowed) // 4:
            keep = np.flatnonzero(allowed)
            scores, local = exact_search(vectors[keep], q, k)
            rows = np.where(local >= 0, keep[np.maximum(local, 0)], -1)
        else:
            scores, rows = exact_search(vectors, q, k, allowed)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    @staticmethod
    def _approximate(ann: AnnIndex, vectors, q, k: int, knob: int | None, allowed: np.ndarray):
        """The approximate top ``k``; when a filter leaves the probed part of the index short of
        ``k`` rows (the kept items lie far from the query), search wider, then exactly."""
        knob = knob or ann.info["knob"]
        for _ in range(3):
            scores, rows = ann.search(q, k, knob, allowed)
            if (rows[0] >= 0).sum() >= k:
                return scores, rows
            knob *= 4
        return exact_search(vectors, q, k, allowed)

    def more_like(
        self, row: int, target: str, top: int = 10, modality: str | None = None, **filters
    ) -> list[tuple[int, float]]:
        """Items of ``target`` nearest item ``row``'s ``modality`` vector (default: ``target``)."""
        q = self.vector(row, modality or target)
        return self.search(q, target, top, exclude=row, **filters)

    def describe(self) -> dict[str, Any]:
        """Rows, sizes on disk and which approximate indexes exist (for the CLI and the bench)."""
        import os

        folder = self.store.folder
        files = {
            name: os.path.getsize(os.path.join(folder, name))
            for name in os.listdir(folder)
            if not name.endswith(".tmp") and ".tmp" not in name
        }
        ann = {m: dict(a.info) for m in self.store.modalities if (a := self.ann_for(m)) is not None}
        return {
            "path": self.store.path,
            "rows": self.store.rows,
            "live": self.store.live,
            "dim": self.store.dim,
            "bytes_on_disk": sum(files.values()),
            "files": files,
            "ann": ann,
        }


class MemoryStore:
    """A small index held in memory (a bundle's shipped ``index.safetensors``), shaped like a
    :class:`Collection` for :class:`CollectionSearch`; always searched exactly."""

    folder = None

    def __init__(self, tensors: dict, items: list[dict[str, Any]], path: str) -> None:
        self.path = path
        self.modalities = tuple(k[4:] for k in tensors if k.startswith("emb."))
        self._vectors = {m: tensors[f"emb.{m}"].float().numpy() for m in self.modalities}
        self._present = {m: tensors[f"has.{m}"].numpy().astype(bool) for m in self.modalities}
        self._items = items
        self.rows = len(items)
        self.dim = next(iter(self._vectors.values())).shape[1] if self._vectors else 0

    @property
    def live(self) -> int:
        return self.rows

    def vectors(self, modality: str) -> np.ndarray:
        return self._vectors[modality]

    def present(self, modality: str) -> np.ndarray:
        return self._present[modality].copy()

    def mask(self, label=None, split=None, has=None, meta=None) -> np.ndarray:
        keep = np.ones(self.rows, bool)
        for field, value in (("label", label), ("split", split)):
            if value is not None:
                accepted = {value} if isinstance(value, str) else set(value)
                keep &= np.array([it.get(field) in accepted for it in self._items], bool)
        for m in [has] if isinstance(has, str) else has or []:
            keep &= self._present.get(m, np.zeros(self.rows, bool))
        return keep

    def record(self, row: int) -> dict[str, Any]:
        return self._items[row]


def memory_search(tensors: dict, items: list[dict[str, Any]], path: str) -> CollectionSearch:
    """A :class:`CollectionSearch` over an in-memory index."""
    search = CollectionSearch.__new__(CollectionSearch)
    search.store = MemoryStore(tensors, items, path)  # type: ignore[assignment]  # the same reading API
    search.items = items  # type: ignore[assignment]
    search.ann = dict.fromkeys(search.store.modalities)
    search._present = {}
    return search

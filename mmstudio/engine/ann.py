"""Approximate nearest neighbours over a collection's vectors, with FAISS.

Above :data:`ANN_ABOVE` rows, exact search (a full ``vectors @ q``) stops being instant, so a
collection gets an IVF index with fp16 vectors (half the memory of the store, recall close to
an IVF with full floats), or HNSW on request. Inner product on unit vectors is the cosine.

Row numbers are the FAISS ids: every row is added in order, and removed rows or rows without
the modality are left out by an ``IDSelectorBitmap`` at search time, as are rows a filter drops.

At build time the index is calibrated: Recall@10 against exact search, for each setting of the
speed knob (``nprobe`` for IVF, ``efSearch`` for HNSW), of queries like the users' (the
collection's own vectors of every modality: cross-modal queries lie farther from the target
vectors and need a wider search); the default knob is the cheapest reaching
:data:`TARGET_RECALL` for every kind of query. The index is saved
beside the store with a JSON description (schema and SHA-256 checked before FAISS reads it).
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

import numpy as np

from mmstudio.fileio import atomic_write_text, sha256_file

ANN_ABOVE = 50_000  # rows; below this, exact search over the memory map takes a few ms
TARGET_RECALL = 0.95
KNOBS = {
    "ivf": [1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024],
    "hnsw": [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024],
}
ADD_CHUNK = 65_536


class AnnError(ValueError):
    """An approximate index that cannot be used (names the file and the problem)."""


def factory_for(rows: int, kind: str = "ivf") -> str:
    """A FAISS factory string for ``rows`` vectors: IVF lists ~4*sqrt(rows), fp16 vectors."""
    if kind == "hnsw":
        return "HNSW32,SQfp16"
    if kind != "ivf":
        raise ValueError(f"unknown approximate index kind {kind!r}: ivf or hnsw")
    nlist = 2 ** int(round(math.log2(max(64.0, 4 * math.sqrt(max(rows, 1))))))
    return f"IVF{min(nlist, 16384)},SQfp16"


class AnnIndex:
    """A FAISS index over the first ``info['rows']`` rows of one modality's vectors."""

    def __init__(self, index, info: dict[str, Any]) -> None:
        self.index = index
        self.info = info

    @property
    def kind(self) -> str:
        return self.info["kind"]

    @property
    def rows(self) -> int:
        return int(self.index.ntotal)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        present: np.ndarray,
        kind: str = "ivf",
        seed: int = 0,
        progress=None,
        queries: dict[str, np.ndarray] | None = None,
    ) -> AnnIndex:
        """Train on a sample of the present rows, add every row (ids = row numbers), and
        calibrate the knob on ``queries`` (by kind; default: a sample of ``vectors``)."""
        import faiss

        dim = vectors.shape[1]
        factory = factory_for(int(present.sum()), kind)
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        rows = np.flatnonzero(present)
        if not index.is_trained:
            nlist = faiss.extract_index_ivf(index).nlist
            sample = np.sort(rng.choice(rows, min(len(rows), 40 * nlist), replace=False))
            index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        ann = cls(index, {"kind": kind, "factory": factory, "dim": dim, "knob": None, "recall": {}})
        ann.add(vectors, progress)
        if not queries:
            picked = np.sort(rng.choice(rows, min(200, len(rows)), replace=False))
            queries = {"own": np.asarray(vectors[picked], np.float32)}
        ann.calibrate(vectors, present, queries)
        return ann

    def add(self, vectors: np.ndarray, progress=None) -> None:
        """Add the rows of ``vectors`` past those already in the index."""
        for start in range(self.rows, len(vectors), ADD_CHUNK):
            self.index.add(np.ascontiguousarray(vectors[start : start + ADD_CHUNK], np.float32))
            if progress is not None:
                progress(self.rows, len(vectors))

    def calibrate(
        self, vectors: np.ndarray, present: np.ndarray, queries: dict[str, np.ndarray], k: int = 10
    ) -> dict[str, dict[str, float]]:
        """Recall@k against exact search per knob setting and kind of query; the default knob
        becomes the cheapest whose worst kind reaches :data:`TARGET_RECALL`."""
        truth = {name: exact_search(vectors, q, k, present)[1] for name, q in queries.items()}
        table: dict[str, dict[str, float]] = {}
        self.info["knob"] = KNOBS[self.kind][-1]
        for knob in KNOBS[self.kind]:
            if self.kind == "ivf" and knob > self._nlist():
                break
            table[str(knob)] = {
                name: round(recall_at(self.search(q, k, knob, present)[1], truth[name]), 4)
                for name, q in queries.items()
            }
            if min(table[str(knob)].values()) >= TARGET_RECALL:
                self.info["knob"] = knob
                break
        self.info["recall"] = table
        return table

    def _nlist(self) -> int:
        import faiss

        return faiss.extract_index_ivf(self.index).nlist

    # ------------------------------------------------------------------ searching
    def search(
        self, q: np.ndarray, k: int, knob: int | None = None, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and rows (-1 where fewer than ``k`` were found) for each query row of ``q``."""
        import faiss

        knob = int(knob or self.info["knob"] or KNOBS[self.kind][0])
        extra: dict[str, Any] = {}
        if allowed is not None and not allowed[: self.rows].all():
            bits = np.packbits(allowed[: self.rows], bitorder="little")
            extra["sel"] = faiss.IDSelectorBitmap(bits)  # type: ignore[call-arg, arg-type]  # SWIG stubs
        if self.kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=min(knob, self._nlist()), **extra)  # type: ignore[call-arg]
        else:
            params = faiss.SearchParametersHNSW(efSearch=max(knob, k), **extra)  # type: ignore[attr-defined]
        q = np.ascontiguousarray(np.atleast_2d(q), np.float32)
        return self.index.search(q, k, params=params)

    # ------------------------------------------------------------------ files
    def save(self, folder: str, modality: str) -> str:
        import faiss

        path = os.path.join(folder, f"ann.{modality}.faiss")
        tmp = f"{path}.tmp{os.getpid()}"
        faiss.write_index(self.index, tmp)
        os.replace(tmp, path)
        info = {
            **self.info,
            "format": "mmstudio.ann",
            "rows": self.rows,
            "bytes": os.path.getsize(path),
            "sha256": sha256_file(path),
            "saved": time.time(),
        }
        atomic_write_text(os.path.join(folder, f"ann.{modality}.json"), json.dumps(info))
        self.info = info
        return path

    @classmethod
    def load(cls, folder: str, modality: str, dim: int) -> AnnIndex | None:
        """The saved index of ``modality``, or None when there is none or it is unusable."""
        import faiss

        meta = os.path.join(folder, f"ann.{modality}.json")
        path = os.path.join(folder, f"ann.{modality}.faiss")
        if not (os.path.isfile(meta) and os.path.isfile(path)):
            return None
        try:
            with open(meta, encoding="utf-8") as fh:
                info = json.load(fh)
            _check_info(meta, info, dim)
        except (OSError, ValueError):
            return None  # rebuilt by the next indexing
        if os.path.getsize(path) != info["bytes"] or sha256_file(path) != info["sha256"]:
            return None  # changed or truncated since it was written
        index = faiss.read_index(path)
        if index.d != dim or index.ntotal != info["rows"]:
            return None
        return cls(index, info)


def exact_search(
    vectors: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray | None = None, chunk: int = 262_144
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product over ``vectors`` (a memory map is read in chunks)."""
    q = np.ascontiguousarray(np.atleast_2d(q), np.float32)
    best_s = np.full((len(q), 0), -np.inf, np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for start in range(0, len(vectors), chunk):
        scores = q @ np.asarray(vectors[start : start + chunk], np.float32).T
        if allowed is not None:
            scores[:, ~allowed[start : start + chunk]] = -np.inf
        rows = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        best_s = np.concatenate([best_s, scores], axis=1)
        best_i = np.concatenate([best_i, rows], axis=1)
        if best_s.shape[1] > k:
            part = np.argpartition(-best_s, k - 1, axis=1)[:, :k]
            best_s = np.take_along_axis(best_s, part, 1)
            best_i = np.take_along_axis(best_i, part, 1)
    order = np.argsort(-best_s, axis=1, kind="stable")
    scores, rows = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)
    rows = np.where(np.isfinite(scores), rows, -1)
    return scores, rows


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the exact top-k (ignoring -1) that the approximate top-k also found."""
    hits, total = 0, 0
    for f, t in zip(found, truth):
        t = set(t[t >= 0].tolist())
        hits += len(t & set(f.tolist()))
        total += len(t)
    return hits / total if total else 1.0


def _check_info(path: str, info: Any, dim: int) -> None:
    if not isinstance(info, dict) or info.get("format") != "mmstudio.ann":
        raise AnnError(f"{path}: not an MMStudio approximate index description")
    if info.get("kind") not in KNOBS or info.get("dim") != dim:
        raise AnnError(f"{path}: kind or dimension does not fit this collection")
    for key in ("rows", "bytes"):
        if not isinstance(info.get(key), int) or info[key] < 0:
            raise AnnError(f"{path}: {key} must be a non-negative integer")
    if not isinstance(info.get("sha256"), str) or not isinstance(info.get("knob"), int):
        raise AnnError(f"{path}: sha256 or knob missing")

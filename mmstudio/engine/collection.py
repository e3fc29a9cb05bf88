"""A collection's embeddings on disk: memory-mapped, appended in batches, resumable.

One folder per (model, dataset, split) in the user cache folder (never beside a bundle or in the
installation)::

    store.json        the commit record: rows, capacity, dim, label/split vocabularies
    vectors.<m>.f32   (capacity, dim) float32 unit vectors per modality, memory-mapped
    meta.bin          per row: label id, split id, alive flag, which modalities are present
    offsets.i64       per row: where its record starts in records.jsonl
    records.jsonl     per row: the item (id, files, text, label, split) and its key/signature

A batch is written to the vector, meta and record files first and only then committed by an
atomic replace of ``store.json`` (``rows`` and ``log_bytes``); anything past the committed rows
after a crash is overwritten by the next batch. So a killed indexing job loses at most the batch
in flight, and reopening needs no repair. Removed or changed items are tombstoned (``alive`` 0).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np

from mmstudio.fileio import atomic_write_text

FORMAT, VERSION = "mmstudio.collection", 1
MODALITY_BITS = {"image": 1, "audio": 2, "text": 4}
META_DTYPE = np.dtype([("label", "<i4"), ("split", "i1"), ("alive", "u1"), ("has", "u1"), ("_pad", "u1")])
MAX_DIM, MAX_ROWS = 8192, 1 << 31


class CollectionError(ValueError):
    """A collection folder that cannot be used; the message names the file and the problem."""


def cache_root() -> str:
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("mmstudio", appauthor=False), "collections")


def collection_folder(bundle_sha: str, dataset_path: str, split: str = "all") -> str:
    """Where the collection of ``dataset_path`` (one split) embedded by a model is kept."""
    key = hashlib.sha1(f"{os.path.abspath(str(dataset_path))}\0{split}".encode()).hexdigest()[:16]
    return os.path.join(cache_root(), (bundle_sha or "bundle")[:16], key)


def discard(folder: str) -> bool:
    """Delete a collection kept in the cache, to index it again from nothing (the Query panel's
    Rebuild). Only a folder of the cache is deleted; True when one was."""
    import shutil

    root, folder = os.path.abspath(cache_root()), os.path.abspath(folder)
    if folder == root or os.path.commonpath([root, folder]) != root or not os.path.isdir(folder):
        return False
    shutil.rmtree(folder)
    return True


def remember(folder: str, bundle_sha: str) -> None:
    """Note ``folder`` as the model's last indexed collection (``mmstudio query`` without --data)."""
    root = os.path.abspath(cache_root())
    if os.path.commonpath([root, os.path.abspath(folder)]) != root:
        return  # a folder chosen by the caller (tests, the bench): not a default to remember
    path = os.path.join(root, (bundle_sha or "bundle")[:16], "last.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write_text(path, json.dumps({"folder": os.path.abspath(folder)}))


def last_collection(bundle_sha: str) -> str | None:
    """The folder :func:`remember` noted for the model, if it still holds a collection."""
    path = os.path.join(cache_root(), (bundle_sha or "bundle")[:16], "last.json")
    try:
        with open(path, encoding="utf-8") as fh:
            folder = json.load(fh)["folder"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    root = os.path.abspath(cache_root())  # a record may name only folders of the cache
    if not isinstance(folder, str) or os.path.commonpath([root, os.path.abspath(folder)]) != root:
        return None
    return folder if os.path.isfile(os.path.join(folder, "store.json")) else None


class Collection:
    """The store in one folder. ``open`` an existing one or ``create`` it; then ``append``."""

    def __init__(self, folder: str, info: dict[str, Any]) -> None:
        self.folder = folder
        self.info = info
        self._maps: dict[str, np.memmap] = {}
        self._open_maps()

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(
        cls, folder: str, dim: int, modalities: tuple[str, ...], bundle_sha: str, dataset: str = "", split: str = "all"
    ) -> Collection:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):  # an approximate index of earlier vectors is void
            if name.startswith("ann."):
                os.unlink(os.path.join(folder, name))
        info = {
            "format": FORMAT,
            "version": VERSION,
            "bundle_sha256": bundle_sha,
            "dataset": str(dataset),
            "split": split,
            "dim": int(dim),
            "modalities": list(modalities),
            "rows": 0,
            "capacity": 0,
            "log_bytes": 0,
            "labels": [],
            "splits": [],
        }
        for name in cls._files(info):
            open(os.path.join(folder, name), "wb").close()
        open(os.path.join(folder, "records.jsonl"), "wb").close()
        atomic_write_text(os.path.join(folder, "store.json"), json.dumps(info))
        return cls(folder, info)

    @classmethod
    def open(cls, folder: str) -> Collection | None:
        """The collection in ``folder``, or None when there is none; CollectionError if broken."""
        path = os.path.join(folder, "store.json")
        if not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as fh:
                info = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CollectionError(f"{path}: unreadable collection record ({exc})") from exc
        _check_info(path, info)
        for name, itemsize in cls._files(info).items():
            file = os.path.join(folder, name)
            if not os.path.isfile(file) or os.path.getsize(file) < info["capacity"] * itemsize:
                raise CollectionError(f"{file}: missing or shorter than {path} says")
        log = os.path.join(folder, "records.jsonl")
        if not os.path.isfile(log) or os.path.getsize(log) < info["log_bytes"]:
            raise CollectionError(f"{log}: missing or shorter than {path} says")
        return cls(folder, info)

    @staticmethod
    def _files(info: dict[str, Any]) -> dict[str, int]:
        """Fixed-size files and the bytes each row takes in them."""
        files = {f"vectors.{m}.f32": 4 * info["dim"] for m in info["modalities"]}
        return {**files, "meta.bin": META_DTYPE.itemsize, "offsets.i64": 8}

    def _open_maps(self) -> None:
        self._maps.clear()
        cap = self.info["capacity"]
        if cap == 0:
            return
        for name in self._files(self.info):
            path = os.path.join(self.folder, name)
            if name.startswith("vectors."):
                self._maps[name] = np.memmap(path, np.float32, "r+", shape=(cap, self.dim))
            elif name == "meta.bin":
                self._maps[name] = np.memmap(path, META_DTYPE, "r+", shape=(cap,))
            else:
                self._maps[name] = np.memmap(path, np.int64, "r+", shape=(cap,))

    # ------------------------------------------------------------------ reading
    @property
    def rows(self) -> int:
        return int(self.info["rows"])

    @property
    def dim(self) -> int:
        return int(self.info["dim"])

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.info["modalities"])

    @property
    def path(self) -> str:
        return os.path.join(self.folder, "store.json")

    def vectors(self, modality: str) -> np.ndarray:
        """The committed rows' vectors of ``modality`` (a memory map: nothing is read yet)."""
        if modality not in self.modalities:
            raise ValueError(f"the collection has no {modality} embeddings")
        if self.rows == 0:
            return np.zeros((0, self.dim), np.float32)
        return self._maps[f"vectors.{modality}.f32"][: self.rows]

    @property
    def meta(self) -> np.ndarray:
        if self.rows == 0:
            return np.zeros(0, META_DTYPE)
        return self._maps["meta.bin"][: self.rows]

    def present(self, modality: str) -> np.ndarray:
        """True for live rows that have ``modality``."""
        meta = self.meta
        return (meta["alive"] == 1) & ((meta["has"] & MODALITY_BITS[modality]) != 0)

    @property
    def live(self) -> int:
        return int((self.meta["alive"] == 1).sum())

    def columns(self) -> dict[str, np.ndarray]:
        """The per-row metadata as contiguous in-memory arrays (fast to filter, 7 bytes a row)."""
        meta = self.meta
        return {name: np.ascontiguousarray(meta[name]) for name in ("label", "split", "alive", "has")}

    def mask(
        self,
        label: str | list[str] | None = None,
        split: str | list[str] | None = None,
        has: str | list[str] | None = None,
        meta: dict | None = None,
    ) -> np.ndarray:
        """Live rows matching every filter given (a value or a list of accepted values);
        ``meta``: :meth:`columns` kept by the caller, read instead of the file."""
        meta = self.columns() if meta is None else meta
        keep = meta["alive"] == 1
        for column, value, vocab in (("label", label, self.info["labels"]), ("split", split, self.info["splits"])):
            if value is not None:  # a lookup table by id (+1: -1 is "none"), not a search
                accepted = np.zeros(len(vocab) + 1, bool)
                accepted[[vocab.index(v) + 1 for v in _listed(value) if v in vocab]] = True
                keep &= accepted[meta[column].astype(np.int64) + 1]
        for m in _listed(has) if has is not None else []:
            keep &= (meta["has"] & MODALITY_BITS[m]) != 0
        return keep

    def record(self, row: int) -> dict[str, Any]:
        """The item stored at ``row`` (id, image, audio, text, label, split)."""
        if not 0 <= row < self.rows:
            raise IndexError(f"row {row} is not in the collection ({self.rows} rows)")
        with open(os.path.join(self.folder, "records.jsonl"), "rb") as fh:
            fh.seek(int(self._maps["offsets.i64"][row]))
            rec = json.loads(fh.readline())
        return {k: rec.get(k) for k in ("id", "image", "audio", "text", "label", "split")}

    def scan(self) -> dict[str, tuple[int, str]]:
        """Key -> (row, signature) of every live row: what an update compares the dataset with."""
        out: dict[str, tuple[int, str]] = {}
        alive = self.meta["alive"]
        with open(os.path.join(self.folder, "records.jsonl"), "rb") as fh:
            for row in range(self.rows):
                rec = json.loads(fh.readline())
                if alive[row]:
                    out[rec["key"]] = (row, rec["sig"])
        return out

    # ------------------------------------------------------------------ writing
    def append(self, records: list[dict[str, Any]], vectors: dict[str, np.ndarray], has: dict[str, np.ndarray]) -> None:
        """Add rows and commit them: ``records`` carry key, sig and the item's fields."""
        n, start = len(records), self.rows
        if n == 0:
            return
        self._reserve(start + n)
        labels, splits = self.info["labels"], self.info["splits"]
        meta = np.zeros(n, META_DTYPE)
        for i, rec in enumerate(records):
            meta["label"][i] = _vocab_id(labels, rec.get("label"))
            meta["split"][i] = _vocab_id(splits, rec.get("split"))
        meta["alive"] = 1
        for m in self.modalities:
            if m in vectors:
                self._maps[f"vectors.{m}.f32"][start : start + n] = vectors[m]
                meta["has"] |= np.where(has[m], MODALITY_BITS[m], 0).astype(np.uint8)
        self._maps["meta.bin"][start : start + n] = meta
        lines = [json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records]
        offsets = self.info["log_bytes"] + np.cumsum([0] + [len(x) for x in lines[:-1]])
        self._maps["offsets.i64"][start : start + n] = offsets
        with open(os.path.join(self.folder, "records.jsonl"), "r+b") as fh:
            fh.seek(self.info["log_bytes"])
            fh.write(b"".join(lines))
            fh.truncate()
        self._flush()
        self.info["rows"] = start + n
        self.info["log_bytes"] = int(offsets[-1]) + len(lines[-1])
        self._commit()

    def remove(self, rows) -> None:
        """Tombstone ``rows`` (their files were removed or changed)."""
        rows = np.asarray(sorted(rows), dtype=np.int64)
        if len(rows):
            self._maps["meta.bin"]["alive"][rows] = 0
            self._flush()
            self.info["removed"] = int(self.info.get("removed", 0)) + len(rows)
            self._commit()

    def _reserve(self, rows: int) -> None:
        cap = self.info["capacity"]
        if rows <= cap:
            return
        new = max(rows, cap * 2, 1024)
        self._maps.clear()  # unmap before growing the files
        for name, itemsize in self._files(self.info).items():
            with open(os.path.join(self.folder, name), "r+b") as fh:
                fh.truncate(new * itemsize)
        self.info["capacity"] = new
        self._commit()
        self._open_maps()

    def _flush(self) -> None:
        for mm in self._maps.values():
            mm.flush()

    def _commit(self) -> None:
        atomic_write_text(self.path, json.dumps(self.info))


def _listed(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _vocab_id(vocab: list[str], value: str | None) -> int:
    if value is None:
        return -1
    if value not in vocab:
        vocab.append(value)
    return vocab.index(value)


def _check_info(path: str, info: Any) -> None:
    """The schema of ``store.json``: checked before anything is mapped or allocated."""

    def bad(why: str):
        raise CollectionError(f"{path}: {why}")

    if not isinstance(info, dict) or info.get("format") != FORMAT:
        bad("not an MMStudio collection record")
    if info.get("version") != VERSION:
        bad(f"collection version {info.get('version')!r}; this MMStudio reads version {VERSION}")
    ints = {"dim": (1, MAX_DIM), "rows": (0, MAX_ROWS), "capacity": (0, MAX_ROWS), "log_bytes": (0, 1 << 46)}
    for key, (lo, hi) in ints.items():
        value = info.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            bad(f"{key} must be an integer in [{lo}, {hi}], got {value!r}")
    if info["rows"] > info["capacity"]:
        bad(f"rows ({info['rows']}) exceed capacity ({info['capacity']})")
    mods = info.get("modalities")
    if not isinstance(mods, list) or not mods or not set(mods) <= set(MODALITY_BITS) or len(set(mods)) != len(mods):
        bad(f"modalities must be a list drawn from {sorted(MODALITY_BITS)}, got {mods!r}")
    for key, limit in (("labels", 1 << 31), ("splits", 127)):
        vocab = info.get(key)
        if not isinstance(vocab, list) or len(vocab) > limit or not all(isinstance(v, str) for v in vocab):
            bad(f"{key} must be a list of at most {limit} strings")

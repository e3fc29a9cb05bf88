"""Indexing a collection in the background: a generator of progress events, like training.

``index_collection(bundle, dataset)`` compares the dataset with its store (keyed by the item's
files and id; signed by their size and modification time, text, label and split), tombstones
removed or changed rows, and embeds only the items the store lacks: in batches, decoded by
torch DataLoader workers, each batch committed to disk before the next is started. So it can
be stopped (``Control.stop``, Ctrl+C, a kill) at any point and started again, and a folder with
10 new files costs 10 embeddings. Above :data:`ann.ANN_ABOVE` rows it then builds or extends
the approximate index of each modality.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mmstudio.engine.ann import ANN_ABOVE, AnnIndex
from mmstudio.engine.bundle import Bundle, load_bundle
from mmstudio.engine.collection import Collection, collection_folder, remember
from mmstudio.engine.events import Control, Event


@dataclass(frozen=True)
class IndexProgress(Event):
    """``done`` of ``total`` in ``phase`` ("embedding" items, or building the "ann:<modality>")."""

    phase: str
    done: int
    total: int
    items_per_s: float = 0.0
    eta_s: float = 0.0


@dataclass(frozen=True)
class IndexResult:
    """What ``index_collection`` returns: the store and what this pass did."""

    path: str  # the collection's store.json
    rows: int  # live rows now
    embedded: int
    kept: int
    removed: int
    seconds: float
    stopped: bool


def item_key(item) -> tuple[str, str]:
    """(key, signature) of a dataset item: the same key with another signature is a change."""
    parts = [item.id or ""]
    sig = []
    for m in ("image", "audio"):
        path = getattr(item, m)
        parts.append(path or "")
        if path:
            try:
                st = os.stat(path)
                sig.append(f"{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                sig.append("missing")
    sig += [item.text or "", item.label or "", item.split or ""]
    return "\0".join(parts), "\0".join(sig)


class _Decoded(torch.utils.data.Dataset):
    """Items decoded into model inputs in a DataLoader worker; a file that fails is absent."""

    def __init__(self, items: list, pre, modalities: tuple[str, ...]) -> None:
        self.items, self.pre, self.modalities = items, pre, modalities

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        it = self.items[i]
        out: dict[str, Any] = {}
        for m in self.modalities:
            value = getattr(it, m)
            try:
                if value is None:
                    out[m] = None
                elif m == "text":
                    out[m] = self.pre.text_batch([value])[0]
                else:
                    out[m] = self.pre.load_image(value) if m == "image" else self.pre.load_audio(value)
            except Exception:  # noqa: BLE001 - an unreadable file: the item lacks that modality
                out[m] = None
        return out


def _collate(samples: list[dict]) -> dict[str, tuple[torch.Tensor | None, torch.Tensor]]:
    """modality -> (stacked inputs with zeros where absent, present mask)."""
    out: dict[str, tuple[torch.Tensor | None, torch.Tensor]] = {}
    for m in samples[0]:
        have = [s[m] for s in samples if s[m] is not None]
        mask = torch.tensor([s[m] is not None for s in samples])
        if not have:
            out[m] = (None, mask)
            continue
        x = torch.zeros((len(samples), *have[0].shape), dtype=have[0].dtype)
        x[mask] = torch.stack(have)
        out[m] = (x, mask)
    return out


def default_workers(pending: int, batch_size: int) -> int:
    """DataLoader workers: none for a few batches (starting workers costs seconds), else the
    ``MMSTUDIO_WORKERS`` setting or up to 4 (one core stays with the model)."""
    if pending < 4 * batch_size:
        return 0
    env = int(os.environ.get("MMSTUDIO_WORKERS") or 0)
    return env or max(1, min(4, (os.cpu_count() or 2) - 1))


@torch.no_grad()
def index_collection(
    bundle,
    dataset,
    split: str = "all",
    control: Control | None = None,
    batch_size: int = 256,
    workers: int | None = None,
    ann: str = "ivf",
    folder: str | None = None,
) -> Generator[IndexProgress, None, IndexResult]:
    """Bring the collection of ``dataset`` up to date; yields progress, returns IndexResult."""
    from mmstudio.engine.data import load_dataset

    t0 = time.perf_counter()
    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    dataset = load_dataset(dataset)
    items = dataset.items if split == "all" else dataset.subset(split)
    sha = bundle.meta.get("weights", {}).get("sha256", "")
    folder = folder or collection_folder(sha, dataset.spec.path, split)
    store = Collection.open(folder)
    if store is not None and store.info.get("bundle_sha256") != sha:
        store = None  # another model's vectors: start again
    known = store.scan() if store is not None else {}
    pending, keep = [], set()
    for it in items:
        key, sig = item_key(it)
        old = known.get(key)
        if old is not None and old[1] == sig:
            keep.add(old[0])
        else:
            pending.append((it, key, sig))
    gone = [row for row, _ in known.values() if row not in keep]
    if store is not None:
        store.remove(gone)
    control = control or Control()
    yield IndexProgress("embedding", 0, len(pending))
    if pending:
        store = yield from _embed(bundle, store, folder, dataset, split, pending, control, batch_size, workers)
    if store is not None and not control.stopped:
        yield from update_ann(store, ann)
    live = store.live if store is not None else 0
    if store is not None:
        remember(folder, sha)
    return IndexResult(
        os.path.join(folder, "store.json"),
        live,
        max(live - len(keep), 0),
        len(keep),
        len(gone),
        time.perf_counter() - t0,
        control.stopped,
    )


def _embed(
    bundle: Bundle,
    store: Collection | None,
    folder: str,
    dataset,
    split: str,
    pending: list,
    control: Control,
    batch_size: int,
    workers: int | None,
):
    """Embed ``pending`` in batches, committing each; returns the store (created if needed)."""
    model, pre = bundle.model.eval(), bundle.preprocessor
    workers = default_workers(len(pending), batch_size) if workers is None else workers
    loader = torch.utils.data.DataLoader(
        _Decoded([p[0] for p in pending], pre, bundle.modalities),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=_collate,
        multiprocessing_context="forkserver" if workers else None,
    )
    done, start = 0, time.perf_counter()
    for batch in loader:
        vectors, has = _embed_batch(model, batch)
        chunk = pending[done : done + len(next(iter(has.values())))]
        if store is None:
            dim = next(v.shape[1] for v in vectors.values()) if vectors else 1
            store = Collection.create(
                folder,
                dim,
                bundle.modalities,
                bundle.meta.get("weights", {}).get("sha256", ""),
                str(dataset.spec.path),
                split,
            )
        store.append([_row(it, key, sig) for it, key, sig in chunk], vectors, has)
        done += len(chunk)
        rate = done / max(time.perf_counter() - start, 1e-9)
        yield IndexProgress("embedding", done, len(pending), round(rate, 1), round((len(pending) - done) / rate, 1))
        if control.stopped:
            break
        control.wait_while_paused()
    return store


def update_ann(store: Collection, kind: str) -> Iterator[IndexProgress]:
    """Build (or extend with new rows) the approximate index of each modality, when it pays."""
    if store.rows < ANN_ABOVE:
        return
    for m in store.modalities:
        present = store.present(m)
        if present.sum() < ANN_ABOVE:
            continue
        ann = AnnIndex.load(store.folder, m, store.dim)
        dead = store.rows - store.live
        stale = ann is None or ann.kind != kind or dead > 0.3 * store.rows or store.rows > 4 * ann.rows
        if not stale and ann is not None and ann.rows == store.rows:
            continue
        yield IndexProgress(f"ann:{m}", 0, store.rows)
        if stale or ann is None:
            ann = AnnIndex.build(store.vectors(m), present, kind, queries=_sample_queries(store))
        else:
            ann.add(store.vectors(m))
        ann.save(store.folder, m)
        yield IndexProgress(f"ann:{m}", store.rows, store.rows)


def _sample_queries(store: Collection, per_modality: int = 200, seed: int = 0) -> dict:
    """Stored vectors of each modality, standing in for users' queries when calibrating."""
    rng = np.random.default_rng(seed)
    out = {}
    for m in store.modalities:
        rows = np.flatnonzero(store.present(m))
        if len(rows):
            picked = np.sort(rng.choice(rows, min(per_modality, len(rows)), replace=False))
            out[m] = np.asarray(store.vectors(m)[picked], np.float32)
    return out


def _embed_batch(model, batch) -> tuple[dict, dict]:
    """Each present modality's embeddings (float32 numpy) and every modality's presence mask."""
    vectors, has = {}, {}
    for m, (x, mask) in batch.items():
        if x is not None:
            vectors[m] = model.embed(model.encode({m: x}))[m].float().numpy()
        has[m] = mask.numpy()
    return vectors, has


def _row(it, key: str, sig: str) -> dict:
    """An item's row in the collection: where it came from and what it is."""
    return {
        "key": key,
        "sig": sig,
        "id": it.id,
        "image": it.image,
        "audio": it.audio,
        "text": it.text,
        "label": it.label,
        "split": it.split,
    }

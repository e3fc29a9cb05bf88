"""Embedding indexes and queries: embed a dataset once with a bundle's encoders, save the
vectors beside the bundle, then rank them against one query (``a @ b.T``, ``topk``).

An index is one ``.safetensors`` file (written atomically): a unit-vector matrix per modality,
and in its metadata the items (id, paths, text, label) and the bundle's weight checksum, so an
index built by another model is refused rather than silently giving nonsense.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import torch

from mmstudio.engine.bundle import Bundle, BundleError, load_bundle
from mmstudio.engine.cache import prepare
from mmstudio.engine.events import drive
from mmstudio.errors import LoadError
from mmstudio.file_schemas import INDEX_ITEMS
from mmstudio.fileio import atomic_write
from mmstudio.schema import check, parse_json

INDEX_FILE = "index.safetensors"


def _bundle(bundle) -> Bundle:
    return bundle if isinstance(bundle, Bundle) else load_bundle(bundle)


@torch.no_grad()
def build_index(
    bundle, data, out: str | None = None, split: str = "all", batch_size: int = 256, on_event: Callable | None = None
) -> str:
    """Embed every item of ``data`` (or one split) and save the index; returns its path."""
    from safetensors.torch import save_file

    from mmstudio.engine.data import load_dataset

    bundle = _bundle(bundle)
    dataset = load_dataset(data)
    items = dataset.items if split == "all" else dataset.subset(split)
    if not items:
        raise ValueError(f"no items to index in {dataset.spec.path} (split {split!r})")
    feats = drive(prepare(items, bundle.preprocessor, {}), on_event)
    model = bundle.model.eval()
    tensors: dict[str, torch.Tensor] = {}
    for m in model.modalities:
        chunks = []
        for start in range(0, len(feats), batch_size):
            x = feats.inputs[m][start : start + batch_size]
            chunks.append(model.embed(model.encode({m: x}))[m].float())
        tensors[f"emb.{m}"] = torch.cat(chunks).contiguous()
        tensors[f"has.{m}"] = feats.mask[m].to(torch.uint8).contiguous()
    records = [
        {"id": it.id, "image": it.image, "audio": it.audio, "text": it.text, "label": it.label, "split": it.split}
        for it in items
    ]
    meta = {
        "format": "mmstudio.index",
        "items": json.dumps(records),
        "bundle_sha256": bundle.meta.get("weights", {}).get("sha256", ""),
        "dataset": str(dataset.spec.path),
    }
    out = out or os.path.join(bundle.path, INDEX_FILE)
    return atomic_write(out, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_index(path: str) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]], dict[str, str]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, "pt") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except (SafetensorError, OSError) as exc:
        raise BundleError(f"{path}: unreadable or truncated index ({exc})") from exc
    if meta.get("format") != "mmstudio.index":
        raise BundleError(f"{path}: not an MMStudio embedding index")
    try:
        items = check(parse_json(meta.get("items", ""), path), INDEX_ITEMS, path)
    except LoadError as exc:
        raise BundleError(path, f"damaged index metadata: {exc.problem}", exc.field) from None
    base = os.path.dirname(os.path.abspath(path))
    # Relative paths (a shipped index, such as the demo's ``../data/...``) are to the index's
    # folder. They may leave it: the items are only shown (thumbnails, playback), never loaded
    # as code or weights, and the demo keeps its data beside the model.
    for it in items:
        for key in ("image", "audio"):
            if it.get(key) and not os.path.isabs(it[key]):
                it[key] = os.path.normpath(os.path.join(base, it[key]))
    return tensors, items, meta


@torch.no_grad()
def query(
    bundle,
    text: str | None = None,
    image: str | None = None,
    audio: str | None = None,
    target: str | None = None,
    index: str | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """Rank an index's items of modality ``target`` against one query.

    Without ``target``: another modality than the query's for ``align`` models (the first the
    index has), the query's own modality otherwise (classify-only features are per modality).
    """
    bundle = _bundle(bundle)
    given = {m: v for m, v in (("text", text), ("image", image), ("audio", audio)) if v is not None}
    if len(given) != 1:
        raise ValueError("give exactly one query: text, image or audio")
    ((modality, value),) = given.items()
    if modality not in bundle.modalities:
        raise ValueError(f"this model has no {modality} encoder (it has {', '.join(bundle.modalities)})")
    index = index or os.path.join(bundle.path, INDEX_FILE)
    if not os.path.isfile(index):
        raise FileNotFoundError(f"no index at {index}; build one with `mmstudio index`")
    tensors, items, meta = load_index(index)
    sha = bundle.meta.get("weights", {}).get("sha256", "")
    if meta.get("bundle_sha256") and sha and meta["bundle_sha256"] != sha:
        raise BundleError(f"{index}: built with another model; rebuild it with `mmstudio index`")
    have = [m for m in bundle.modalities if f"emb.{m}" in tensors]
    if target is None:
        others = [m for m in have if m != modality]
        target = others[0] if bundle.model.align and others else modality
    if f"emb.{target}" not in tensors:
        raise ValueError(f"the index has no {target} embeddings (it has {', '.join(have)})")
    q = _embed_one(bundle, modality, value)
    corpus, present = tensors[f"emb.{target}"], tensors[f"has.{target}"].bool()
    scores = (corpus @ q).masked_fill(~present, float("-inf"))
    k = min(top, int(present.sum()))
    best = torch.topk(scores, k)
    results = []
    for rank, (score, i) in enumerate(zip(best.values.tolist(), best.indices.tolist()), start=1):
        it = items[i]
        results.append(
            {
                "rank": rank,
                "score": round(score, 6),
                "id": it["id"],
                "path": it.get(target) if target != "text" else None,
                "text": it.get("text"),
                "label": it.get("label"),
                "image": it.get("image"),
                "audio": it.get("audio"),
            }
        )
    return {"query": {modality: value}, "target": target, "index": index, "results": results}


def query_input(bundle: Bundle, modality: str, value: str) -> torch.Tensor:
    """A one-item batch of model input from a text or a file path."""
    pre = bundle.preprocessor
    if modality == "text":
        return pre.text_batch([value])
    if modality == "image":
        return pre.load_image(value)[None]
    return pre.load_audio(value)[None]


def embed_input(bundle: Bundle, modality: str, x: torch.Tensor) -> torch.Tensor:
    model = bundle.model
    return model.embed(model.encode({modality: x}))[modality][0].float()


def _embed_one(bundle: Bundle, modality: str, value: str) -> torch.Tensor:
    return embed_input(bundle, modality, query_input(bundle, modality, value))

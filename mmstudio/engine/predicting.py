"""Predictions for a whole dataset (``mmstudio predict``): one row per item, written as CSV or
JSON lines.

Items are decoded with the same cache and preprocessing as training and evaluation, and run in
batches; a modality an item lacks (or whose file cannot be decoded) is masked, as in the
studio. The accuracy over labelled rows is computed from the same logits ``evaluate`` uses, so
the two agree.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from typing import Any

import torch

from mmstudio.engine.cache import prepare
from mmstudio.engine.evaluation import run_model, same_spec, split_items
from mmstudio.engine.events import drive
from mmstudio.engine.metrics import accuracy
from mmstudio.engine.regression import regression_metrics
from mmstudio.fileio import atomic_write_text

#: Columns of the CSV output, in order (JSON lines carry the same keys, ``top`` as a list).
COLUMNS = ("id", "split", "label", "predicted", "probability", "modalities", "image", "audio", "text")
#: The regress task's columns: the predicted number beside the item's own (``target``).
REGRESS_COLUMNS = ("id", "split", "target", "predicted", "error", "modalities", "image", "audio", "text")
#: A generating bundle's columns (JSON lines add ``alternatives`` with ``--beam``).
GENERATED_COLUMNS = ("id", "split", "generated", "score", "reference", "modalities", "image", "audio", "alternatives")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def predict_dataset(
    bundle,
    data,
    split: str = "all",
    batch_size: int = 256,
    top: int = 1,
    device: str = "cpu",
    on_event: Callable | None = None,
    beam: int = 1,
) -> dict[str, Any]:
    """Predict every item of ``data`` (one split or ``all``) with a classifying bundle.

    Returns ``{"rows": [...], "items": n, "labelled": k, "accuracy": a}`` (accuracy over the
    items whose label is one of the bundle's classes; absent when there are none). A generating
    bundle writes each item's text instead (:func:`generated_rows`; ``beam`` > 1: beam search,
    its other hypotheses in ``alternatives``).
    """
    from mmstudio.engine.bundle import Bundle, load_bundle
    from mmstudio.engine.data import load_dataset

    if not isinstance(bundle, Bundle):
        bundle = load_bundle(bundle, device=device)
    dataset = load_dataset(same_spec(bundle, data))
    items = split_items(dataset, split)
    if bundle.model.generates:
        return generated_rows(bundle, items, beam, batch_size, device, on_event)
    if not (bundle.model.classify or bundle.model.regress):
        raise ValueError(f"{bundle.path} was trained for align only; it has no classes to predict")
    names = list(bundle.class_names)
    feats = drive(prepare(items, bundle.preprocessor, {n: i for i, n in enumerate(names)}), on_event)
    if bundle.model.regress:
        return predict_numbers(bundle, items, feats, run_model(bundle.model, feats, device, batch_size)["value"])
    logits = run_model(bundle.model, feats, device, batch_size)["logits"]
    probs = torch.softmax(logits, 1)
    best = torch.topk(probs, min(max(1, top), probs.shape[1]), dim=1)
    present = torch.stack([feats.mask[m] for m in bundle.modalities], 1)
    rows = []
    for i, it in enumerate(items):
        row = {
            "id": it.id,
            "split": it.split or "",
            "label": it.label or "",
            "predicted": names[int(best.indices[i, 0])],
            "probability": round(float(best.values[i, 0]), 6),
            "modalities": "+".join(m for j, m in enumerate(bundle.modalities) if present[i, j]),
            "image": it.image or "",
            "audio": it.audio or "",
            "text": it.text or "",
        }
        if top > 1:
            row["top"] = [
                {"label": names[int(k)], "probability": round(float(p), 6)}
                for p, k in zip(best.values[i].tolist(), best.indices[i].tolist())
            ]
        rows.append(row)
    result: dict[str, Any] = {"rows": rows, "items": len(rows), "labelled": int((feats.labels >= 0).sum())}
    if result["labelled"]:
        result["accuracy"] = round(accuracy(logits, feats.labels), 6)
    return result


def generated_rows(bundle, items: list, beam: int, batch_size: int, device: str, on_event) -> dict[str, Any]:
    """``predict`` for a generating bundle: one row per item with the text it wrote."""
    from mmstudio.engine.generation import decode_features, detokenize

    feats = drive(prepare(items, bundle.preprocessor, {}), on_event)
    hyps = decode_features(bundle.model, feats, beam, device, min(batch_size, 128))
    tok = bundle.preprocessor.tokenizer
    rows = []
    for it, hs, i in zip(items, hyps, range(len(items))):
        row = {
            "id": it.id,
            "split": it.split or "",
            "generated": detokenize(tok, hs[0][0]) if hs else "",
            "score": round(hs[0][1], 6) if hs else 0.0,
            "reference": it.text or "",
            "modalities": "+".join(m for m in bundle.model.modalities if bool(feats.mask[m][i])),
            "image": it.image or "",
            "audio": it.audio or "",
        }
        if beam > 1:
            row["alternatives"] = [{"text": detokenize(tok, ids), "score": s} for ids, s in hs[1:]]
        rows.append(row)
    return {"rows": rows, "items": len(rows), "labelled": 0}


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row: beam alternatives as one cell, separated by `` | ``."""
    if "alternatives" not in row:
        return row
    return {**row, "alternatives": " | ".join(a["text"] for a in row["alternatives"])}


def prediction_format(path: str) -> str:
    """``csv`` or ``jsonl`` from the file name; a clear error for anything else."""
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise ValueError(f"{path}: give a .csv or .jsonl file name for the predictions")
    return fmt


def write_predictions(rows: list[dict[str, Any]], path: str) -> str:
    """Write ``rows`` to ``path`` (CSV or JSON lines, by suffix) in one atomic replace."""
    fmt = prediction_format(path)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        buf = io.StringIO()
        columns = (
            GENERATED_COLUMNS
            if rows and "generated" in rows[0]
            else REGRESS_COLUMNS
            if rows and "error" in rows[0]
            else COLUMNS
        )
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(_flat(r) for r in rows)
        text = buf.getvalue()
    atomic_write_text(path, text)
    return os.path.abspath(path)


def predict_numbers(bundle, items: list, feats, values: torch.Tensor) -> dict[str, Any]:
    """The regress task's rows: the predicted number, the item's target and the error; the
    MAE (and RMSE, R², beside the mean baseline) over the items that have a target."""
    present = torch.stack([feats.mask[m] for m in bundle.modalities], 1)
    rows = []
    for i, it in enumerate(items):
        value = round(float(values[i]), 6)
        rows.append(
            {
                "id": it.id,
                "split": it.split or "",
                "target": "" if it.target is None else it.target,
                "predicted": value,
                "error": "" if it.target is None else round(value - it.target, 6),
                "modalities": "+".join(m for j, m in enumerate(bundle.modalities) if present[i, j]),
                "image": it.image or "",
                "audio": it.audio or "",
                "text": it.text or "",
            }
        )
    result: dict[str, Any] = {"rows": rows, "items": len(rows), "labelled": sum(it.target is not None for it in items)}
    if result["labelled"] and feats.targets is not None:
        result["regression"] = regression_metrics(values, feats.targets, float(bundle.shape.target_mean))
    return result

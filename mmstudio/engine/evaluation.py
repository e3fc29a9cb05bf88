"""Evaluating a model on a dataset split: classification metrics, per-modality ablation and
cross-modal retrieval. Used by the training loop (validation) and by ``mmstudio eval``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import torch

from mmstudio.engine.cache import Features, prepare
from mmstudio.engine.events import drive
from mmstudio.engine.inputstats import input_warnings
from mmstudio.engine.metrics import accuracy, classification_metrics, retrieval_metrics
from mmstudio.engine.regression import quick_regress_scores, regress_summary, scaler_of


@torch.no_grad()
def run_model(
    model,
    feats: Features,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    drop: str | None = None,
    autocast=None,
) -> dict[str, Any]:
    """Logits and embeddings for every item (on the CPU); ``drop`` masks out one modality."""
    model.eval()
    logits: list[torch.Tensor] = []
    values: list[torch.Tensor] = []
    emb: dict[str, list[torch.Tensor]] = {m: [] for m in model.modalities}
    for start in range(0, len(feats), batch_size):
        idx = torch.arange(start, min(start + batch_size, len(feats)))
        inputs, mask, _ = feats.batch(idx)
        inputs = {m: x.to(device, non_blocking=True) for m, x in inputs.items()}
        mask = {m: x.to(device) for m, x in mask.items()}
        if drop is not None:
            mask[drop] = torch.zeros_like(mask[drop])
        ctx = autocast() if autocast else _null()
        with ctx:
            out = model(inputs, mask)
        if "logits" in out:
            logits.append(out["logits"].float().cpu())
        if "value" in out:
            values.append(out["value"].float().cpu())
        for m, e in out.get("embeddings", {}).items():
            emb[m].append(e.float().cpu())
    result: dict[str, Any] = {"logits": torch.cat(logits) if logits else None}
    if values:
        result["value"] = torch.cat(values)
    if model.align:
        result["embeddings"] = {m: torch.cat(v) for m, v in emb.items() if v}
    return result


def quick_scores(model, feats: Features, device, batch_size: int, autocast=None) -> dict[str, float]:
    """Validation figures for each epoch: accuracy (classify) and mean exact Recall@1 (align);
    generate: token accuracy, exact match and loss (:func:`.generation.validation_scores`)."""
    if getattr(model, "generates", False):
        from mmstudio.engine.generation import validation_scores

        return validation_scores(model, feats, device, batch_size, autocast)
    out = run_model(model, feats, device, batch_size, autocast=autocast)
    scores: dict[str, float] = {}
    if "value" in out and feats.targets is not None:
        scores.update(quick_regress_scores(out["value"], feats.targets.cpu(), scaler_of(model.shape)))
    if out["logits"] is not None and not getattr(model, "regress", False):
        scores["accuracy"] = round(accuracy(out["logits"], feats.labels), 6)
        scores["loss"] = (
            round(
                float(
                    torch.nn.functional.cross_entropy(out["logits"][feats.labels >= 0], feats.labels[feats.labels >= 0])
                ),
                6,
            )
            if bool((feats.labels >= 0).any())
            else 0.0
        )
    if "embeddings" in out:
        r1 = [v["exact"]["recall@1"] for v in _retrieval(out["embeddings"], feats, None).values()]
        scores["recall@1"] = round(sum(r1) / max(1, len(r1)), 6)
    return scores


def metrics_from_features(
    model, feats: Features, class_names: list[str], device="cpu", batch_size: int = 256, ablation: bool = True
) -> dict[str, Any]:
    out = run_model(model, feats, device, batch_size)
    result: dict[str, Any] = {"items": len(feats)}
    labelled = bool((feats.labels >= 0).any())
    if "value" in out:
        result.update(
            regress_summary(
                model, feats, out["value"], lambda m: run_model(model, feats, device, batch_size, m), ablation
            )
        )
    elif out["logits"] is not None and labelled:
        result.update(classification_metrics(out["logits"], feats.labels, class_names))
        if ablation and len(model.modalities) > 1:
            result["ablation"] = {
                f"without_{m}": round(
                    accuracy(run_model(model, feats, device, batch_size, drop=m)["logits"], feats.labels), 6
                )
                for m in model.modalities
            }
    if "embeddings" in out:
        result["retrieval"] = _retrieval(out["embeddings"], feats, feats.labels if labelled else None)
    weights = model.modality_weights()
    if weights:
        result["modality_weights"] = weights
    return result


def _retrieval(emb: dict[str, torch.Tensor], feats: Features, labels) -> dict[str, Any]:
    out = {}
    for a, b in itertools.permutations(sorted(emb), 2):
        both = feats.mask[a] & feats.mask[b]
        if int(both.sum()) < 2:
            continue
        lab = labels[both] if labels is not None else None
        if lab is not None and bool((lab < 0).any()):
            lab = None
        qg, cg = feats.groups.get(a), feats.groups.get(b)
        out[f"{a}->{b}"] = retrieval_metrics(
            emb[a][both],
            emb[b][both],
            lab,
            query_groups=qg[both] if qg is not None else None,
            corpus_groups=cg[both] if cg is not None else None,
        )
    return out


def evaluate(
    bundle,
    data,
    split: str = "test",
    batch_size: int = 256,
    ablation: bool = True,
    device: str = "cpu",
    on_event: Callable | None = None,
    beam: int = 1,
) -> dict[str, Any]:
    """Metrics of a bundle (or its path) on one split of a dataset (or its path/spec).

    ``split="all"`` uses every item. ``on_event`` receives the decoding progress events.
    A generating bundle decodes with beam search of width ``beam`` (1: greedy) and is compared
    with baselines built from the training split unless ``ablation`` is False.
    """
    from mmstudio.engine.bundle import Bundle, load_bundle
    from mmstudio.engine.data import load_dataset

    if not isinstance(bundle, Bundle):
        bundle = load_bundle(bundle, device=device)
    dataset = load_dataset(same_spec(bundle, data))
    items = split_items(dataset, split)
    # Align-only bundles have no classes; the dataset's labels still give same-label recall.
    names = bundle.class_names or dataset.class_names
    index = {name: i for i, name in enumerate(names)}
    gen = prepare(items, bundle.preprocessor, index)
    feats = drive(gen, on_event)
    if bundle.model.generates:
        from mmstudio.engine.generation import evaluate_generation

        train = dataset.subset("train") if ablation and split != "train" else None
        result = evaluate_generation(bundle, items, feats, train, beam, device, batch_size, on_event)
    else:
        result = metrics_from_features(bundle.model, feats, bundle.class_names, device, batch_size, ablation)
    warnings = input_warnings(bundle.meta.get("input_stats"), feats.inputs, feats.mask)
    return {
        "split": split,
        "dataset": dataset.spec.path,
        **result,
        **({"input_warnings": warnings} if warnings else {}),
    }


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def same_spec(bundle, data):
    """The bundle's own dataset description when ``data`` is the path it was trained on: the
    same column roles, split ratios and seed, so "test" is the split training held out."""
    import os

    if isinstance(data, (str, os.PathLike)):
        trained = bundle.run.dataset
        if trained.path and os.path.abspath(os.path.expanduser(str(data))) == os.path.abspath(trained.path):
            return trained
    return data


def split_items(dataset, split: str) -> list:
    """The items of ``split`` (``all``: every item); a clear error when it is empty."""
    items = dataset.items if split == "all" else dataset.subset(split)
    if not items:
        raise ValueError(f"split {split!r} of {dataset.spec.path} has no items (splits: {', '.join(dataset.splits())})")
    return items

"""Metrics from model outputs: classification (accuracy, macro-F1, per-class, confusion) and
retrieval (Recall@K and median rank, by exact pair and by same label). Plain floats out."""
from __future__ import annotations

from typing import Any

import torch


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor,
                           class_names: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 (scikit-learn's ``f1_score(average="macro")``: the mean over the
    union of true and predicted labels), per-class figures and the confusion matrix."""
    keep = labels >= 0
    pred, true = logits[keep].argmax(1), labels[keep]
    n = len(class_names)
    conf = torch.zeros(n, n, dtype=torch.int64)
    if true.numel():
        conf.index_put_((true, pred), torch.ones_like(true), accumulate=True)
    tp = conf.diag().double()
    precision = tp / conf.sum(0).double().clamp_min(1)
    recall = tp / conf.sum(1).double().clamp_min(1)
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
    support = conf.sum(1)
    # scikit-learn's macro average: over every class that is a true or a predicted label, so a
    # class the model predicts but the split lacks counts (with F1 0) instead of vanishing.
    present = (support > 0) | (conf.sum(0) > 0)
    return {
        "items": int(true.numel()),
        "accuracy": round(float(tp.sum() / max(1, true.numel())), 6),
        "macro_f1": round(float(f1[present].mean()) if bool(present.any()) else 0.0, 6),
        "per_class": {name: {"precision": round(float(precision[i]), 6),
                             "recall": round(float(recall[i]), 6), "f1": round(float(f1[i]), 6),
                             "support": int(support[i])} for i, name in enumerate(class_names)},
        "confusion": conf.tolist(),
        "class_names": list(class_names),
    }


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    keep = labels >= 0
    if not bool(keep.any()):
        return 0.0
    return float((logits[keep].argmax(1) == labels[keep]).double().mean())


def retrieval_metrics(queries: torch.Tensor, corpus: torch.Tensor,
                      labels: torch.Tensor | None = None, ks: tuple[int, ...] = (1, 5, 10),
                      chunk: int = 1024) -> dict[str, Any]:
    """Query i's exact match is corpus item i; with labels, any corpus item of the same label
    also counts (``label`` figures). Ranks count from 1."""
    exact_ranks, label_ranks = [], []
    for start in range(0, queries.shape[0], chunk):
        sims = queries[start:start + chunk].float() @ corpus.float().T
        order = sims.argsort(dim=1, descending=True)
        rows = torch.arange(start, start + sims.shape[0])
        exact_ranks.append((order == rows[:, None]).float().argmax(1) + 1)
        if labels is not None:
            same = labels[order] == labels[rows][:, None]
            label_ranks.append(same.float().argmax(1) + 1)
    out: dict[str, Any] = {"queries": int(queries.shape[0]), "corpus": int(corpus.shape[0]),
                           "exact": _summary(torch.cat(exact_ranks), ks)}
    if labels is not None:
        out["label"] = _summary(torch.cat(label_ranks), ks)
        out["label"]["random_recall@10"] = round(random_label_recall(labels, 10), 6)
    out["exact"]["random_recall@10"] = round(min(1.0, 10 / max(1, corpus.shape[0])), 6)
    return out


def _summary(ranks: torch.Tensor, ks: tuple[int, ...]) -> dict[str, float]:
    out = {f"recall@{k}": round(float((ranks <= k).double().mean()), 6) for k in ks}
    out["median_rank"] = float(ranks.double().median())
    return out


def random_label_recall(labels: torch.Tensor, k: int) -> float:
    """Expected same-label Recall@K of a random ranking (sampling without replacement)."""
    n = labels.numel()
    if n == 0:
        return 0.0
    counts = torch.bincount(labels - labels.min()).double()
    total = 0.0
    for c in counts[counts > 0].tolist():
        # P(no same-label item in the top k) = C(n-c, k) / C(n, k), for each of the c queries.
        miss = 1.0
        for j in range(min(k, n)):
            miss *= max(0.0, (n - c - j) / (n - j))
        total += c * (1 - miss)
    return total / n

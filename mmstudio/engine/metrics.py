"""Metrics from model outputs: classification (accuracy, macro-F1, per-class, confusion) and
retrieval (Recall@K and median rank, by exact pair and by same label). Plain floats out."""

from __future__ import annotations

from typing import Any

import torch


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor, class_names: list[str]) -> dict[str, Any]:
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
        "per_class": {
            name: {
                "precision": round(float(precision[i]), 6),
                "recall": round(float(recall[i]), 6),
                "f1": round(float(f1[i]), 6),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion": conf.tolist(),
        "class_names": list(class_names),
    }


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    keep = labels >= 0
    if not bool(keep.any()):
        return 0.0
    return float((logits[keep].argmax(1) == labels[keep]).double().mean())


def retrieval_metrics(
    queries: torch.Tensor,
    corpus: torch.Tensor,
    labels: torch.Tensor | None = None,
    ks: tuple[int, ...] = (1, 5, 10),
    chunk: int = 1024,
    query_groups: torch.Tensor | None = None,
    corpus_groups: torch.Tensor | None = None,
) -> dict[str, Any]:
    """Query i's exact match is corpus item i; with labels, any corpus item of the same label
    also counts (``label`` figures). Ranks count from 1.

    With ``query_groups``/``corpus_groups`` (ids of the distinct inputs, :class:`Features`), each
    distinct query is asked once and each distinct corpus input listed once; a query's matches
    are every corpus input it was paired with (an image's five captions), so an image with five
    captions is neither counted five times nor ranked against copies of itself.
    """
    if query_groups is None or corpus_groups is None:
        query_groups = corpus_groups = torch.arange(queries.shape[0])
    q_first = _first_of_each(query_groups)
    c_first = _first_of_each(corpus_groups)
    c_index = {int(g): j for j, g in enumerate(corpus_groups[c_first].tolist())}
    q_index = {int(g): j for j, g in enumerate(query_groups[q_first].tolist())}
    # (distinct query, distinct corpus input) of every pair: the matches, made into a mask per chunk
    pairs = torch.tensor(
        sorted({(q_index[qg], c_index[cg]) for qg, cg in zip(query_groups.tolist(), corpus_groups.tolist())}),
        dtype=torch.int64,
    ).reshape(-1, 2)
    q, c = queries[q_first].float(), corpus[c_first].float()
    exact_ranks, label_ranks = [], []
    for start in range(0, q.shape[0], chunk):
        sims = q[start : start + chunk] @ c.T
        rows = pairs[(pairs[:, 0] >= start) & (pairs[:, 0] < start + sims.shape[0])]
        positive = torch.zeros(sims.shape, dtype=torch.bool)
        positive[rows[:, 0] - start, rows[:, 1]] = True
        exact_ranks.append(_first_hit_rank(sims, positive))
        if labels is not None:
            same = labels[q_first][start : start + chunk, None] == labels[c_first][None]
            label_ranks.append(_first_hit_rank(sims, same))
    out: dict[str, Any] = {
        "queries": int(q.shape[0]),
        "corpus": int(c.shape[0]),
        "exact": _summary(torch.cat(exact_ranks), ks),
    }
    if labels is not None:
        out["label"] = _summary(torch.cat(label_ranks), ks)
        out["label"]["random_recall@10"] = round(random_label_recall(labels[c_first], 10), 6)
    out["exact"]["random_recall@10"] = round(min(1.0, 10 / max(1, c.shape[0])), 6)
    return out


def _first_of_each(groups: torch.Tensor) -> torch.Tensor:
    """Indices of the first item of each distinct group, in item order."""
    seen: set[int] = set()
    keep = []
    for i, g in enumerate(groups.tolist()):
        if g not in seen:
            seen.add(g)
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def _first_hit_rank(sims: torch.Tensor, hit: torch.Tensor) -> torch.Tensor:
    """1 + how many corpus items score above the best-scoring hit (no hit: past the end)."""
    best = sims.masked_fill(~hit, float("-inf")).max(1).values
    rank = (sims > best[:, None]).sum(1) + 1
    return torch.where(hit.any(1), rank, torch.full_like(rank, sims.shape[1] + 1))


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

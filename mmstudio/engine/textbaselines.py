"""What a generating model must beat, scored like the model (:func:`.textmetrics.text_scores`):

- ``most_frequent``: every item gets the training split's most frequent text (after
  normalising): the trivial baseline.
- ``nearest_neighbour``: every item gets the text of the most similar training item, by cosine
  similarity of the trained model's own encoder outputs (the pooled features of each input
  modality, unit length, side by side). A strong baseline for captions: it copies a real text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from mmstudio.engine.cache import Features, prepare
from mmstudio.engine.events import drive
from mmstudio.engine.textmetrics import normalise, text_scores

NN_FEATURE = "the trained encoders' pooled outputs (cosine similarity)"


def baselines(
    bundle,
    items: list,
    feats: Features,
    refs: list[list[str]],
    train_items: list,
    device="cpu",
    batch_size: int = 256,
    on_event: Callable | None = None,
) -> dict[str, Any]:
    """Both baselines' scores on ``items`` (decoded as ``feats``) from ``train_items``."""
    train_items = [it for it in train_items if it.text]
    if not train_items:
        return {}
    common = most_frequent_text([it.text for it in train_items])
    out: dict[str, Any] = {"most_frequent": {"text": common, **text_scores([common] * len(items), refs)}}
    train_feats = drive(prepare(train_items, bundle.preprocessor, {}), on_event)
    nearest = nearest_items(bundle.model, feats, train_feats, device, batch_size)
    texts = [train_items[i].text or "" for i in nearest]
    out["nearest_neighbour"] = {"feature": NN_FEATURE, **text_scores(texts, refs)}
    return out


def most_frequent_text(texts: list[str]) -> str:
    """The most frequent text after normalising (ties: the first seen), as first written."""
    counts = Counter(normalise(t) for t in texts)
    best = max(counts.values())
    return next(t for t in texts if counts[normalise(t)] == best)


@torch.no_grad()
def pooled_features(model, feats: Features, device="cpu", batch_size: int = 256) -> torch.Tensor:
    """``(N, D * modalities)``: each input's unit-length encoder output, zeros where missing."""
    model.eval()
    rows = []
    for start in range(0, len(feats), batch_size):
        idx = torch.arange(start, min(start + batch_size, len(feats)))
        inputs, mask, _ = feats.batch(idx)
        out = model.encode({m: inputs[m].to(device) for m in model.modalities})
        parts = [F.normalize(out[m].float(), dim=-1) * mask[m].to(device)[:, None] for m in model.modalities]
        rows.append(torch.cat(parts, 1).cpu())
    return torch.cat(rows) if rows else torch.zeros(0, 1)


def nearest_items(model, feats: Features, train_feats: Features, device="cpu", batch_size: int = 256) -> list[int]:
    """For each item of ``feats``, the index of the most similar training item."""
    query = pooled_features(model, feats, device, batch_size)
    corpus = pooled_features(model, train_feats, device, batch_size)
    out: list[int] = []
    for start in range(0, len(query), 1024):
        out += (query[start : start + 1024] @ corpus.T).argmax(1).tolist()
    return out

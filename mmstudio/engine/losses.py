"""Training objectives: cross-entropy for ``classify``, symmetric InfoNCE for ``align``."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F


def classify_loss(
    logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None = None, smoothing: float = 0.0
) -> torch.Tensor:
    """Cross-entropy ignoring unlabelled samples (label -1)."""
    if not bool((labels >= 0).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), labels, weight=weight, ignore_index=-1, label_smoothing=smoothing)


def info_nce(
    emb: dict[str, torch.Tensor],
    mask: dict[str, torch.Tensor],
    logit_scale: torch.Tensor,
    groups: dict[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Mean symmetric InfoNCE over every pair of modalities, on samples that have both.

    The i-th sample of one modality is the positive of the i-th of the other; the rest of the
    batch are negatives, except samples that share an input (``groups``: two captions of one
    image in a batch): those are positives too, shared as soft targets, so the loss never
    pushes an image away from its own caption. The temperature is learned (CLIP's
    ``logit_scale``, capped at 100).
    """
    scale = logit_scale.exp().clamp(max=100.0)
    losses = []
    for a, b in itertools.combinations(sorted(emb), 2):
        both = mask[a] & mask[b]
        if int(both.sum()) < 2:
            continue
        ea, eb = emb[a][both].float(), emb[b][both].float()
        logits = scale * ea @ eb.T
        target = torch.eye(logits.shape[0], device=logits.device)
        if groups and a in groups and b in groups:
            ga, gb = groups[a][both], groups[b][both]
            target = ((ga[:, None] == ga[None]) | (gb[:, None] == gb[None])).float()
            target = target / target.sum(1, keepdim=True)
        losses.append((_soft_ce(logits, target) + _soft_ce(logits.T, target.T)) / 2)
    if not losses:
        return logit_scale * 0.0
    return torch.stack(losses).mean()


def _soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    target = target / target.sum(1, keepdim=True)
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def l1_penalty(model: torch.nn.Module) -> torch.Tensor:
    """Sum of absolute weights of matrices and kernels (biases and norms excluded)."""
    return sum(p.abs().sum() for p in model.parameters() if p.requires_grad and p.dim() > 1)  # type: ignore[return-value]

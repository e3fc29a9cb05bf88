"""Optimisers, the learning-rate schedule, class weights and modality dropout for training."""

from __future__ import annotations

import math

import torch


def modality_dropout(mask: dict[str, torch.Tensor], p: float) -> dict[str, torch.Tensor]:
    """Hide each present modality with probability ``p``, keeping at least one per sample."""
    names = list(mask)
    present = torch.stack([mask[m] for m in names], 1)
    dropped = present & (torch.rand(present.shape, device=present.device) >= p)
    empty = ~dropped.any(1) & present.any(1)
    if bool(empty.any()):  # restore one random present modality where all were dropped
        pick = torch.multinomial(present[empty].float(), 1).squeeze(1)
        dropped[empty] = torch.nn.functional.one_hot(pick, len(names)).bool()
    return {m: dropped[:, i] for i, m in enumerate(names)}


def make_optimizer(model, tr) -> torch.optim.Optimizer:
    """AdamW or SGD; weight decay on matrices and kernels only (not biases or norms)."""
    params = [p for p in model.parameters() if p.requires_grad]
    scaled = [p for p in params if getattr(p, "lr_scale", 1.0) != 1.0]
    decay = [p for p in params if p.dim() > 1 and getattr(p, "lr_scale", 1.0) == 1.0]
    rest = [p for p in params if p.dim() <= 1 and getattr(p, "lr_scale", 1.0) == 1.0]
    groups: list[dict] = [{"params": decay, "weight_decay": tr.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    # tables a parameter asks to learn faster (the ngram encoder's embeddings: each row sees only
    # the batches its token is in), at their own rate and without decay
    for scale in sorted({p.lr_scale for p in scaled}):
        groups.append({"params": [p for p in scaled if p.lr_scale == scale], "weight_decay": 0.0, "lr": tr.lr * scale})
    if tr.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=tr.lr, momentum=tr.momentum, nesterov=True)
    return torch.optim.AdamW(groups, lr=tr.lr)


def make_scheduler(optimizer, tr, steps_per_epoch: int):
    """Linear warmup, then cosine decay to 2 % of the peak (or constant), stepped per batch."""
    total = max(1, tr.epochs * steps_per_epoch)
    warmup = min(total - 1, int(tr.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if tr.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def class_weights(labels: torch.Tensor, n: int, device) -> torch.Tensor:
    counts = torch.bincount(labels[labels >= 0], minlength=n).float().clamp_min(1)
    return (counts.sum() / (n * counts)).to(device)

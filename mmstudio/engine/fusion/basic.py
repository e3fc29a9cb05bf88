"""Fusions with no or few learned parameters: early, concat, weighted_sum, product."""

from __future__ import annotations

import torch
from torch import nn

from mmstudio.engine.fusion.base import FUSIONS, Fusion, masked_softmax


@FUSIONS.register("concat")
class ConcatFusion(Fusion):
    """Concatenate modality features (missing ones as zeros)."""

    def __init__(self, modalities, dim, dropout=0.1, num_classes=0) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        self.out_dim = dim * len(self.modalities)

    def forward(self, feats, mask):
        x = self.stack(feats) * self.present(mask, feats[self.modalities[0]]).unsqueeze(-1)
        return x.flatten(1)


@FUSIONS.register("early")
class EarlyFusion(ConcatFusion):
    """Concatenate features early, then one shared deep network."""

    def __init__(self, modalities, dim, dropout=0.1, num_classes=0, hidden: int = 0) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        hidden = hidden or 2 * dim
        self.net = nn.Sequential(
            nn.Linear(self.out_dim + len(self.modalities), hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
            nn.GELU(),
        )
        self.out_dim = dim

    def forward(self, feats, mask):
        present = self.present(mask, feats[self.modalities[0]])
        # The presence flags are inputs too, so the shared network knows what is missing.
        return self.net(torch.cat([super().forward(feats, mask), present], 1))


@FUSIONS.register("weighted_sum")
class WeightedSumFusion(Fusion):
    """Sum of features with learned, readable modality weights."""

    def __init__(self, modalities, dim, dropout=0.1, num_classes=0) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        self.logits = nn.Parameter(torch.zeros(len(self.modalities)))

    def forward(self, feats, mask):
        x = self.stack(feats)
        w = masked_softmax(self.logits.expand(x.shape[0], -1), self.present(mask, x))
        return (w.unsqueeze(-1) * x).sum(1)

    def modality_weights(self):
        w = torch.softmax(self.logits.detach(), 0)
        return {m: round(float(v), 4) for m, v in zip(self.modalities, w)}


@FUSIONS.register("product")
class ProductFusion(Fusion):
    """Element-wise product of features (missing ones as 1)."""

    def __init__(self, modalities, dim, dropout=0.1, num_classes=0) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        self.norm = nn.LayerNorm(dim)

    def forward(self, feats, mask):
        x = self.stack(feats)
        present = self.present(mask, x).unsqueeze(-1)
        # 1 + f keeps each modality's own signal in the product (f*g alone loses it near 0).
        x = present * (1 + x) + (1 - present)
        return self.norm(x.prod(1))

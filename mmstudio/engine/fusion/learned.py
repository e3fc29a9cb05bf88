"""Fusions that learn how modalities interact: gated, attention, tensor (low rank), late."""

from __future__ import annotations

import torch
from torch import nn

from mmstudio.engine.fusion.base import FUSIONS, Fusion, masked_softmax


@FUSIONS.register("gated")
class GatedFusion(Fusion):
    """Gated multimodal unit: learned per-sample, per-feature gates weigh the modalities."""

    def __init__(self, modalities, dim, dropout=0.1, num_classes=0) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        n = len(self.modalities)
        self.transform = nn.ModuleDict({m: nn.Linear(dim, dim) for m in self.modalities})
        self.gate = nn.Linear(n * dim, n * dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, feats, mask):
        x = self.stack(feats)
        present = self.present(mask, x)  # (B, M)
        x = x * present.unsqueeze(-1)
        h = torch.stack([torch.tanh(self.transform[m](feats[m])) for m in self.modalities], 1)
        logits = self.gate(x.flatten(1)).view_as(h)  # one gate per modality and feature
        logits = logits.masked_fill(present.unsqueeze(-1) == 0, -1e4)
        z = torch.softmax(logits, 1) * present.unsqueeze(-1)
        return self.norm((z * h).sum(1))


@FUSIONS.register("attention")
class AttentionFusion(Fusion):
    """Transformer over one token per modality, read from a CLS token."""

    def __init__(self, modalities, dim, dropout=0.1, num_classes=0, heads: int = 4, layers: int = 1) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.kind = nn.Parameter(torch.zeros(1, len(self.modalities), dim))
        nn.init.normal_(self.kind, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, feats, mask):
        x = self.stack(feats) + self.kind
        present = self.present(mask, x) > 0
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
        keep = torch.cat([torch.ones_like(present[:, :1]), present], 1)
        return self.norm(self.encoder(tokens, src_key_padding_mask=~keep)[:, 0])


@FUSIONS.register("tensor")
class TensorFusion(Fusion):
    """Low-rank tensor fusion: multiplicative interactions of all orders."""

    def __init__(self, modalities, dim, dropout=0.1, num_classes=0, rank: int = 4) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        self.factors = nn.ParameterDict(
            {m: nn.Parameter(torch.randn(rank, dim + 1, dim) * (dim + 1) ** -0.5) for m in self.modalities}
        )
        self.rank_weights = nn.Parameter(torch.full((rank,), 1.0 / rank))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.norm = nn.LayerNorm(dim)

    def forward(self, feats, mask):
        ref = feats[self.modalities[0]]
        out = None
        for m in self.modalities:
            # A missing modality contributes only the constant 1 of its [f, 1] vector.
            f = feats[m] * mask[m].to(ref.dtype).unsqueeze(-1)
            z = torch.cat([f, torch.ones_like(f[:, :1])], 1)
            part = torch.einsum("bi,rio->rbo", z, self.factors[m])
            out = part if out is None else out * part
        fused = torch.einsum("r,rbo->bo", self.rank_weights, out) + self.bias
        return self.norm(fused)


@FUSIONS.register("late")
class LateFusion(Fusion):
    """Decision level: one classifier per modality, averaged (or learned weights)."""

    produces_logits = True

    def __init__(self, modalities, dim, dropout=0.1, num_classes=2, learned: bool = True) -> None:
        super().__init__(modalities, dim, dropout, num_classes)
        self.heads = nn.ModuleDict(
            {m: nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, num_classes)) for m in self.modalities}
        )
        self.logits = nn.Parameter(torch.zeros(len(self.modalities)), requires_grad=learned)
        self.out_dim = num_classes

    def forward(self, feats, mask):
        out = torch.stack([self.heads[m](feats[m]) for m in self.modalities], 1)  # (B, M, C)
        present = self.present(mask, out)
        w = masked_softmax(self.logits.expand(out.shape[0], -1), present)
        return (w.unsqueeze(-1) * out).sum(1)

    def per_modality(self, feats):
        return {m: self.heads[m](feats[m]) for m in self.modalities}

    def modality_weights(self):
        w = torch.softmax(self.logits.detach(), 0)
        return {m: round(float(v), 4) for m, v in zip(self.modalities, w)}

"""The fusion registry and the base class every fusion derives from."""

from __future__ import annotations

import torch
from torch import nn

# The registry lives in the torch-free components module, with the built-ins' metadata.
from mmstudio.engine.components import FUSIONS  # noqa: F401  (re-exported)


class Fusion(nn.Module):
    """Base: ``modalities`` fixes the order; ``out_dim`` is the output width."""

    produces_logits = False

    def __init__(self, modalities: tuple[str, ...], dim: int, dropout: float = 0.1, num_classes: int = 0) -> None:
        super().__init__()
        self.modalities = tuple(modalities)
        self.dim = dim
        self.out_dim = dim

    def present(self, mask: dict[str, torch.Tensor], ref: torch.Tensor) -> torch.Tensor:
        """``(B, M)`` float: 1 where modality m is present for the sample."""
        return torch.stack([mask[m].to(ref.dtype) for m in self.modalities], 1)

    def stack(self, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([feats[m] for m in self.modalities], 1)  # (B, M, D)

    def modality_weights(self) -> dict[str, float] | None:
        """Learned per-modality weights the user can read, where the fusion has them."""
        return None


def masked_softmax(logits: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Softmax over modalities (last dim) that are present; all-missing rows give zeros."""
    logits = logits.masked_fill(present == 0, -1e4)
    return torch.softmax(logits, -1) * present

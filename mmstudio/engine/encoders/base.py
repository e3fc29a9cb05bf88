"""The three encoder registries and small shared helpers."""

from __future__ import annotations

import torch
from torch import nn

# The registries live in the torch-free components module, with the built-ins' metadata.
from mmstudio.engine.components import AUDIO_ENCODERS, ENCODERS, IMAGE_ENCODERS, TEXT_ENCODERS

__all__ = ["AUDIO_ENCODERS", "ENCODERS", "IMAGE_ENCODERS", "TEXT_ENCODERS", "masked_mean", "projection", "recurrent"]


def masked_mean(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` ``(B, L, D)`` over positions where ``keep`` ``(B, L)`` is True."""
    w = keep.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0)


def projection(in_dim: int, dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, dim), nn.LayerNorm(dim))


def recurrent(
    cell: str, in_dim: int, hidden: int, layers: int, bidirectional: bool, dropout: float, dim: int
) -> tuple[nn.RNNBase, nn.Sequential]:
    """A batch-first GRU/LSTM and the projection of its (pooled) outputs to ``dim``.

    Text and audio sequence encoders share it, so both drop out between layers only (PyTorch
    warns on dropout with a single layer) and size the projection for both directions.
    """
    kind = nn.GRU if cell == "gru" else nn.LSTM
    rnn = kind(
        in_dim,
        hidden,
        num_layers=layers,
        batch_first=True,
        bidirectional=bidirectional,
        dropout=dropout if layers > 1 else 0.0,
    )
    return rnn, projection(hidden * (2 if bidirectional else 1), dim, dropout)

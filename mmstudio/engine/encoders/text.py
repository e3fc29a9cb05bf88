"""Text encoders over token ids ``(B, L)`` (0 = padding): bag of embeddings, GRU, LSTM,
transformer. Recurrent outputs are mean-pooled over real tokens, which also exports to ONNX."""

from __future__ import annotations

import torch
from torch import nn

from mmstudio.engine.encoders.base import TEXT_ENCODERS, masked_mean, projection, recurrent


class BagEncoder(nn.Module):
    """Mean of token embeddings: order-free, tiny and fast."""

    def __init__(self, vocab_size: int, dim: int = 128, dropout: float = 0.1, embed: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.proj = projection(embed, dim, dropout)
        self.out_dim = dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.proj(masked_mean(self.embed(ids), ids != 0))


class NgramEncoder(nn.Module):
    """TF-IDF-weighted bag of words and word pairs: a learned linear map of the L2-normalised
    TF-IDF vector (what a TF-IDF + logistic-regression baseline computes), then a projection.

    ``idf`` is a buffer saved with the weights; :func:`set_idf` fills it from the tokenizer.
    ``linear``: no projection (the table's rows are the features, so with a linear head the
    model is a linear map of the TF-IDF vector, as logistic regression is) and no token dropout;
    ``l2``: an L2 penalty on the table added to the loss (:meth:`penalty`), logistic
    regression's regulariser; ``sublinear``: a token seen ``n`` times in a text weighs
    ``1 + log n`` rather than ``n`` (scikit-learn's ``sublinear_tf``).
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int = 128,
        dropout: float = 0.1,
        embed: int = 128,
        init: float = 0.01,
        norm: bool = False,
        lr_scale: float = 3.0,
        linear: bool = False,
        l2: float = 0.0,
        sublinear: bool = False,
    ) -> None:
        super().__init__()
        embed = dim if linear else embed
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        nn.init.normal_(self.embed.weight, std=float(init))
        self.embed.weight.lr_scale = float(lr_scale)  # type: ignore[attr-defined]  # read by make_optimizer
        self.register_buffer("idf", torch.ones(vocab_size))
        self.token_dropout = 0.0 if linear else dropout
        self.l2, self.sublinear = float(l2), bool(sublinear)
        self.proj: nn.Module = (
            nn.Identity()
            if linear
            else projection(embed, dim, dropout)
            if norm
            else nn.Sequential(nn.Dropout(dropout), nn.Linear(embed, dim))
        )
        self.out_dim = dim

    idf: torch.Tensor

    def set_idf(self, idf: list[float]) -> None:
        with torch.no_grad():
            self.idf.copy_(torch.tensor(idf[: self.idf.numel()], dtype=torch.float32))

    def penalty(self) -> torch.Tensor:
        """The L2 penalty ``l2 / 2 * |table|^2`` the training loss adds (0 without ``l2``)."""
        if not self.l2:
            return self.idf.new_zeros(())
        return 0.5 * self.l2 * self.embed.weight.float().pow(2).sum()

    def _sublinear_weights(self, ids: torch.Tensor) -> torch.Tensor:
        """Each position's weight, so that the weighted sum is the L2-normalised vector of
        ``idf * (1 + log n)`` over the text's known tokens (unknown ones are left out, as a
        TF-IDF vectoriser leaves out words it has not seen)."""
        count = (ids.unsqueeze(2) == ids.unsqueeze(1)).sum(-1).clamp_min(1).float()
        weight = self.idf[ids] * (ids > 1) * (1 + count.log()) / count
        norm = (weight.pow(2) * count).sum(1, keepdim=True).sqrt()  # each token's n positions
        return weight / norm.clamp_min(1e-6)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.sublinear:
            weight = self._sublinear_weights(ids)
        else:
            weight = self.idf[ids] * (ids != 0)
            if self.training and self.token_dropout:  # drop whole tokens: a cheap text augmentation
                weight = weight * (torch.rand_like(weight) >= self.token_dropout)
            weight = weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-6)
        return self.proj((self.embed(ids) * weight.unsqueeze(-1).to(self.embed.weight.dtype)).sum(1))


class RecurrentEncoder(nn.Module):
    def __init__(
        self,
        cell: str,
        vocab_size: int,
        dim: int = 128,
        dropout: float = 0.1,
        embed: int = 64,
        hidden: int = 128,
        layers: int = 1,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.rnn, self.proj = recurrent(cell, embed, hidden, layers, bidirectional, dropout, dim)
        self.out_dim = dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(ids))
        return self.proj(masked_mean(out, ids != 0))


class TransformerTextEncoder(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        dim: int = 128,
        dropout: float = 0.1,
        width: int = 64,
        heads: int = 4,
        layers: int = 2,
        max_len: int = 512,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, max_len, width))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.proj = projection(width, dim, dropout)
        self.out_dim = dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keep = ids != 0
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        x = self.encoder(x, src_key_padding_mask=~keep)
        return self.proj(masked_mean(x, keep))


# ``vectors``: a word-vectors file the embeddings start from, loaded once the vocabulary is known
# (model.init_text_weights), so the factories take it and build the same network either way.


@TEXT_ENCODERS.register("ngram")
def _ngram(vectors: str = "", **kw) -> nn.Module:
    """TF-IDF-weighted words and word pairs (fast, strong default)."""
    return NgramEncoder(**kw)


@TEXT_ENCODERS.register("bag")
def _bag(vectors: str = "", **kw) -> nn.Module:
    """Mean of word embeddings (order-free, fastest)."""
    return BagEncoder(**kw)


@TEXT_ENCODERS.register("gru")
def _gru(vectors: str = "", **kw) -> nn.Module:
    """GRU over embeddings, mean-pooled."""
    return RecurrentEncoder("gru", **kw)


@TEXT_ENCODERS.register("lstm")
def _lstm(vectors: str = "", **kw) -> nn.Module:
    """LSTM over embeddings (option bidirectional), mean-pooled."""
    return RecurrentEncoder("lstm", **kw)


@TEXT_ENCODERS.register("transformer")
def _transformer(**kw) -> nn.Module:
    """Small transformer encoder with learned positions."""
    return TransformerTextEncoder(**kw)

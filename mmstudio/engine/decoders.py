"""Text decoders of the ``generate`` task: the inputs' encoders feed them, the text is the target.

Token ids are the bundle tokenizer's (0 padding, 1 unknown); a decoder adds two ids of its
own after the vocabulary: ``bos`` (start) and ``eos`` (end). Both decoders take the encoders'
outputs as ``{modality: (pooled (B, dim), sequence (B, L, C) or None)}``
(:func:`mmstudio.engine.seqfeatures.sequence_features`).

- ``transformer``: every input modality becomes a run of memory tokens (its pooled vector and
  its feature sequence, projected to the decoder's width, with sinusoidal positions and a
  learned modality embedding); a causal Transformer decoder cross-attends to them. Trained
  with teacher forcing and label smoothing; decoded greedily or by beam search
  (:mod:`mmstudio.engine.beam`).
- ``ctc``: a linear layer over the audio encoder's frames, trained with CTC (blank = the
  padding id, which no text uses), decoded by collapsing repeats and dropping blanks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mmstudio.engine.components import DECODERS

Encoded = dict[str, tuple[torch.Tensor, torch.Tensor | None]]


def target_pairs(ids: torch.Tensor, present: torch.Tensor, bos: int, eos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher forcing: ``(decoder input = bos + ids, target = ids + eos)``, padding 0 ignored.

    ``ids`` ``(B, T)`` are padded token ids; rows where ``present`` is False (no text) are all
    padding in the target, so they add nothing to the loss."""
    n = (ids != 0).sum(1)
    start = torch.full_like(ids[:, :1], bos)
    dec_in = torch.cat([start, ids], 1)
    target = torch.cat([ids, torch.zeros_like(ids[:, :1])], 1)
    target = target.scatter(1, n[:, None], eos)
    return dec_in, target * present[:, None].to(target.dtype)


def sinusoid(length: int, width: int, device: torch.device) -> torch.Tensor:
    """The Transformer's fixed sinusoidal positions ``(length, width)``: any sequence length."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / width))
    out = torch.zeros(length, width, device=device)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)[:, : width // 2]
    return out


class TransformerTextDecoder(nn.Module):
    """Cross-attending Transformer decoder over the inputs' memory tokens (see module doc)."""

    kind = "transformer"

    def __init__(
        self,
        modalities: tuple[str, ...],
        dim: int,
        seq_widths: dict[str, int],
        vocab_size: int,
        max_len: int,
        dropout: float = 0.1,
        width: int = 128,
        heads: int = 4,
        layers: int = 2,
        smoothing: float = 0.1,
    ) -> None:
        super().__init__()
        self.modalities, self.width, self.smoothing = tuple(modalities), width, smoothing
        self.vocab_size, self.bos, self.eos = vocab_size, vocab_size, vocab_size + 1
        self.max_len = max_len
        self.pooled = nn.ModuleDict({m: nn.Linear(dim, width) for m in self.modalities})
        self.seq = nn.ModuleDict({m: nn.Linear(c, width) for m, c in seq_widths.items() if c})
        self.kind_embed = nn.Parameter(torch.randn(len(self.modalities) + 1, width) * 0.02)  # +1: the null token
        self.embed = nn.Embedding(vocab_size + 2, width)
        self.positions = nn.Embedding(max_len + 1, width)
        layer = nn.TransformerDecoderLayer(width, heads, 4 * width, dropout, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(width))
        self.out = nn.Linear(width, vocab_size + 2)

    def memory(self, encoded: Encoded, mask: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(states (B, L, width), ignore (B, L))``: the tokens the decoder attends to; ``ignore``
        is True for the tokens of a modality a sample lacks. A null token is always there."""
        any_pooled = next(iter(encoded.values()))[0]
        b, dev = any_pooled.shape[0], any_pooled.device
        parts = [self.kind_embed[-1].expand(b, 1, -1)]
        ignore = [torch.zeros(b, 1, dtype=torch.bool, device=dev)]
        for i, m in enumerate(self.modalities):
            pooled, seq = encoded[m]
            tokens = self.pooled[m](pooled)[:, None]
            if seq is not None and m in self.seq:
                s = self.seq[m](seq) + sinusoid(seq.shape[1], self.width, dev)
                tokens = torch.cat([tokens, s], 1)
            parts.append(tokens + self.kind_embed[i])
            ignore.append((~mask[m].bool())[:, None].expand(-1, tokens.shape[1]))
        return torch.cat(parts, 1), torch.cat(ignore, 1)

    def logits(self, tokens: torch.Tensor, states: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, T, vocab + 2)`` at every position of ``tokens`` (causal)."""
        t = tokens.shape[1]
        pos = torch.arange(t, device=tokens.device).clamp(max=self.max_len)
        x = self.embed(tokens) + self.positions(pos)
        causal = torch.triu(torch.full((t, t), float("-inf"), device=tokens.device), diagonal=1)
        h = self.decoder(x, states, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=ignore)
        return self.out(h)

    def step(self, tokens: torch.Tensor, states: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(B, vocab + 2)`` of the token after ``tokens``; padding and start
        are never produced."""
        logits = self.logits(tokens, states, ignore)[:, -1].float()
        banned = torch.zeros_like(logits[:1])
        banned[:, 0] = float("-inf")
        banned[:, self.bos] = float("-inf")
        return torch.log_softmax(logits + banned, -1)

    def loss(self, encoded: Encoded, mask: dict[str, torch.Tensor], ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced cross-entropy with label smoothing over the target tokens."""
        dec_in, target = target_pairs(ids, mask["text"], self.bos, self.eos)
        states, ignore = self.memory(encoded, mask)
        logits = self.logits(dec_in, states, ignore)
        if not bool((target != 0).any()):
            return logits.sum() * 0.0
        return F.cross_entropy(
            logits.flatten(0, 1).float(), target.flatten(), ignore_index=0, label_smoothing=self.smoothing
        )


class CTCTextDecoder(nn.Module):
    """CTC over the audio encoder's frames; blank is id 0 (padding, which no text contains)."""

    kind = "ctc"

    def __init__(
        self, modalities: tuple[str, ...], dim: int, seq_widths: dict[str, int], vocab_size: int, dropout: float = 0.1
    ) -> None:
        super().__init__()
        if tuple(modalities) != ("audio",) or not seq_widths.get("audio"):
            raise ValueError("the ctc decoder reads audio frames: use audio alone as the input (mel_cnn or mel_lstm)")
        self.modalities, self.vocab_size = ("audio",), vocab_size
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(seq_widths["audio"], vocab_size))

    def log_probs(self, encoded: Encoded) -> torch.Tensor:
        """``(B, frames, vocab)`` log-probabilities (id 0: blank)."""
        seq = encoded["audio"][1]
        assert seq is not None
        return torch.log_softmax(self.out(seq).float(), -1)

    def loss(self, encoded: Encoded, mask: dict[str, torch.Tensor], ids: torch.Tensor) -> torch.Tensor:
        logp = self.log_probs(encoded)
        keep = mask["text"].bool() & mask["audio"].bool()
        if not bool(keep.any()):
            return logp.sum() * 0.0
        logp, ids = logp[keep], ids[keep]
        frames = torch.full((logp.shape[0],), logp.shape[1], dtype=torch.long, device=logp.device)
        return F.ctc_loss(
            logp.transpose(0, 1), ids, frames, (ids != 0).sum(1), blank=0, reduction="mean", zero_infinity=True
        )


@DECODERS.register("transformer")
def _transformer(**kw) -> nn.Module:
    return TransformerTextDecoder(**kw)


@DECODERS.register("ctc")
def _ctc(**kw) -> nn.Module:
    kw.pop("max_len", None)
    return CTCTextDecoder(**kw)

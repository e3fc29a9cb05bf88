"""Decoding token ids from a ``generate`` model: greedy and beam search for the Transformer
decoder, greedy and prefix beam search for CTC. Deterministic: the same inputs give the same
texts (ties go to the lower token id, as ``topk`` on the CPU orders them).

A hypothesis is ``(ids, score)``: the token ids without start and end, and its log-probability
(beam search ranks finished hypotheses by it divided by a length penalty, so short texts are
not favoured merely for being short).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Step = Callable[[torch.Tensor], torch.Tensor]  # tokens (N, t) -> log-probs (N, V) of the next token
Hypothesis = tuple[list[int], float]


@torch.no_grad()
def greedy(step: Step, batch: int, bos: int, eos: int, max_len: int, device="cpu") -> list[Hypothesis]:
    """The most likely next token, one at a time, until every row has ended."""
    tokens = torch.full((batch, 1), bos, dtype=torch.long, device=device)
    score = torch.zeros(batch, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    for _ in range(max_len):
        logp = step(tokens)
        best, tok = logp.max(-1)
        tok = torch.where(done, torch.full_like(tok, eos), tok)
        score = score + torch.where(done, torch.zeros_like(best), best)
        tokens = torch.cat([tokens, tok[:, None]], 1)
        done = done | (tok == eos)
        if bool(done.all()):
            break
    return [(_strip(row, eos), float(s)) for row, s in zip(tokens[:, 1:].tolist(), score.tolist())]


@torch.no_grad()
def beam_search(
    step: Step, batch: int, bos: int, eos: int, max_len: int, width: int, device="cpu", alpha: float = 0.6
) -> list[list[Hypothesis]]:
    """The ``width`` best hypotheses of each row, best first. ``step`` is called on
    ``batch * width`` rows (row ``i``'s beams are rows ``i * width ...``); a finished beam
    only extends with ``eos`` at no cost, so it keeps its score and its place."""
    k = max(1, width)
    tokens = torch.full((batch * k, 1), bos, dtype=torch.long, device=device)
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live beam at the start: the others would repeat it
    done = torch.zeros(batch * k, dtype=torch.bool, device=device)
    for _ in range(max_len):
        logp = step(tokens)
        vocab = logp.shape[1]
        logp = torch.where(done[:, None], torch.full_like(logp, float("-inf")), logp)
        logp[done, eos] = 0.0
        top, idx = (scores.reshape(-1, 1) + logp).reshape(batch, k * vocab).topk(k, dim=1)
        source = (torch.arange(batch, device=device)[:, None] * k + idx // vocab).reshape(-1)
        tok = (idx % vocab).reshape(-1)
        tokens = torch.cat([tokens[source], tok[:, None]], 1)
        done = done[source] | (tok == eos)
        scores = top
        if bool(done.all()):
            break
    return _ranked(tokens[:, 1:].tolist(), scores.reshape(-1).tolist(), batch, k, eos, alpha)


def _ranked(rows: list[list[int]], scores: list[float], batch: int, k: int, eos: int, alpha: float):
    out = []
    for i in range(batch):
        hyps = []
        for j in range(i * k, (i + 1) * k):
            if scores[j] == float("-inf"):
                continue
            ids = _strip(rows[j], eos)
            penalty = ((5 + len(ids) + 1) / 6) ** alpha  # GNMT's length penalty (the end counts)
            hyps.append((ids, scores[j], scores[j] / penalty))
        hyps.sort(key=lambda h: -h[2])  # stable: equal scores keep the beam order
        out.append([(ids, round(s, 6)) for ids, s, _ in hyps])
    return out


def _strip(row: list[int], eos: int) -> list[int]:
    return row[: row.index(eos)] if eos in row else row


def ctc_greedy(log_probs: torch.Tensor, blank: int = 0) -> list[Hypothesis]:
    """Best path: the most likely label per frame, repeats merged, blanks dropped."""
    best, path = log_probs.max(-1)
    out = []
    for row, s in zip(path.tolist(), best.sum(-1).tolist()):
        ids, prev = [], blank
        for t in row:
            if t != blank and t != prev:
                ids.append(t)
            prev = t
        out.append((ids, float(s)))
    return out


def ctc_beam(log_probs: torch.Tensor, width: int, blank: int = 0, prune: int = 8) -> list[list[Hypothesis]]:
    """CTC prefix beam search (Hannun et al. 2014) over each row's ``(frames, V)`` log-probs,
    trying the ``prune`` most likely labels of each frame; the ``width`` best prefixes, best first."""
    return [_prefix_beam(lp, max(1, width), blank, prune) for lp in log_probs.float().cpu()]


def _prefix_beam(lp: torch.Tensor, width: int, blank: int, prune: int) -> list[Hypothesis]:
    neg = float("-inf")
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, neg)}  # prefix -> (ends in blank, not)
    for frame in lp:
        labels = frame.topk(min(prune, frame.numel())).indices.tolist()
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            for c in labels:
                p = float(frame[c])
                if c == blank:
                    _add(nxt, prefix, 0, _lse(pb, pnb) + p)
                    continue
                last = prefix[-1] if prefix else None
                _add(nxt, prefix + (c,), 1, (pb if c == last else _lse(pb, pnb)) + p)
                if c == last:
                    _add(nxt, prefix, 1, pnb + p)
        ranked = sorted(nxt.items(), key=lambda kv: (-_lse(*kv[1]), kv[0]))[:width]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    final = sorted(beams.items(), key=lambda kv: (-_lse(*kv[1]), kv[0]))
    return [(list(k), round(_lse(*v), 6)) for k, v in final]


def _add(table: dict, prefix: tuple[int, ...], slot: int, value: float) -> None:
    cell = table.setdefault(prefix, [float("-inf"), float("-inf")])
    cell[slot] = _lse(cell[slot], value)


def _lse(a: float, b: float) -> float:
    if a == float("-inf"):
        return b
    if b == float("-inf"):
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))

"""2-D maps of embeddings: PCA (fast, and new points project exactly) and a small exact t-SNE.

The t-SNE is the plain O(N^2) algorithm (van der Maaten and Hinton, 2008) in torch: fine for
the couple of thousand points a map shows; larger collections are subsampled by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Projection:
    """Positions ``xy`` (N, 2) of the rows of ``vectors``, and how to place a new vector."""

    method: str
    xy: np.ndarray
    vectors: torch.Tensor
    mean: torch.Tensor | None = None
    components: torch.Tensor | None = None

    def locate(self, vector: torch.Tensor, neighbours: int = 5) -> tuple[float, float]:
        """Where ``vector`` falls on the map: exact for PCA; for t-SNE the mean position of
        its nearest neighbours (t-SNE has no mapping for points it was not fitted on)."""
        vector = vector.float().flatten()
        if self.components is not None and self.mean is not None:
            x, y = ((vector - self.mean) @ self.components).tolist()
            return float(x), float(y)
        sims = self.vectors @ vector
        near = torch.topk(sims, min(neighbours, len(sims))).indices.numpy()
        x, y = self.xy[near].mean(0)
        return float(x), float(y)


def project(vectors: torch.Tensor, method: str = "pca", seed: int = 0) -> Projection:
    """Fit a 2-D map of ``vectors`` (N, D) with ``"pca"`` or ``"tsne"``."""
    x = vectors.float()
    if method == "pca":
        mean = x.mean(0)
        centred = x - mean
        if x.shape[0] < 3:
            comps = torch.eye(x.shape[1], 2)
        else:
            _, _, v = torch.linalg.svd(centred, full_matrices=False)
            comps = v[:2].T.contiguous()
        return Projection("pca", (centred @ comps).numpy(), x, mean, comps)
    if method == "tsne":
        return Projection("tsne", tsne(x, seed=seed), x)
    raise ValueError(f"unknown projection {method!r} (use 'pca' or 'tsne')")


@torch.no_grad()
def tsne(x: torch.Tensor, perplexity: float = 30.0, iters: int = 300, seed: int = 0) -> np.ndarray:
    n = x.shape[0]
    if n < 4:
        return np.zeros((n, 2), dtype=np.float32)
    perplexity = min(perplexity, (n - 1) / 3)
    p = _affinities(torch.cdist(x, x).pow(2).double(), perplexity)
    gen = torch.Generator().manual_seed(seed)
    p = p.float()
    y = torch.randn(n, 2, generator=gen) * 1e-4
    update = torch.zeros_like(y)
    gains = torch.ones_like(y)
    exaggeration, lr = 12.0, max(n / 12.0 / 4.0, 50.0)
    for it in range(iters):
        if it == 80:
            exaggeration = 1.0
        sq = (y * y).sum(1)
        num = 1.0 / (1.0 + (sq[:, None] + sq[None, :]).addmm_(y, y.T, alpha=-2.0).clamp_min_(0))
        num.fill_diagonal_(0.0)
        q = (num / num.sum()).clamp_min(1e-12)
        pq = (exaggeration * p - q) * num
        grad = 4.0 * (pq.sum(1, keepdim=True) * y - pq @ y)
        same = (grad > 0) == (update > 0)
        gains = torch.where(same, gains * 0.8, gains + 0.2).clamp_min(0.01)
        momentum = 0.5 if it < 80 else 0.8
        update = momentum * update - lr * gains * grad
        y = y + update
        y = y - y.mean(0)
    return y.float().numpy()


def _affinities(d: torch.Tensor, perplexity: float, steps: int = 60) -> torch.Tensor:
    """Symmetric P: per-row Gaussian widths found by bisection to match ``perplexity``."""
    n = d.shape[0]
    target = math.log(perplexity)
    beta = torch.ones(n, dtype=d.dtype)
    lo = torch.zeros(n, dtype=d.dtype)
    hi = torch.full((n,), float("inf"), dtype=d.dtype)
    d = d - d.masked_fill(torch.eye(n, dtype=torch.bool), float("inf")).min(1, keepdim=True).values
    eye = torch.eye(n, dtype=torch.bool)
    for _ in range(steps):
        p = torch.exp(-d * beta[:, None]).masked_fill(eye, 0.0)
        s = p.sum(1).clamp_min(1e-300)
        entropy = torch.log(s) + beta * (d * p).sum(1) / s
        high = entropy > target  # too flat: narrow the Gaussian (raise beta)
        lo = torch.where(high, beta, lo)
        hi = torch.where(high, hi, beta)
        beta = torch.where(torch.isinf(hi), beta * 2, (lo + hi) / 2)
    p = p / s[:, None]
    p = (p + p.T) / (2 * n)
    return p.clamp_min(1e-12)

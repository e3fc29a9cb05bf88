"""The largest batch that fits on the GPU, found by a short probe before training (CUDA only)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

#: Keep this share of the largest batch that fitted: memory fragments as training goes on.
MARGIN = 0.9


def largest_batch(fits: Callable[[int], bool], start: int, maximum: int) -> int:
    """The largest batch size in ``[1, maximum]`` for which ``fits`` holds, by doubling from
    ``start`` and then bisecting between the last size that fitted and the first that did not.
    ``fits`` returns False (or raises ``torch.OutOfMemoryError``) when a size does not fit."""

    def ok(b: int) -> bool:
        try:
            return fits(b)
        except torch.OutOfMemoryError:
            return False

    lo, hi = 0, None
    b = max(1, min(start, maximum))
    while hi is None:
        if ok(b):
            lo = b
            if b >= maximum:
                return maximum
            b = min(2 * b, maximum)
        else:
            hi = b
    if lo == 0:  # even ``start`` failed: bisect below it
        lo_try = 1
        if not ok(lo_try):
            raise RuntimeError(
                "not even a batch of 1 fits in GPU memory: choose a smaller model or image size, or a lower precision"
            )
        lo = lo_try
    while hi - lo > max(1, lo // 16):  # to within about 6%
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def probe_batch_size(
    model, feats, step: Callable[[torch.Tensor], torch.Tensor], device, start: int = 32, maximum: int | None = None
) -> int:
    """Try forward+backward at rising batch sizes with real cached inputs; the model's weights
    and statistics are restored afterwards, so the probe leaves no trace on training."""
    saved = copy.deepcopy(model.state_dict())
    n = len(feats)
    maximum = min(maximum or n, n)

    def fits(b: int) -> bool:
        idx = torch.arange(b, device=feats.labels.device) % n
        try:
            loss = step(idx)
            loss.backward()
            torch.cuda.synchronize(device)
            return True
        finally:
            model.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()

    try:
        best = largest_batch(fits, start, maximum)
    finally:
        model.load_state_dict(saved)
    return max(1, int(best * MARGIN)) if best < maximum else best

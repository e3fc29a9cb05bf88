"""One training step and the typed state the training loop carries (see :mod:`.trainer`).

:class:`StepContext` is everything a step needs besides the batch indices; :class:`LoopState` is
where the loop is and how it has done, which a checkpoint saves as ``state.json``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mmstudio.config import ModelSpec, TrainSpec
from mmstudio.engine.events import StepLogged
from mmstudio.engine.losses import classify_loss, info_nce, l1_penalty
from mmstudio.engine.model import MultimodalModel
from mmstudio.engine.optim import modality_dropout
from mmstudio.engine.preprocess import Preprocessor, augment_images
from mmstudio.engine.regression import regress_loss, scaler_of


@dataclass
class LoopState:
    """The loop's position and record. ``batches_done``: batches of the next epoch already
    trained when a run stopped mid-epoch (saved as ``batch``; 0 at an epoch's end)."""

    epoch: int = 0
    step: int = 0
    best: float | None = None
    best_epoch: int = 0
    bad: int = 0  # epochs since the best one (early stopping's count)
    history: list[dict[str, Any]] = field(default_factory=list)
    batches_done: int = 0
    seconds: float = 0.0  # training seconds of the run so far, every session's (trainclock.py)
    #: The random generators saved with a mid-epoch checkpoint (trainer.pt, not state.json).
    rng: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``state.json``'s content (its keys are the checkpoint format: keep them)."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad": self.bad,
            "history": self.history,
            "batch": self.batches_done,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopState:
        return cls(
            int(data.get("epoch", 0)),
            int(data.get("step", 0)),
            data.get("best"),
            int(data.get("best_epoch", 0)),
            int(data.get("bad", 0)),
            list(data.get("history", [])),
            int(data.get("batch", 0)),
            float(data.get("seconds", 0.0)),
            dict(data.get("rng", {})),
        )

    def record(self, epoch: int, score: float) -> bool:
        """Epoch ``epoch`` scored ``score`` (higher is better); True when it is the best so far."""
        best = self.best is None or score > self.best
        if best:
            self.best, self.best_epoch, self.bad = score, epoch, 0
        else:
            self.bad += 1
        self.epoch = epoch
        return best


@dataclass
class StepContext:
    """What a training step needs besides the batch: the model (``step_model`` is what runs
    forward: DDP- or compile-wrapped ``model``), the cached inputs and the run's settings."""

    step_model: nn.Module
    model: MultimodalModel
    feats: Any  # the decoded-input cache (engine.cache)
    pre: Preprocessor
    train: TrainSpec
    spec: ModelSpec
    device: torch.device
    autocast: Callable[[], Any] | None
    class_weight: torch.Tensor | None = None
    pin: bool = False  # page-locked host batches (a cache too large for the GPU)


@dataclass
class EpochMeter:
    """Running figures of one epoch: the loss summed on the device (read once, at the end)."""

    t_start: float
    loss_sum: torch.Tensor
    count: int = 0
    seen: int = 0
    t_log: float = 0.0
    logged_seen: int = 0

    def __post_init__(self) -> None:
        self.t_log = self.t_start

    def add(self, loss: torch.Tensor, samples: int) -> None:
        self.seen += samples
        self.loss_sum += loss.detach()
        self.count += 1

    def skip(self, gap: float) -> None:
        """Leave ``gap`` seconds (a pause) out of the epoch's time and throughput."""
        self.t_start += gap
        self.t_log += gap

    def logged(self, epoch: int, step: int, loss: torch.Tensor, optimizer, device, seconds: float) -> StepLogged:
        """The StepLogged event now (the one ``.item()`` of the logging interval); ``seconds``:
        the run's training seconds so far."""
        now = time.monotonic()
        event = StepLogged(
            epoch,
            step,
            round(loss.item(), 6),
            optimizer.param_groups[0]["lr"],
            round((self.seen - self.logged_seen) / max(now - self.t_log, 1e-9), 1),
            gpu_memory_mb(device),
            seconds,
        )
        self.t_log, self.logged_seen = now, self.seen
        return event


def gpu_memory_mb(device: torch.device) -> float:
    """Peak CUDA memory allocated since the previous call, in MiB (0 off CUDA)."""
    if device.type != "cuda":
        return 0.0
    peak = torch.cuda.max_memory_allocated(device) / 2**20
    torch.cuda.reset_peak_memory_stats(device)
    return round(peak, 1)


def train_step(
    ctx: StepContext, idx: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler
) -> torch.Tensor:
    """Forward, backward and one optimiser step on batch ``idx``; returns the loss (on device).
    ``scaler`` is disabled except in fp16, where it scales the loss against underflow."""
    loss = batch_loss(ctx, idx)
    if ctx.train.l1:
        loss = loss + ctx.train.l1 * l1_penalty(ctx.model)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    if ctx.train.grad_clip:
        torch.nn.utils.clip_grad_norm_(ctx.model.parameters(), ctx.train.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss


def batch_loss(ctx: StepContext, idx: torch.Tensor) -> torch.Tensor:
    """The training loss of one batch (inputs moved to the device, augmented there)."""
    inputs, mask, labels = ctx.feats.batch(idx)
    if ctx.pin:  # a cache too large for the GPU: page-locked batches copy asynchronously
        inputs, mask, labels = _pinned(inputs), _pinned(mask), labels.pin_memory()
    device = ctx.device
    inputs = {m: x.to(device, non_blocking=True) for m, x in inputs.items()}
    mask = {m: x.to(device, non_blocking=True) for m, x in mask.items()}
    labels = labels.to(device, non_blocking=True)
    if "image" in inputs and ctx.pre.image.augment:  # after the copy: augmented on the GPU there
        inputs["image"] = augment_images(inputs["image"])
    if ctx.train.modality_dropout > 0 and len(mask) > 1:
        mask = modality_dropout(mask, ctx.train.modality_dropout)
    with ctx.autocast() if ctx.autocast else contextlib.nullcontext():
        out = ctx.step_model(inputs, mask)
        loss = torch.zeros((), device=device)
        if "text_loss" in out:  # generate: the decoder's teacher-forced loss
            loss = loss + out["text_loss"]
        if "logits" in out:
            loss = loss + classify_loss(out["logits"], labels, ctx.class_weight, ctx.spec.label_smoothing)
        if "value" in out:  # regress: targets beside the labels in the cache
            target = ctx.feats.targets[idx].to(device, non_blocking=True)
            loss = loss + regress_loss(out["value"], target, scaler_of(ctx.model.shape), ctx.spec.regress_loss)
        if "embeddings" in out:
            weight = ctx.spec.align_weight if "logits" in out else 1.0
            groups = {m: g.to(ctx.device, non_blocking=True) for m, g in ctx.feats.group_batch(idx).items()}
            loss = loss + weight * info_nce(out["embeddings"], mask, ctx.model.logit_scale, groups)
    penalty = ctx.model.penalty()  # outside autocast: a sum of squares in full precision
    return loss if penalty is None else loss + penalty


def _pinned(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {m: x.pin_memory() for m, x in tensors.items()}

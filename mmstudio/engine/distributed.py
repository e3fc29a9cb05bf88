"""Training on several processes with PyTorch's own engine (``torchrun`` + DistributedDataParallel).

``torchrun --nproc-per-node N -m mmstudio train ...`` starts N copies of the CLI; each reads its
place from the environment torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_*``).
:func:`session` joins them into one process group (NCCL on CUDA, gloo on the CPU) and the trainer
calls the small helpers below at a few points. With ``WORLD_SIZE`` unset (or 1) every helper is a
no-op, so a single-process run is unchanged.

Decisions:

- ``batch_size`` is the *global* batch. Each step takes the same global batch of the epoch's
  permutation as a single-process run and deals it out to the ranks round-robin, so each rank gets
  ``ceil(batch / N)`` samples; a short batch is padded with samples from the start of the epoch's
  order, as ``DistributedSampler`` does, so every rank has the same count and DDP's gradient mean
  is the global batch's mean. The learning rate is not scaled.
- Only rank 0 writes (``run.toml``, checkpoints, the bundle) and speaks (events); other ranks stay
  quiet. Validation runs on rank 0 and its figures are broadcast, so early stopping and "best"
  agree everywhere.
- Stop and the "time to log" decision are agreed each step over a small gloo all-reduce (a
  CPU-side group even when training uses NCCL, so it never waits on the GPU): a signal that
  reaches the ranks a step apart still stops them all at the same step.
- The contrastive (align) loss uses in-batch negatives of each rank's share (no all-gather).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world`` processes (``local_rank`` on its node)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """True on the process that writes files and emits events (rank 0)."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = Context()
_control_group = None  # gloo group for the per-step flags (the default group when that is gloo)


def from_env() -> Context:
    """The context torchrun's environment describes (``SINGLE`` outside torchrun)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise ValueError(f"torchrun environment is malformed (RANK/WORLD_SIZE/LOCAL_RANK): {exc}") from exc
    return Context(rank, world, local) if world > 1 else SINGLE


@contextlib.contextmanager
def session(device: torch.device) -> Iterator[tuple[Context, torch.device]]:
    """Join the process group torchrun describes; yields ``(context, this rank's device)``.

    The backend follows the device: NCCL for CUDA, gloo otherwise. A group that the caller
    already initialised is used and left alone; one made here is destroyed on the way out.
    """
    global _control_group
    ctx = from_env()
    if not ctx.active:
        yield SINGLE, device
        return
    if device.type == "cuda":
        torch.cuda.set_device(ctx.local_rank)
        device = torch.device("cuda", ctx.local_rank)
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=ctx.rank, world_size=ctx.world)
    _control_group = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else None
    try:
        yield ctx, device
    finally:
        _control_group = None
        if owned and dist.is_initialized():
            # DDP's reducer sits in reference cycles that keep the group alive; freed only at
            # interpreter exit, gloo's threads then abort the process ("terminate called ...")
            gc.collect()
            dist.destroy_process_group()


def wrap(model: torch.nn.Module, ctx: Context, device: torch.device) -> torch.nn.Module:
    """The model to step: DistributedDataParallel around ``model`` when several processes train.

    Checkpoints and the bundle keep using ``model`` itself (DDP shares its parameters).
    """
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, output_device=ids[0] if ids else None)


def steps_per_epoch(n: int, batch: int, ctx: Context) -> int:
    """Steps in one epoch of ``n`` samples at global ``batch``; a last batch too small to give
    every rank two samples (batch norm needs two) is dropped, as a single process drops one of 1."""
    full, rest = divmod(n, batch)
    return max(1, full + (1 if math.ceil(rest / ctx.world) >= 2 else 0))


def shard(order: torch.Tensor, step: int, batch: int, ctx: Context) -> torch.Tensor:
    """This rank's share of global batch ``step`` of the epoch's permutation ``order``."""
    chunk = order[step * batch : (step + 1) * batch]
    if not ctx.active:
        return chunk
    pad = -len(chunk) % ctx.world
    if pad:  # equal counts on every rank, like DistributedSampler's padding
        chunk = torch.cat([chunk, order[:pad]])
    return chunk[ctx.rank :: ctx.world]


def seed_offset(ctx: Context) -> int:
    """Added to per-epoch seeds so ranks draw different augmentations and dropout masks."""
    return 7919 * ctx.rank


def any_of(ctx: Context, *flags: bool) -> tuple[bool, ...]:
    """Each flag, True on every rank when it is True on any (one small all-reduce)."""
    if not ctx.active:
        return tuple(bool(f) for f in flags)
    t = torch.tensor([1 if f else 0 for f in flags], dtype=torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=_control_group)
    return tuple(bool(v) for v in t.tolist())


def same_everywhere(ctx: Context, flag: bool, message: str) -> None:
    """Raise ``ValueError(message)`` on every rank unless ``flag`` is the same on all of them."""
    some, not_all = any_of(ctx, flag, not flag)
    if some and not_all:
        raise ValueError(message)


def mean(ctx: Context, value: torch.Tensor) -> torch.Tensor:
    """The mean of ``value`` over ranks (a detached copy; ``value`` itself is unchanged)."""
    if not ctx.active:
        return value.detach()
    t = value.detach().clone().float()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t / ctx.world


def on_main(ctx: Context, fn: Callable[[], T]) -> T:
    """``fn()`` computed on rank 0 and broadcast to every rank (JSON values: nothing is pickled)."""
    if not ctx.active:
        return fn()
    data = json.dumps(fn()).encode() if ctx.main else b""
    size = torch.tensor([len(data)], dtype=torch.int64)
    dist.broadcast(size, src=0, group=_control_group)
    buf = (
        torch.frombuffer(bytearray(data), dtype=torch.uint8) if ctx.main else torch.empty(int(size), dtype=torch.uint8)
    )
    dist.broadcast(buf, src=0, group=_control_group)
    return json.loads(bytes(buf.tolist()).decode())


def barrier(ctx: Context) -> None:
    if ctx.active:
        dist.barrier(group=_control_group)


def quiet(events: Generator[Any, None, T]) -> Generator[Any, None, T]:
    """Run ``events`` to the end without yielding any: the non-zero ranks' view of a run."""
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value
    yield  # pragma: no cover - makes this a generator


def distributed_context() -> Context:
    """Public: this process's rank and world size under torchrun (rank 0 of 1 otherwise)."""
    return from_env()

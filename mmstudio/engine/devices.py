"""Choosing the device and precision. Mixed precision is for CUDA only: on this class of CPU,
bf16 autocast made training about 20x slower than fp32 (DESIGN.md)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import torch


def pick_device(name: str = "auto") -> torch.device:
    if name in ("auto", ""):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but no CUDA GPU is available")
    return device


def pick_precision(name: str, device: torch.device) -> str:
    if device.type != "cuda":
        return "fp32"
    if name == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return name


def autocast_factory(precision: str, device: torch.device) -> Callable | None:
    if precision == "fp32" or device.type != "cuda":
        return None
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return lambda: torch.autocast(device.type, dtype=dtype)


def cpu_threads(requested: int = 0) -> int:
    """Threads for torch's CPU ops: ``requested``, else half the CPUs this process may use.

    Leaving CPUs free matters more than it looks: on a busy 2-core machine, two OpenMP threads
    made a small model's training step up to 20x slower than one thread (threads spin waiting
    for each other while the window, the data decoders or other programs hold the other core).
    On an idle machine the second thread gains far less than that loses.
    """
    if requested:
        return requested
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = os.cpu_count() or 2
    return max(1, available // 2)


@contextlib.contextmanager
def torch_threads(n: int):
    """Temporarily set torch's CPU thread count (0 leaves it alone)."""
    if not n:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def gpu_info() -> list[dict]:
    """The CUDA devices: ``[{"index", "name", "memory_bytes"}]`` (empty without CUDA)."""
    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        out.append({"index": i, "name": props.name, "memory_bytes": int(props.total_memory)})
    return out


class OutOfMemory(MemoryError):
    """Training ran out of (GPU or CPU) memory; the message says what to change and what is kept."""


def out_of_memory(exc: BaseException, run, checkpoint: str | None) -> OutOfMemory:
    """An :class:`OutOfMemory` for ``exc`` with advice for ``run``; ``checkpoint`` is the last one
    saved (kept as it was: a run never saves after running out of memory)."""
    tr = run.train
    where = "the GPU" if isinstance(exc, torch.OutOfMemoryError) else "the computer"
    tips = [f"a smaller batch size (e.g. {max(1, tr.batch_size // 2)} instead of {tr.batch_size})"]
    if tr.precision in ("auto", "fp32") and isinstance(exc, torch.OutOfMemoryError):
        tips.append("lower precision (bf16 or fp16)")
    tips.append("smaller inputs (image size, audio length) or a smaller encoder")
    kept = (
        f"The last checkpoint is kept: {checkpoint}; resume from it after the change."
        if checkpoint
        else "No checkpoint had been saved yet."
    )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return OutOfMemory(
        f"Training ran out of memory on {where} ({first[:200]}). Try " + ", or ".join(tips) + f". {kept}"
    )

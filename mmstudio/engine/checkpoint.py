"""Training checkpoints: a bundle (loadable on its own) plus optimiser state and loop state.

``trainer.pt`` holds only tensors and plain values and is read with ``weights_only=True``;
``state.json`` holds the loop position, the best score so far and the history.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import torch

from mmstudio.engine.bundle import BundleError, load_weights, read_meta, save_bundle, weights_path
from mmstudio.errors import LoadError
from mmstudio.file_schemas import CHECKPOINT_STATE
from mmstudio.schema import check, read_json

TRAINER, STATE = "trainer.pt", "state.json"


def save_checkpoint(
    path: str,
    model,
    run,
    shape,
    class_names,
    pre,
    optimizer,
    scheduler,
    state: dict[str, Any],
    metrics: dict[str, Any] | None = None,
) -> str:
    def write_trainer(p: str) -> None:
        # the random generators too: a run stopped mid-epoch resumes drawing what it would have
        blob = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng_cpu": torch.get_rng_state(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            blob["rng_cuda"] = torch.cuda.get_rng_state_all()
        buffer = io.BytesIO()  # in memory first: torch's archive writer aborts on a full disk
        torch.save(blob, buffer)
        with open(p, "wb") as fh:
            fh.write(buffer.getbuffer())

    def write_state(p: str) -> None:
        with open(p, "w", encoding="utf-8") as fh:
            json.dump({k: v for k, v in state.items() if k != "rng"}, fh, indent=1)  # rng: trainer.pt

    return save_bundle(
        path, model, run, shape, class_names, pre, metrics, extra={TRAINER: write_trainer, STATE: write_state}
    )


def find_checkpoint(out_dir: str, kind: str = "last") -> str | None:
    base = os.path.join(out_dir, "checkpoints", kind)
    for cand in (base, base + ".old"):
        if os.path.isfile(os.path.join(cand, STATE)):
            return cand
    return None


def load_checkpoint(path: str, model, optimizer, scheduler) -> dict[str, Any]:
    """Restore model, optimiser and scheduler in place; returns the loop state."""
    folder, meta = read_meta(path)
    load_weights(model, weights_path(folder, meta), meta["weights"].get("sha256"))
    trainer = os.path.join(folder, TRAINER)
    try:
        blob = torch.load(trainer, map_location="cpu", weights_only=True)
        optimizer.load_state_dict(blob["optimizer"])
        scheduler.load_state_dict(blob["scheduler"])
    except Exception as exc:
        raise BundleError(f"{trainer}: unreadable, truncated or not plain tensors ({exc})") from exc
    state_path = os.path.join(folder, STATE)
    try:
        state = check(read_json(state_path, 256 << 20), CHECKPOINT_STATE, state_path)
    except LoadError as exc:
        raise BundleError(f"{state_path}: unreadable or truncated ({exc.problem})") from None
    state["rng"] = {k: blob[k] for k in ("rng_cpu", "rng_cuda") if k in blob}
    return state


def restore_rng(rng: dict[str, Any]) -> None:
    """Put back the random generators a checkpoint saved (see :func:`load_checkpoint`)."""
    if "rng_cpu" in rng:
        torch.set_rng_state(rng["rng_cpu"])
    if "rng_cuda" in rng and torch.cuda.is_available() and len(rng["rng_cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["rng_cuda"])


def checkpoint_meta(path: str) -> dict[str, Any]:
    return read_meta(path)[1]


def checkpoint_tokenizer(path: str | None):
    """The text tokenizer a checkpoint was trained with (None: no checkpoint, or no text)."""
    if not path:
        return None
    from mmstudio.engine.tokenizer import tokenizer_from_dict

    tok = checkpoint_meta(path).get("preprocessing", {}).get("tokenizer")
    return tokenizer_from_dict(tok, path) if tok else None

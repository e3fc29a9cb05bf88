"""Making a trained bundle smaller: int8 quantisation and magnitude pruning (``mmstudio compress``).

- ``dynamic_int8``: int8 ``Linear``/``LSTM``/``GRU`` (:func:`.quantize.quantize_dynamic`).
- ``static_int8``: that, plus the convolutional part of image/audio encoders quantised with
  activation ranges calibrated on training items (FX graph mode); an encoder FX cannot trace, or
  a text encoder, keeps dynamic int8 only, and the bundle says so (``compression.notes``).
- ``prune``: global L1 unstructured magnitude pruning of ``Linear`` and convolution weights to a
  sparsity, optionally followed by a short fine-tune with the pruned weights held at zero; the
  weights are saved dense (``prune.remove``), so the bundle is an ordinary one, sparse in value.

A quantised bundle stores int8 weights and one scale per row in ``model.safetensors`` and the
method in ``bundle.json`` (``compression``); :func:`load_compressed` rebuilds the int8 model from
them, so the size on disk is that of the int8 weights and nothing is unpickled. The int8 ONNX
export lives in :mod:`.exporting` (``export(..., quantize="int8")``).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from mmstudio.engine import quantize as q8
from mmstudio.engine.bundle import META, WEIGHTS, Bundle, BundleError, atomic_dir, load_bundle, save_bundle
from mmstudio.fileio import atomic_write_text, sha256_file

METHODS = ("dynamic_int8", "static_int8", "prune")
INT8_METHODS = ("dynamic_int8", "static_int8")
Progress = Callable[[float, str], None]


def compress(
    bundle,
    method: str,
    out: str,
    sparsity: float = 0.5,
    finetune: int = 0,
    data: Any = None,
    calibration: int = 256,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write a smaller copy of ``bundle`` to the folder ``out``; returns what was done.

    ``data`` (default: the dataset the bundle was trained on) gives the training items used to
    calibrate static int8 (``calibration`` of them) and to fine-tune after pruning (``finetune``
    steps). The original bundle is never changed.
    """
    if method not in METHODS:
        raise ValueError(f"unknown compression {method!r}; choose {', '.join(METHODS)}")
    say = progress or (lambda _f, _m: None)
    path = bundle.path if isinstance(bundle, Bundle) else str(bundle)
    fresh = load_bundle(path)  # a copy of its own: the caller's model is left as it is
    if fresh.meta.get("compression"):
        raise ValueError(
            f"{path} is already compressed ({fresh.meta['compression'].get('method')}); start from the original"
        )
    if os.path.abspath(out) == os.path.abspath(fresh.path):
        raise ValueError(f"{out}: write the compressed bundle to a new folder, not over the original")
    if method == "prune":
        if not 0 < sparsity < 1:
            raise ValueError(f"sparsity must be between 0 and 1 (a share of the weights), got {sparsity}")
        return _prune_bundle(fresh, out, sparsity, finetune, data, say)
    return _quantize_bundle(fresh, method, out, data, calibration, say)


def _quantize_bundle(bundle: Bundle, method: str, out: str, data, calibration: int, say: Progress) -> dict[str, Any]:
    model = bundle.model.eval()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    packed = q8.pack_state(state, q8.int8_weight_names(model))
    description: dict[str, Any] = {"method": method, "static": {}, "notes": {}}
    if method == "static_int8":
        say(0.1, "Decoding calibration items")
        feats = _training_features(bundle, data, calibration)
        parts, notes = q8.prepare_static(model, _first(feats, 2))
        say(0.5, "Calibrating activation ranges")
        _calibrate(model, feats)
        packed.update(q8.observer_state(model, parts))
        description.update(static=parts, notes=notes, calibration_items=len(feats))
    say(0.9, "Writing the int8 bundle")
    _write_int8(bundle, out, packed, description)
    return {"method": method, "bundle": os.path.abspath(out), "bytes": bundle_bytes(out), **description}


def _write_int8(bundle: Bundle, out: str, tensors: dict[str, torch.Tensor], description: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    def fill(tmp: str) -> None:
        weights = os.path.join(tmp, WEIGHTS)
        save_file(tensors, weights, metadata={"format": "mmstudio.bundle", "compression": description["method"]})
        meta = {k: v for k, v in bundle.meta.items() if k != "input_stats"} | {"compression": description}
        meta["weights"] = {
            "file": WEIGHTS,
            "sha256": sha256_file(weights),
            "bytes": os.path.getsize(weights),
            "tensors": len(tensors),
        }
        if "input_stats" in bundle.meta:
            meta["input_stats"] = bundle.meta["input_stats"]
        with open(os.path.join(tmp, META), "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=2)

    atomic_dir(out, fill)


def load_compressed(model, weights: str, meta: dict[str, Any]) -> None:
    """Fill ``model`` (built from ``bundle.json``) from a compressed bundle's weights and turn it
    into the int8 model the bundle describes, in place. Called by :func:`.bundle.load_bundle`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    description = meta.get("compression") or {}
    if not os.path.isfile(weights):
        raise BundleError(f"{weights}: weights file is missing")
    if meta["weights"].get("sha256") and sha256_file(weights) != meta["weights"]["sha256"]:
        raise BundleError(f"{weights}: does not match the checksum in {META} (the file was changed or corrupted)")
    try:
        stored = load_file(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{weights}: unreadable or truncated safetensors file ({exc})") from exc
    state = {k: v for k, v in q8.unpack_state(stored).items() if not k.startswith("observer:")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BundleError(f"{weights}: weights do not fit the model in {META}: {str(exc).splitlines()[0]}") from exc
    model.eval()
    parts = {m: p for m, p in dict(description.get("static", {})).items() if m in model.encoders}
    try:
        if parts:
            prepared, why = q8.prepare_static(model, _zeros_like_inputs(model), only=set(parts))
            if prepared != parts:
                raise ValueError(f"the encoders quantised statically differ from {META}'s ({why or prepared})")
            q8.load_observers(model, prepared, stored)
            q8.convert_static(model, prepared)
        q8.quantize_dynamic(model)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise BundleError(f"{weights}: cannot rebuild the int8 model {META} describes ({exc})") from exc


def _prune_bundle(bundle: Bundle, out: str, sparsity: float, finetune: int, data, say: Progress) -> dict[str, Any]:
    from torch.nn.utils import prune

    model = bundle.model
    targets = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    if finetune:
        say(0.2, f"Fine-tuning {finetune} steps with the pruned weights held at zero")
        _finetune(bundle, _training_features(bundle, data, 0), finetune)
    for module, name in targets:
        prune.remove(module, name)
    model.eval()
    achieved = measured_sparsity(model)
    say(0.9, "Writing the pruned bundle")
    metrics = dict(bundle.metrics)
    save_bundle(out, model, bundle.run, bundle.shape, bundle.class_names, bundle.preprocessor, metrics)
    description = {"method": "prune", "sparsity": round(sparsity, 4), "finetune_steps": finetune, "achieved": achieved}
    _add_meta(out, {"compression": description, "input_stats": bundle.meta.get("input_stats")})
    return {"bundle": os.path.abspath(out), "bytes": bundle_bytes(out), **description}


def measured_sparsity(model: nn.Module) -> float:
    """Share of exact zeros among the ``Linear`` and convolution weights."""
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
    total = sum(w.numel() for w in weights)
    return round(sum(int((w == 0).sum()) for w in weights) / max(1, total), 4)


def _add_meta(folder: str, extra: dict[str, Any]) -> None:
    path = os.path.join(folder, META)
    with open(path, encoding="utf-8") as fh:
        meta = json.load(fh)
    meta.update({k: v for k, v in extra.items() if v is not None})
    atomic_write_text(path, json.dumps(meta, indent=2))


def _finetune(bundle: Bundle, feats, steps: int) -> None:
    """``steps`` optimiser steps on the training items (the pruning masks stay applied)."""
    from mmstudio.engine.optim import make_optimizer
    from mmstudio.engine.steps import StepContext, train_step

    tr = bundle.run.train
    model = bundle.model.train()
    ctx = StepContext(model, model, feats, bundle.preprocessor, tr, bundle.run.model, torch.device("cpu"), None)
    optimizer = make_optimizer(model, tr.replace(lr=(tr.lr or 3e-3) * 0.1))
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    batch = min(tr.batch_size or 64, len(feats))
    gen = torch.Generator().manual_seed(tr.seed)
    for _ in range(steps):
        idx = torch.randperm(len(feats), generator=gen)[:batch]
        train_step(ctx, idx, optimizer, scaler)


def _training_features(bundle: Bundle, data, limit: int):
    """Decoded training items of ``data`` (default: the bundle's own dataset); ``limit`` > 0
    keeps that many, chosen at random with a fixed seed."""
    from mmstudio.engine.cache import prepare
    from mmstudio.engine.data import load_dataset
    from mmstudio.engine.evaluation import same_spec
    from mmstudio.engine.events import drive

    source = data if data is not None else bundle.run.dataset
    dataset = load_dataset(same_spec(bundle, source) if isinstance(source, str) else source)
    items = dataset.subset("train") or dataset.items
    if limit and len(items) > limit:
        items = random.Random(0).sample(items, limit)
    index = {n: i for i, n in enumerate(bundle.class_names)}
    return drive(prepare(items, bundle.preprocessor, index), None)


@torch.no_grad()
def _calibrate(model, feats, batch_size: int = 64) -> None:
    for start in range(0, len(feats), batch_size):
        idx = torch.arange(start, min(start + batch_size, len(feats)))
        inputs, _, _ = feats.batch(idx)
        model.encode(inputs)


def _first(feats, n: int) -> dict[str, torch.Tensor]:
    inputs, _, _ = feats.batch(torch.arange(min(n, len(feats))))
    return inputs


def _zeros_like_inputs(model) -> dict[str, torch.Tensor]:
    """A batch of two blank inputs of the model's shapes (FX traces with it; values unused)."""
    shape = model.shape
    out: dict[str, torch.Tensor] = {}
    for m in model.modalities:
        if m == "image":
            out[m] = torch.zeros(2, shape.channels, *_image_size(model), dtype=torch.uint8)
        elif m == "audio":
            out[m] = torch.zeros(2, shape.n_mels, shape.frames, dtype=torch.float16)
    return out


def _image_size(model) -> tuple[int, int]:
    size = model.spec.image.size or 32
    return size, size


def bundle_bytes(folder: str) -> int:
    """What a model takes on disk: its weights and ``bundle.json`` (an index beside them is not
    part of the model)."""
    return sum(os.path.getsize(os.path.join(folder, name)) for name in (WEIGHTS, META))


#: The facade's name for :func:`compress` (``engine.compress`` is this module).
compress_bundle = compress

"""Frozen-feature mode: a pretrained backbone's outputs, computed once per file and cached.

When an encoder's backbone is frozen (``tune`` frozen, the default with published weights), its
outputs never change during training: computing them every epoch is the whole cost of a CPU
run. So before training they are computed once per distinct file and kept in the user cache
folder, keyed by the file's content and the encoder's identity (architecture, the weights'
SHA-256, preprocessing). Training then feeds them to the encoder's projection
(``encoder.from_features``) and only the projection, fusion and heads learn; a later run on the
same files with the same weights computes nothing. Bundles still take raw inputs: the backbone
is saved with the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from mmstudio.config import ModelSpec
from mmstudio.engine import pretrained
from mmstudio.engine.diskcache import cache_dir
from mmstudio.engine.encoders import ENCODERS
from mmstudio.engine.events import DataPrepared
from mmstudio.engine.preprocess import Preprocessor

#: Bump when the stored features change meaning.
FEATURE_VERSION = 1
BATCH = 32


def frozen_encoders(spec: ModelSpec, pre: Preprocessor) -> dict[str, nn.Module]:
    """The encoders of ``spec`` whose backbone is frozen (built once here, weights loaded)."""
    out = {}
    for m in pretrained.frozen_modalities(spec, pre.modalities):
        encoder = build_encoder(spec, m, pre)
        if getattr(encoder, "mode", "all") == "frozen":
            out[m] = encoder.eval()
    return out


def build_encoder(spec: ModelSpec, modality: str, pre: Preprocessor) -> nn.Module:
    sub = getattr(spec, modality)
    kw: dict = {"dim": spec.dim, "dropout": 0.0, **dict(sub.options)}
    if modality == "image":
        kw.update(in_channels=pre.channels, weights=sub.weights)
    else:
        n_mels, frames = pre.audio_shape
        kw.update(n_mels=n_mels, frames=frames)
    return ENCODERS[modality].create(sub.encoder, **kw)


def encoder_identity(spec: ModelSpec, modality: str, pre: Preprocessor, encoder: nn.Module) -> str:
    """What the cached outputs depend on, as one hex digest."""
    sub = getattr(spec, modality)
    weights = pretrained.identity(modality, sub.encoder, getattr(sub, "weights", "")) or {}
    parts = (
        FEATURE_VERSION,
        modality,
        sub.encoder,
        weights.get("sha256", weights.get("name", "")),
        pre.cache_key(modality),
        getattr(encoder, "resize", 0),
        getattr(encoder, "crop", 0),
        getattr(encoder, "interpolation", ""),
        getattr(encoder, "feature_dim", 0),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def file_key(path: str) -> str:
    """The content key of one input file."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FeatureStore:
    """The cached outputs of one encoder identity: chunk files of (keys, features) under the
    cache folder; a run adds one chunk with what it computed (written atomically)."""

    def __init__(self, identity: str, folder: str | None = None) -> None:
        self.folder = os.path.join(folder or cache_dir(), "encoded", identity)

    def load(self) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        try:
            names = sorted(n for n in os.listdir(self.folder) if n.endswith(".npz"))
        except OSError:
            return found
        for name in names:
            try:
                with np.load(os.path.join(self.folder, name), allow_pickle=False) as data:
                    found.update(zip(data["keys"].tolist(), data["features"], strict=True))
            except (OSError, ValueError, KeyError):
                continue  # a damaged chunk: its files are computed again
        return found

    def add(self, keys: list[str], features: np.ndarray) -> None:
        if not keys:
            return
        os.makedirs(self.folder, exist_ok=True)
        final = os.path.join(self.folder, f"chunk-{uuid.uuid4().hex}.npz")
        tmp = final + ".tmp.npz"
        try:
            np.savez(tmp, keys=np.array(keys), features=features)
            os.replace(tmp, final)
        except OSError:  # a full or read-only cache: this run still has its features
            if os.path.exists(tmp):
                os.unlink(tmp)
        meta = os.path.join(self.folder, "identity.json")
        if not os.path.exists(meta):
            from mmstudio.fileio import atomic_write_text

            atomic_write_text(meta, json.dumps({"version": FEATURE_VERSION, "created": time.time()}))


def encode_frozen(
    spec: ModelSpec, pre: Preprocessor, splits: list[tuple[list, object]], device: torch.device
) -> Generator[DataPrepared, None, list[str]]:
    """Give each split's Features (``splits``: (items, Features) pairs) the frozen encoders'
    outputs in ``encoded``; yields progress; returns the modalities it encoded."""
    done = []
    for m, encoder in frozen_encoders(spec, pre).items():
        store = FeatureStore(encoder_identity(spec, m, pre, encoder))
        cached = store.load()
        encoder.to(device)
        for items, feats in splits:
            feats.encoded[m] = yield from _encode_split(m, encoder, items, feats, cached, store, device)  # type: ignore[attr-defined]
        done.append(m)
    return done


def _encode_split(m, encoder, items, feats, cached, store, device) -> Generator[DataPrepared, None, torch.Tensor]:
    paths = [getattr(it, m) for it in items]
    present = feats.mask[m]
    keys: list[str | None] = [file_key(p) if p and bool(present[i]) else None for i, p in enumerate(paths)]
    todo: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k is not None and k not in cached and k not in todo:
            todo[k] = i
    yield from _compute(m, encoder, feats.inputs[m], todo, cached, store, device)
    width = int(encoder.feature_dim)
    out = torch.zeros(len(items), width)
    for i, k in enumerate(keys):
        if k is not None:
            out[i] = torch.from_numpy(np.asarray(cached[k], dtype=np.float32))
    return out


def _compute(m, encoder, inputs, todo: dict[str, int], cached, store, device) -> Generator[DataPrepared, None, None]:
    """Run the backbone over the files in ``todo`` (key -> item index), in batches."""
    if not todo:
        return
    keys, rows = list(todo), list(todo.values())
    start = time.monotonic()
    label = f"{m} features"
    yield DataPrepared(label, 0, len(keys), 0.0)
    outputs = []
    with torch.inference_mode():
        for b in range(0, len(rows), BATCH):
            x = inputs[torch.tensor(rows[b : b + BATCH])].to(device)
            outputs.append(encoder.features(x).float().cpu().numpy())
            yield DataPrepared(label, min(b + BATCH, len(rows)), len(keys), round(time.monotonic() - start, 3))
    features = np.concatenate(outputs)
    cached.update(zip(keys, features, strict=True))
    store.add(keys, features)


def use_encoded(model: Any, modalities: Sequence[str]) -> None:
    """Make ``model``'s encoders of ``modalities`` take the cached outputs (training only)."""
    for m in modalities:
        model.encoders[m].from_features = True

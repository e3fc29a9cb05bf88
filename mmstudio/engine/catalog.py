"""What the Model panel lists: registered encoders and fusions with one-line docs, and the
parameter count of a configuration (built on the meta device: instant, no memory)."""
from __future__ import annotations

from typing import Any

import torch

from mmstudio.config import ModelSpec, RunConfig
from mmstudio.engine.encoders import ENCODERS
from mmstudio.engine.fusion import FUSIONS
from mmstudio.engine.model import ModelShape, MultimodalModel, count_parameters


def encoder_names() -> dict[str, list[tuple[str, str]]]:
    """``{"image": [(name, doc), ...], "text": [...], "audio": [...]}``."""
    return {m: [(n, reg.describe(n)) for n in reg.names()] for m, reg in ENCODERS.items()}


def fusion_names() -> list[tuple[str, str]]:
    return [(n, FUSIONS.describe(n)) for n in FUSIONS.names()]


def describe(kind: str, name: str) -> str:
    """One-line explanation of an encoder (``kind`` image/text/audio) or fusion."""
    registry = FUSIONS if kind == "fusion" else ENCODERS[kind]
    return registry.describe(name)


def catalog() -> dict[str, Any]:
    return {"encoders": {m: dict(v) for m, v in encoder_names().items()},
            "fusions": dict(fusion_names()),
            "tasks": ["classify", "align", "classify+align"]}


def parameter_count(run: RunConfig | ModelSpec, modalities: tuple[str, ...] | None = None,
                    num_classes: int = 10, vocab_size: int = 5000, channels: int = 1) -> int:
    """Parameters of the model a config describes (modalities default to the spec's, or all)."""
    spec = run.model if isinstance(run, RunConfig) else run
    mods = tuple(modalities or spec.modalities or ("image", "text", "audio"))
    if spec.task != "classify" and len(mods) < 2:
        spec = spec.replace(task="classify")
    spec = spec.replace(image=type(spec.image)(**{**spec.image.__dict__, "weights": ""}))
    n_mels = spec.audio.n_mels
    hop = max(1, int(round(spec.audio.sample_rate * spec.audio.hop_ms / 1000)))
    frames = int(round(spec.audio.sample_rate * spec.audio.seconds)) // hop + 1
    vocab = min(vocab_size, spec.text.vocab_size)
    shape = ModelShape(mods, max(2, num_classes), channels, vocab, n_mels, frames)
    with torch.device("meta"):
        model = MultimodalModel(spec, shape)
    return count_parameters(model)

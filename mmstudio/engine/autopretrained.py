"""Automatic settings for pretrained encoders (part of :mod:`.autoconfig`).

- On a small image set (at most :data:`SMALL_DATA` training images) with the image encoder left
  at its default, a pretrained backbone whose weights are on this machine is chosen, in frozen
  mode: with few images, ImageNet features beat a network learned from scratch, and computing
  them once keeps a CPU run short. The reason says which weights and why.
- Pretrained images are kept at up to the weights' crop size (224 px) instead of the CPU bound.
- Word vectors set the text encoder's embedding size to theirs.
- wav2vec2/HuBERT hear 16 kHz.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mmstudio.engine import pretrained

#: Image sets up to this many training images get a pretrained encoder when one is present.
SMALL_DATA = 5_000
#: Preference on a CPU: small, fast backbones first; on a GPU the stronger ones.
CPU_ORDER = (
    "resnet18",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "resnet34",
    "mobilenet_v3_small",
    "resnet50",
    "convnext_tiny",
)
GPU_ORDER = (
    "convnext_tiny",
    "resnet50",
    "efficientnet_b0",
    "resnet34",
    "resnet18",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
)
PRETRAINED_SIZE = 224


def pick_image_encoder(spec, n_images: int, device: str, chosen: list) -> Any:
    """``spec`` (an ImageSpec) with a present pretrained encoder when it is left at the default
    and the data is small; else ``spec``."""
    from mmstudio.engine.autoconfig import AutoSetting

    untouched = spec.encoder == "cnn" and not spec.weights and not spec.options and not spec.size and not spec.augment
    if not untouched or n_images > SMALL_DATA:
        return spec
    for arch in CPU_ORDER if device != "cuda" else GPU_ORDER:
        info = pretrained.default_for(arch)
        if info is not None and info.present():
            chosen.append(
                AutoSetting(
                    "model.image.encoder",
                    arch,
                    f"{n_images:,} training images is little to learn from scratch and the {info.name} "
                    "weights are on this machine: frozen pretrained features (computed once), only the "
                    "fusion and heads train",
                )
            )
            chosen.append(AutoSetting("model.image.weights", info.name, f"ImageNet weights for {arch}"))
            return dataclasses.replace(spec, encoder=arch, weights=info.name)
    return spec


def image_size_limit(spec) -> int:
    """The largest side to keep images at for ``spec``'s encoder (0: the usual CPU/GPU bound)."""
    return PRETRAINED_SIZE if pretrained.weights_of("image", spec.encoder, spec.weights) else 0


def text_vectors(spec, chosen: list) -> Any:
    """``spec`` (a TextSpec) with ``embed`` set to its word vectors' size when not set."""
    from mmstudio.engine.autoconfig import AutoSetting
    from mmstudio.engine.vectors import vectors_dim

    path = str(spec.options.get("vectors", "") or "")
    if not path or "embed" in spec.options:
        return spec
    dim = vectors_dim(path)
    chosen.append(AutoSetting("model.text.options.embed", dim, f"the word vectors in {path} have {dim} values"))
    return dataclasses.replace(spec, options={**spec.options, "embed": dim})


def audio_rate(spec) -> int:
    """The sample rate ``spec``'s encoder needs (0: any)."""
    return 16000 if pretrained.weights_of("audio", spec.encoder) else 0

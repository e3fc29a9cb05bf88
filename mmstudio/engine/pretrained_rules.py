"""The run checks about pretrained weights and word vectors (part of :mod:`.rules`' rulebook).

Weights must fit the encoder and be on this machine (the message says how to get them); tune
modes need published weights; frozen features are computed once, so they cannot be augmented;
a word-vectors file must exist. Standard library only.
"""

from __future__ import annotations

import os
from typing import Any

from mmstudio.config import MODALITY_NAMES, RunConfig
from mmstudio.engine import pretrained


def pretrained_rules(run: RunConfig, facts: Any, gpus: int | None) -> list:
    from mmstudio.engine.rules import Problem, modalities_of

    spec, out = run.model, []
    mods = modalities_of(run, facts) or MODALITY_NAMES
    if "image" in mods:
        out += [Problem(f, m, c) for f, m, c in _image(spec)]
    if "audio" in mods:
        out += [Problem(f, m, c) for f, m, c in _audio(spec)]
    if "text" in mods:
        vectors = str(spec.text.options.get("vectors", "") or "")
        if vectors and not os.path.isfile(vectors):
            out.append(Problem("model.text.options", f"the word-vectors file {vectors} does not exist"))
    return out


def _image(spec) -> list[tuple[str, str, tuple[str, ...]]]:
    image = spec.image
    out: list[tuple[str, str, tuple[str, ...]]] = []
    info = pretrained.CATALOGUE.get(image.weights)
    if info is not None:
        if info.encoder != image.encoder:
            fit = pretrained.default_for(image.encoder)
            hint = f"; {image.encoder}'s are {fit.name}" if fit else f"; {image.encoder} has no published weights"
            out.append(("model.image.weights", f"{info.name} are weights for {info.encoder}{hint}", ()))
        elif not info.present():
            out.append(("model.image.weights", pretrained.missing_message(info), ()))
    tune = str(image.options.get("tune", "auto"))
    out += _tune("image", tune, bool(image.weights))
    if image.augment and pretrained.tune_of(spec, "image") == "frozen":
        out.append(
            (
                "model.image.augment",
                "frozen pretrained features are computed once per image, so they cannot be augmented: "
                "turn augment off, or fine-tune (tune finetune)",
                (),
            )
        )
    return out


def _audio(spec) -> list[tuple[str, str, tuple[str, ...]]]:
    audio = spec.audio
    out: list[tuple[str, str, tuple[str, ...]]] = []
    info = pretrained.weights_of("audio", audio.encoder)
    if info is not None:
        if not info.present():
            out.append(("model.audio.encoder", pretrained.missing_message(info), ()))
        if audio.sample_rate not in (0, 16000):
            out.append(("model.audio.sample_rate", f"{audio.encoder} hears 16 kHz audio: set 16000 (or 0)", ("16000",)))
    out += _tune("audio", str(audio.options.get("tune", "auto")), info is not None)
    return out


def _tune(modality: str, tune: str, has_weights: bool) -> list[tuple[str, str, tuple[str, ...]]]:
    field = f"model.{modality}.options"
    if tune not in pretrained.TUNE_MODES:
        return [(field, f"tune must be {', '.join(pretrained.TUNE_MODES)}, got {tune!r}", pretrained.TUNE_MODES)]
    if tune != "auto" and not has_weights:
        return [(field, f"tune {tune} needs pretrained weights; choose them, or leave tune at auto", ("auto",))]
    return []

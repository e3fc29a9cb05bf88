"""Classifying one sample from whatever modalities the user gives (the rest are masked)."""

from __future__ import annotations

from typing import Any

import torch

from mmstudio.engine.bundle import Bundle, load_bundle


@torch.no_grad()
def predict(
    bundle, image: str | None = None, audio: str | None = None, text: str | None = None, top: int = 5
) -> dict[str, Any]:
    """Class probabilities for one sample (the regress task: ``{"value": number}``);
    modalities left out are masked as missing."""
    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    model, pre = bundle.model, bundle.preprocessor
    if not (model.classify or model.regress):
        raise ValueError("this model was trained for align only; it has no classes to predict")
    given = {m: v for m, v in (("image", image), ("audio", audio), ("text", text)) if v is not None}
    unknown = [m for m in given if m not in bundle.modalities]
    if unknown or not given:
        raise ValueError(f"give at least one of: {', '.join(bundle.modalities)}")
    inputs, mask = {}, {}
    for m in bundle.modalities:
        if m == "image":
            x = (
                pre.load_image(image)[None]
                if image is not None
                else torch.zeros(1, pre.channels, pre.image.size, pre.image.size, dtype=torch.uint8)
            )
        elif m == "audio":
            x = (
                pre.load_audio(audio)[None]
                if audio is not None
                else torch.zeros(1, *pre.audio_shape, dtype=torch.float16)
            )
        else:
            x = pre.text_batch([text or ""])
        inputs[m], mask[m] = x, torch.tensor([m in given])
    out = model(inputs, mask)
    if "value" in out:  # regress: the number, in the target's units
        return {"value": round(float(out["value"][0]), 6), "used": sorted(given)}
    probs = torch.softmax(out["logits"][0].float(), 0)
    best = torch.topk(probs, min(top, probs.numel()))
    ranked = [
        {"label": bundle.class_names[i], "probability": round(float(p), 6)}
        for p, i in zip(best.values.tolist(), best.indices.tolist())
    ]
    return {"label": ranked[0]["label"], "top": ranked, "used": sorted(given)}

"""Named starting points for a run ("quick" on a CPU, "accurate" on a GPU). No torch.

The Model panel's preset buttons show :data:`PRESETS` and apply :func:`apply_preset`; the engine
owns the choices, so a new encoder or a change of defaults is made here once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mmstudio.config import RunConfig
from mmstudio.engine.autoconfig import with_text_encoder


@dataclass(frozen=True)
class Preset:
    label: str
    help: str
    needs_gpu: bool = False  # written for CUDA: offered only where there is a GPU


PRESETS = {
    "quick": Preset("Quick (CPU)", "Small encoders at small sizes, fp32 on the CPU: minutes, not hours"),
    "accurate": Preset(
        "Accurate (GPU)", "Pretrained-size encoders, larger inputs and batches, on CUDA", needs_gpu=True
    ),
}


def apply_preset(run: RunConfig, name: str, gpus: int = 0) -> RunConfig:
    """``run`` with preset ``name``'s encoders, sizes and training settings (``gpus``: how many
    CUDA devices this machine has; the accurate preset uses them when there are any)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    ms, tr = run.model, run.train
    if name == "quick":
        model = ms.replace(
            image=dataclasses.replace(ms.image, encoder="cnn", size=min(ms.image.size, 32)),
            text=with_text_encoder(ms.text, "bag"),
            audio=dataclasses.replace(ms.audio, encoder="mel_cnn"),
            dim=64,
            fusion="concat",
        )
        train = tr.replace(epochs=5, batch_size=64, lr=2e-3, device="cpu", precision="fp32", auto_batch=False)
    else:
        model = ms.replace(
            image=dataclasses.replace(ms.image, encoder="resnet18", size=max(ms.image.size, 128)),
            text=with_text_encoder(ms.text, "transformer"),
            audio=dataclasses.replace(ms.audio, encoder="mel_cnn"),
            dim=256,
            fusion="attention",
        )
        train = tr.replace(
            epochs=30,
            batch_size=256,
            lr=1e-3,
            device="cuda" if gpus else "auto",
            precision="auto",
            auto_batch=bool(gpus),
        )
    return run.replace(model=model, train=train)


def preset_changes(before: RunConfig, after: RunConfig) -> list[dict[str, Any]]:
    """What a preset changed: one ``{"field", "old", "new"}`` per run.toml field (``model.dim``),
    in the order of the run's fields; the dataset and the name are never a preset's."""
    old, new = _flat(before.to_dict()), _flat(after.to_dict())
    return [
        {"field": k, "old": old.get(k), "new": v}
        for k, v in new.items()
        if k.startswith(("model.", "train.")) and old.get(k) != v
    ]


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"image": {"size": 32}}}`` as ``{"model.image.size": 32}`` (options stay whole)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict) and not k.endswith("options"):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out

"""What a model's training inputs looked like, so new inputs far outside it are flagged.

A model trained on white digits on black says nothing useful about black digits on white; the
user should hear so in a sentence, not read it off a confusion matrix. At the end of training
the range of a few plain per-item measures is stored in ``bundle.json`` (``input_stats``):

- image: mean brightness and contrast (standard deviation) of each image, 0-255;
- audio: mean log-mel energy of each clip (loudness) and its share of near-silent frames;
- text: the share of a text's words the vocabulary does not know.

:func:`input_warnings` compares new inputs with those ranges.
"""

from __future__ import annotations

from typing import Any

import torch

#: Percentiles kept per measure: the training range is [low, high].
LOW, HIGH = 0.005, 0.995
#: A value counts as outside when it is beyond the range by more than this share of its width.
MARGIN = 0.25
#: Evaluate/Query speak up when at least this share of the inputs is outside.
SHARE = 0.2
UNKNOWN_TEXT = 0.5  # a text with more than half its words unknown is unlike the training texts
#: Held-out texts of the training data itself often have many new words (short texts, rare
#: names): texts speak up only when most of them are mostly unknown.
TEXT_SHARE = 0.5

_WHAT = {
    "brightness": "brighter or darker",
    "contrast": "of a different contrast",
    "loudness": "louder or quieter",
    "silence": "more or less silent",
}
_NOUN = {"image": "images", "audio": "sounds", "text": "texts"}


def measures(modality: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-item measures of a batch of model inputs (uint8 images, float16 log-mels, token ids)."""
    if modality == "image":
        flat = x.float().flatten(1)
        return {"brightness": flat.mean(1), "contrast": flat.std(1)}
    if modality == "audio" and x.ndim == 3 and x.shape[1] == 1:  # samples (speech models): log power per 20 ms
        w = x.float()[:, 0, : x.shape[2] // 320 * 320]
        x = torch.log(w.reshape(w.shape[0], 1, -1, 320).pow(2).mean(-1) + 1e-6)
    if modality == "audio":
        frames = x.float().mean(1)  # (B, frames): energy per frame
        floor = frames.amin(1, keepdim=True)
        return {"loudness": frames.mean(1), "silence": (frames < floor + 1.0).float().mean(1)}
    real = (x != 0).sum(1).clamp_min(1)
    return {"unknown": ((x == 1).sum(1) / real).float()}


def compute(inputs: dict[str, torch.Tensor], mask: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The training range of each measure of each modality (present items only)."""
    out: dict[str, Any] = {}
    for m, x in inputs.items():
        keep = mask[m].cpu()
        if int(keep.sum()) < 5:
            continue
        if m == "text":  # every training word is known by construction: the bound is fixed
            out[m] = {"unknown": [0.0, UNKNOWN_TEXT]}
            continue
        idx = keep.nonzero().flatten()
        parts = [measures(m, x[idx[i : i + 1024].to(x.device)].cpu()) for i in range(0, len(idx), 1024)]
        values = {name: torch.cat([p[name] for p in parts]) for name in parts[0]}
        out[m] = {
            name: [round(float(v.quantile(LOW)), 4), round(float(v.quantile(HIGH)), 4)] for name, v in values.items()
        }
    return out


def outside(stats: dict[str, Any], modality: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per measure, which items of ``x`` lie outside the training range (with the margin)."""
    ranges = stats.get(modality) or {}
    result = {}
    for name, value in measures(modality, x).items():
        if name not in ranges:
            continue
        low, high = ranges[name]
        pad = 0.0 if name == "unknown" else MARGIN * (high - low)
        result[name] = (value < low - pad) | (value > high + pad)
    return result


def input_warnings(
    stats: dict[str, Any] | None,
    inputs: dict[str, torch.Tensor],
    mask: dict[str, torch.Tensor] | None = None,
    share: float = SHARE,
) -> list[str]:
    """Plain sentences for the modalities whose inputs mostly look unlike the training inputs
    (for one query, ``share`` is reached by that one input)."""
    if not stats:
        return []
    notes = []
    for m, x in inputs.items():
        keep = mask[m].cpu() if mask is not None and m in mask else torch.ones(x.shape[0], dtype=torch.bool)
        if m not in stats or int(keep.sum()) == 0:
            continue
        flags = outside(stats, m, x.cpu()[keep])
        need = max(share, TEXT_SHARE) if m == "text" else share
        bad = {name: float(f.float().mean()) for name, f in flags.items() if float(f.float().mean()) >= need}
        if not bad:
            continue
        n = int(keep.sum())
        if m == "text":
            notes.append(
                _sentence(
                    n,
                    "text",
                    "most of their words are unknown to this model"
                    if n > 1
                    else "most of its words are unknown to this model",
                    bad,
                )
            )
        else:
            what = " and ".join(_WHAT[k] for k in bad)
            notes.append(_sentence(n, m, f"{what} than anything it was trained on", bad))
    return notes


def _sentence(n: int, modality: str, why: str, bad: dict[str, float]) -> str:
    if n == 1:
        noun = {"image": "This image", "audio": "This sound", "text": "This text"}[modality]
        return f"{noun} looks unlike the model's training data: {why}, so its answers may be unreliable."
    share = max(bad.values())
    return (
        f"{share:.0%} of these {_NOUN[modality]} look unlike the model's training data ({why}); "
        "its results on them may be unreliable."
    )


def record_input_stats(bundle_path: str, data: Any, split: str = "train") -> dict[str, Any]:
    """Measure ``split`` of ``data`` (the bundle's training data) with the bundle's
    preprocessing and record the ranges in its ``bundle.json``: for bundles trained before
    MMStudio kept them. Returns the ranges."""
    from mmstudio.engine.bundle import load_bundle, set_input_stats
    from mmstudio.engine.cache import prepare
    from mmstudio.engine.data import load_dataset
    from mmstudio.engine.evaluation import same_spec, split_items
    from mmstudio.engine.events import drive

    bundle = load_bundle(bundle_path)
    items = split_items(load_dataset(same_spec(bundle, data)), split)
    feats = drive(prepare(items, bundle.preprocessor, {}), None)
    stats = compute(feats.inputs, feats.mask)
    set_input_stats(bundle.path, stats)
    return stats

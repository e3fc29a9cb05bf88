"""The Evaluate panel's report for a generating bundle: the scores of its texts beside the two
baselines', and every item's input, reference and output, worst first (by item CER)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmstudio.engine.cache import Features
from mmstudio.engine.textbaselines import NN_FEATURE

#: The rows of the comparison table: (key, name, higher is better).
SCORES = (
    ("cer", "CER", False),
    ("wer", "WER", False),
    ("exact", "exact match", True),
    ("bleu", "BLEU-4", True),
    ("bleu2", "BLEU-2", True),
    ("cider_d", "CIDEr-D", True),
)


def generation_report(
    bundle, dataset, split: str, items: list, feats: Features, say: Callable[[float, str], None], beam: int = 1
) -> dict[str, Any]:
    """``{"task": "generate", "split", "samples", "generation", "baselines", "examples", ...}``;
    ``examples`` are sorted from the worst item to the best."""
    from mmstudio.engine.generation import evaluate_generation

    say(0.35, "Writing the texts")
    train = dataset.subset("train") if split != "train" else None

    def on_event(e) -> None:
        if getattr(e, "total", 0):
            say(0.6 + 0.35 * e.done / e.total, f"Baselines: decoding {e.modality} {e.done:,}/{e.total:,}")

    result = evaluate_generation(bundle, items, feats, train, beam, "cpu", 128, on_event)
    result["examples"].sort(key=lambda row: -row["error"])
    say(1.0, "Done")
    return {
        "task": "generate",
        "split": split,
        "dataset": dataset.spec.path,
        "modalities": list(bundle.model.modalities),
        "samples": [{"id": it.id, "image": it.image, "audio": it.audio, "text": it.text} for it in items],
        "nn_feature": NN_FEATURE,
        **result,
    }


def comparison_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The table of scores: headers (metric, the model, each baseline) and one row per score."""
    columns = [("model", report["generation"])] + [
        (name.replace("_", " "), scores) for name, scores in report.get("baselines", {}).items()
    ]
    rows = []
    for key, name, higher in SCORES:
        values = [c[1].get(key) for c in columns]
        best = max(v for v in values if v is not None) if higher else min(v for v in values if v is not None)
        rows.append([f"{name} ({'↑' if higher else '↓'})"] + [_cell(v, v == best) for v in values])
    return ["score"] + [c[0] for c in columns], rows


def _cell(value, best: bool) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" + (" ★" if best else "")

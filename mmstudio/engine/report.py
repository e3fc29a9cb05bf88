"""The Evaluate panel's report: everything about a bundle on one split, as plain values.

Beyond :func:`evaluate`'s summary it keeps what a user looks through: every sample's prediction
(by item index, so a confusion cell or a mistake can be shown with its files), the model with
each modality removed and with only one kept (the single-modality figures of the *same* model,
its other inputs masked), a robustness curve (the metric as noise of rising strength is added
to one modality at a time), the fusion's learned modality weights and retrieval Recall@K.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from mmstudio.engine.cache import Features, prepare
from mmstudio.engine.evaluation import _retrieval, same_spec, split_items
from mmstudio.engine.inputstats import input_warnings
from mmstudio.engine.metrics import accuracy, classification_metrics
from mmstudio.engine.regress_report import regress_report, regress_tables

NOISE_LEVELS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
Progress = Callable[[float, str], None]


def evaluation_report(
    bundle,
    data,
    split: str = "test",
    batch_size: int = 256,
    noise_levels: tuple[float, ...] = NOISE_LEVELS,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The full report of ``bundle`` on ``split`` of ``data`` (``"all"``: every item).

    ``progress(fraction, message)`` is called from this thread as the work goes on.
    """
    from mmstudio.engine.bundle import Bundle, load_bundle
    from mmstudio.engine.data import load_dataset

    say = progress or (lambda _f, _m: None)
    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    dataset = load_dataset(same_spec(bundle, data))
    items = split_items(dataset, split)
    names = bundle.class_names or dataset.class_names
    feats = _decode(items, bundle, {n: i for i, n in enumerate(names)}, say)
    if bundle.model.generates:  # texts, scores, examples and baselines instead of classes
        from mmstudio.engine.generation_report import generation_report

        return generation_report(bundle, dataset, split, items, feats, say)
    model = bundle.model.eval()
    mods = list(model.modalities)
    report = _header(bundle, dataset, split, items, model)
    runs = _plan(model, mods, noise_levels)
    say(0.3, "Encoding every modality")
    encoded = _encode(model, feats, batch_size, None, seed)
    outputs: dict[str, Any] = {}
    for n, (key, keep, noise) in enumerate(runs):
        say(0.35 + 0.6 * n / max(1, len(runs)), f"Running the model ({key})")
        outputs[key] = _heads(model, feats, encoded, keep, noise, batch_size, seed)
    labelled = bool((feats.labels >= 0).any())
    if model.classify and labelled:
        report.update(_classification(outputs, feats.labels, bundle.class_names, mods, noise_levels))
    if model.regress:
        report.update(regress_report(outputs, feats, mods, float(model.shape.target_mean)))
    warnings = input_warnings(bundle.meta.get("input_stats"), feats.inputs, feats.mask)
    if warnings:
        report["input_warnings"] = warnings
    if model.align:
        emb = outputs["fused"]["embeddings"]
        report["retrieval"] = _retrieval(emb, feats, feats.labels if labelled else None)
    weights = model.modality_weights()
    if weights:
        report["modality_weights"] = weights
    say(1.0, "Done")
    return report


def _decode(items, bundle, index: dict[str, int], say: Progress) -> Features:
    gen = prepare(items, bundle.preprocessor, index)
    while True:
        try:
            e = next(gen)
        except StopIteration as stop:
            return stop.value
        if e.total:
            say(0.3 * e.done / e.total, f"Decoding {e.modality}: {e.done:,}/{e.total:,}")


def _plan(model, mods: list[str], levels) -> list[tuple[str, tuple[str, ...], tuple | None]]:
    """(name, modalities kept, (noisy modality, strength) or None) for every forward pass."""
    runs: list[tuple[str, tuple[str, ...], tuple | None]] = [("fused", tuple(mods), None)]
    if (model.classify or model.regress) and len(mods) > 1:
        runs += [(f"without {m}", tuple(x for x in mods if x != m), None) for m in mods]
        runs += [(f"only {m}", (m,), None) for m in mods]
    if model.classify:
        runs += [(f"noise {m} {s}", tuple(mods), (m, s)) for m in mods for s in levels if s]
    return runs


@torch.no_grad()
def _encode(model, feats: Features, batch_size: int, noise, seed: int) -> dict[str, torch.Tensor]:
    """Encoder features of every item: all modalities, or only the noisy one with its noise."""
    gen = torch.Generator().manual_seed(seed)
    mods = [noise[0]] if noise is not None else list(model.modalities)
    out: dict[str, list[torch.Tensor]] = {m: [] for m in mods}
    for start in range(0, len(feats), batch_size):
        x = {m: feats.inputs[m][start : start + batch_size] for m in mods}
        if noise is not None:
            m, strength = noise
            x[m] = add_noise(m, x[m], strength, gen, model.shape.vocab_size)
        for m, f in model.encode(x).items():
            out[m].append(f)
    return {m: torch.cat(v) for m, v in out.items()}


@torch.no_grad()
def _heads(
    model, feats: Features, encoded: dict[str, torch.Tensor], keep: tuple[str, ...], noise, batch_size: int, seed: int
) -> dict[str, Any]:
    """Logits (and embeddings) from encoder features, masking what ``keep`` leaves out.

    Masking does not change an encoder's output, so the features are computed once and
    only the fusion and heads run again per variant; a noisy modality is encoded again.
    """
    if noise is not None:
        encoded = {**encoded, **_encode(model, feats, batch_size, noise, seed)}
    mask = {m: v if m in keep else torch.zeros_like(v) for m, v in feats.mask.items()}
    result: dict[str, Any] = {"logits": None, "embeddings": {}}
    if model.classify:
        result["logits"] = model.logits(encoded, mask).float()
    if model.regress:
        result["value"] = model.value(encoded, mask).float()
    if model.align and noise is None:
        result["embeddings"] = {m: e.float() for m, e in model.embed(encoded).items()}
    return result


def add_noise(
    modality: str, x: torch.Tensor, strength: float, gen: torch.Generator, vocab_size: int = 2
) -> torch.Tensor:
    """Corrupt one modality's model inputs; ``strength`` 1 is noise as large as the signal.

    Images and audio features get Gaussian noise of ``strength`` times the batch's standard
    deviation; text has each token replaced by a random one with probability ``strength / 2``.
    """
    if modality == "text":
        swap = (torch.rand(x.shape, generator=gen) < min(1.0, strength / 2)) & (x != 0)
        rand = torch.randint(1, max(2, vocab_size), x.shape, generator=gen)
        return torch.where(swap, rand, x)
    xf = x.float()
    noisy = xf + strength * xf.std() * torch.randn(x.shape, generator=gen)
    if x.dtype == torch.uint8:
        return noisy.clamp(0, 255).round().to(torch.uint8)
    return noisy.to(x.dtype)


def _ablation(outputs: dict, labels: torch.Tensor, mods: list[str]) -> dict[str, Any]:
    fused = round(accuracy(outputs["fused"]["logits"], labels), 6)
    out: dict[str, Any] = {"metric": "accuracy", "fused": fused}
    if len(mods) > 1:
        out["without"] = {m: round(accuracy(outputs[f"without {m}"]["logits"], labels), 6) for m in mods}
        out["only"] = {m: round(accuracy(outputs[f"only {m}"]["logits"], labels), 6) for m in mods}
        best = max(out["only"], key=out["only"].get)
        out["best_single"] = best
        out["gain"] = round(fused - out["only"][best], 6)
    return out


def samples_in_cell(report: dict[str, Any], true: int, pred: int) -> list[int]:
    """Item indices whose true class is ``true`` and predicted class ``pred``."""
    p = report.get("predictions") or {}
    return [i for i, (t, q) in enumerate(zip(p.get("true", []), p.get("pred", []))) if t == true and q == pred]


def misclassified(report: dict[str, Any]) -> list[int]:
    """Item indices predicted wrongly, the most confident mistakes first."""
    p = report.get("predictions") or {}
    wrong = [i for i, (t, q) in enumerate(zip(p.get("true", []), p.get("pred", []))) if t >= 0 and t != q]
    return sorted(wrong, key=lambda i: -p["confidence"][i])


def save_report(report: dict[str, Any], folder: str) -> list[str]:
    """Write the report's numbers as ``report.json`` and one CSV per table; returns the paths."""
    import csv
    import json
    import os

    from mmstudio.fileio import atomic_write, atomic_write_text

    os.makedirs(folder, exist_ok=True)
    written = []

    def table(name: str, header: list[str], rows: list[list[Any]]) -> None:
        def write(tmp: str) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                writer.writerows(rows)

        written.append(atomic_write(os.path.join(folder, name), write))

    summary = [["items", len(report.get("samples", []))]]
    summary += [[k, report[k]] for k in ("accuracy", "macro_f1") if k in report]
    for pair, res in report.get("retrieval", {}).items():
        for kind in ("exact", "label"):
            for k, v in res.get(kind, {}).items():
                summary.append([f"{pair} {kind} {k}", v])
    table("metrics.csv", ["metric", "value"], summary)
    for name, header, rows in _tables(report) + regress_tables(report):
        table(name, header, rows)
    path = os.path.join(folder, "report.json")
    atomic_write_text(
        path, json.dumps({k: v for k, v in report.items() if k not in ("samples", "predictions")}, indent=2)
    )
    written.append(path)
    return written


def _header(bundle, dataset, split: str, items: list, model) -> dict[str, Any]:
    """What a report is about: the bundle, the dataset and split, its items and the model."""
    return {
        "bundle": bundle.path,
        "dataset": str(dataset.spec.path),
        "split": split,
        "samples": [
            {
                "index": i,
                "id": it.id,
                "image": it.image,
                "audio": it.audio,
                "text": it.text,
                "label": it.label,
                "target": it.target,
            }
            for i, it in enumerate(items)
        ],
        "modalities": list(model.modalities),
        "class_names": list(bundle.class_names),
        "task": bundle.run.model.task,
        "fusion": bundle.run.model.fusion if model.classify else None,
    }


def _classification(outputs: dict, labels, class_names, mods: list[str], noise_levels) -> dict[str, Any]:
    """Metrics, predictions, the per-modality ablation and (with noise levels) robustness curves."""
    logits = outputs["fused"]["logits"]
    part: dict[str, Any] = dict(classification_metrics(logits, labels, class_names))
    conf, pred = torch.softmax(logits, 1).max(1)
    part["predictions"] = {
        "true": labels.tolist(),
        "pred": pred.tolist(),
        "confidence": [round(float(c), 4) for c in conf],
    }
    part["ablation"] = _ablation(outputs, labels, mods)
    if len(noise_levels) > 1:
        part["robustness"] = {
            "metric": "accuracy",
            "levels": list(noise_levels),
            "curves": {
                m: [
                    round(accuracy(outputs[f"noise {m} {s}"]["logits"] if s else logits, labels), 6)
                    for s in noise_levels
                ]
                for m in mods
            },
        }
    return part


def _tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The report's tables other than the summary: (file name, header, rows) each."""
    out: list[tuple[str, list[str], list[list[Any]]]] = []
    if "per_class" in report:
        out.append(
            (
                "per_class.csv",
                ["class", "precision", "recall", "f1", "support"],
                [[n, v["precision"], v["recall"], v["f1"], v["support"]] for n, v in report["per_class"].items()],
            )
        )
        names = report["class_names"]
        out.append(
            ("confusion.csv", ["true \\ predicted", *names], [[n, *row] for n, row in zip(names, report["confusion"])])
        )
    if "ablation" in report:
        a = report["ablation"]
        rows = [["fused (all modalities)", a["fused"]]]
        rows += [[f"without {m}", v] for m, v in a.get("without", {}).items()]
        rows += [[f"{m} only", v] for m, v in a.get("only", {}).items()]
        out.append(("ablation.csv", ["model", a["metric"]], rows))
    if "robustness" in report:
        r = report["robustness"]
        out.append(
            (
                "robustness.csv",
                ["noise strength", *r["curves"]],
                [[s, *(r["curves"][m][i] for m in r["curves"])] for i, s in enumerate(r["levels"])],
            )
        )
    if "predictions" in report:
        p, names, items = report["predictions"], report["class_names"], report["samples"]
        out.append(
            (
                "predictions.csv",
                ["index", "id", "true", "predicted", "confidence"],
                [
                    [i, items[i]["id"], names[t] if t >= 0 else "", names[q], c]
                    for i, (t, q, c) in enumerate(zip(p["true"], p["pred"], p["confidence"]))
                ],
            )
        )
    return out

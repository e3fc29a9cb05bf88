"""What each smaller variant of a bundle costs and saves: size on disk, CPU latency per item and
the task's metric on a split, beside the original (the Evaluate panel's "Make it smaller" tab,
``scripts/bench_compress.py``).

Every variant is written to disk first and measured as loaded back from there, so the figures
are those of the files a user keeps. Latency is the median over many single-item calls on the
CPU (after a warm-up), with the same thread count for PyTorch and onnxruntime.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from mmstudio.engine.compress import bundle_bytes, compress

#: Variants in the order they are shown; ``fp32`` is the original.
VARIANTS = ("fp32", "dynamic_int8", "static_int8", "onnx_int8", "prune")
LABELS = {
    "fp32": "original (float32)",
    "dynamic_int8": "dynamic int8",
    "static_int8": "static int8",
    "onnx_int8": "int8 ONNX",
    "prune": "pruned",
}
Progress = Callable[[float, str], None]


@dataclass
class VariantRow:
    """One variant's figures (``value`` of the metric; ``note`` says what could not be done)."""

    name: str
    label: str
    path: str
    kind: str  # "bundle" or "onnx" (an export package)
    bytes: int
    latency_ms: float
    metric: str
    value: float | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_variants(
    bundle,
    data,
    split: str,
    out_root: str,
    variants: tuple[str, ...] = VARIANTS,
    sparsity: float = 0.5,
    finetune: int = 0,
    repeats: int = 100,
    progress: Progress | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Make each variant of ``bundle`` under ``out_root`` and measure it on ``split`` of ``data``;
    latency on ``threads`` CPU threads (1: steady figures on a busy machine, and what a small
    device offers)."""
    from mmstudio.engine.bundle import load_bundle

    say = progress or (lambda _f, _m: None)
    original = load_bundle(bundle) if isinstance(bundle, str) else bundle
    say(0.02, "Decoding the split")
    feats = split_features(original, data, split)
    metric = metric_name(original)
    rows = []
    for n, name in enumerate(variants):
        share = 0.05 + 0.9 * n / max(1, len(variants))
        say(share, f"Making and measuring: {LABELS.get(name, name)}")
        path, kind, note = make_variant(original, name, out_root, sparsity, finetune, data)
        with _threads(threads):
            if kind == "onnx":
                value, latency = _measure_onnx(path, original, feats, metric, repeats)
                size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
            else:
                value, latency = _measure_bundle(path, feats, metric, repeats)
                size = bundle_bytes(path)
        rows.append(VariantRow(name, LABELS.get(name, name), path, kind, size, latency, metric, value, note))
    say(1.0, "Done")
    rows_out = [r.as_dict() for r in rows]
    return {"metric": metric, "split": split, "items": len(feats), "threads": threads, "rows": rows_out}


@contextlib.contextmanager
def _threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def make_variant(original, name: str, out_root: str, sparsity: float, finetune: int, data) -> tuple[str, str, str]:
    """(path, kind, note) of variant ``name`` written under ``out_root``."""
    from mmstudio.engine.exporting import export

    if name == "fp32":
        return original.path, "bundle", ""
    path = os.path.join(out_root, name)
    if name == "onnx_int8":
        export(original, "onnx", path, check=False, quantize="int8")
        return path, "onnx", ""
    info = compress(original, name, path, sparsity=sparsity, finetune=finetune, data=data)
    note = "; ".join(f"{m}: {text}" for m, text in info.get("notes", {}).items())
    if name == "prune":
        note = f"{info['achieved']:.0%} of Linear/conv weights zero" + (
            f", fine-tuned {finetune} steps" if finetune else ""
        )
    return path, "bundle", note


def metric_name(bundle) -> str:
    model = bundle.model
    return "mae" if model.regress else ("accuracy" if model.classify else "recall@1")


def split_features(bundle, data, split: str):
    from mmstudio.engine.cache import prepare
    from mmstudio.engine.data import load_dataset
    from mmstudio.engine.evaluation import same_spec, split_items
    from mmstudio.engine.events import drive

    dataset = load_dataset(same_spec(bundle, data))
    names = bundle.class_names or dataset.class_names
    return drive(prepare(split_items(dataset, split), bundle.preprocessor, {n: i for i, n in enumerate(names)}), None)


def score(metric: str, out: dict[str, Any], feats) -> float | None:
    """The metric from a model's outputs over every item of ``feats``."""
    from mmstudio.engine.evaluation import _retrieval
    from mmstudio.engine.metrics import accuracy
    from mmstudio.engine.regression import regression_metrics

    if metric == "mae" and out.get("value") is not None and feats.targets is not None:
        return regression_metrics(out["value"], feats.targets, 0.0).get("mae")
    if metric == "accuracy" and out.get("logits") is not None:
        return round(accuracy(out["logits"], feats.labels), 6)
    if metric == "recall@1" and out.get("embeddings"):
        r1 = [v["exact"]["recall@1"] for v in _retrieval(out["embeddings"], feats, None).values()]
        return round(sum(r1) / max(1, len(r1)), 6) if r1 else None
    return None


def _measure_bundle(path: str, feats, metric: str, repeats: int) -> tuple[float | None, float]:
    from mmstudio.engine.bundle import load_bundle
    from mmstudio.engine.evaluation import run_model

    model = load_bundle(path).model.eval()
    value = score(metric, run_model(model, feats, "cpu", 256), feats)

    @torch.no_grad()
    def one(i: int) -> None:
        inputs, mask, _ = feats.batch(torch.tensor([i]))
        model(inputs, mask)

    return value, _median_ms(one, len(feats), repeats)


def _measure_onnx(folder: str, bundle, feats, metric: str, repeats: int) -> tuple[float | None, float]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(os.path.join(folder, "model.onnx"), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    mods = list(bundle.modalities)

    def feed(idx: torch.Tensor) -> dict[str, Any]:
        inputs, mask, _ = feats.batch(idx)
        out = {m: inputs[m].numpy() for m in mods}
        return out | {f"mask_{m}": mask[m].numpy() for m in mods}

    chunks = [session.run(None, feed(torch.arange(s, min(s + 256, len(feats))))) for s in range(0, len(feats), 256)]
    joined = {n: torch.cat([torch.from_numpy(c[j]) for c in chunks]) for j, n in enumerate(names)}
    out: dict[str, Any] = {"logits": joined.get("logits"), "value": joined.get("value")}
    if any(n.startswith("emb_") for n in names):
        out["embeddings"] = {n[4:]: v for n, v in joined.items() if n.startswith("emb_")}
    value = score(metric, out, feats)
    return value, _median_ms(lambda i: session.run(None, feed(torch.tensor([i]))), len(feats), repeats)


def _median_ms(call: Callable[[int], Any], n: int, repeats: int) -> float:
    """Median milliseconds of ``call(i)`` over ``repeats`` items (cycling), after 3 warm-ups."""
    for i in range(min(3, n)):
        call(i)
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        call(k % n)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 3)


def keep_variant(row: dict[str, Any], destination: str) -> str:
    """Copy a measured variant (a bundle or an export package folder) to ``destination``."""
    import shutil

    from mmstudio.engine.bundle import atomic_dir

    def fill(tmp: str) -> None:
        for entry in os.scandir(row["path"]):
            if entry.is_file() and (row["kind"] == "onnx" or entry.name in ("model.safetensors", "bundle.json")):
                shutil.copy2(entry.path, os.path.join(tmp, entry.name))

    return atomic_dir(destination, fill)


def variants_folder(bundle) -> str:
    """Where the studio writes a bundle's variants before the user keeps one (user cache)."""
    import platformdirs

    sha = (bundle.meta.get("weights", {}).get("sha256") or "bundle")[:16]
    return os.path.join(platformdirs.user_cache_dir("mmstudio", appauthor=False), "variants", sha)

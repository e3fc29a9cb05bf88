"""Size, CPU latency and accuracy of every smaller variant of two digits models, in one run.

    python scripts/bench_compress.py [--out DIR] [--epochs N] [--resnet-epochs N]

1. a demo-size digits model (image ``cnn`` + audio ``mel_cnn``, concat fusion) trained here on
   ``digits/pairs.csv`` (the text captions name the class, so they are left out: every variant
   would score 100 %);
2. a ResNet-18 image model trained briefly from scratch on the digits images (32 px).

For each: float32, dynamic int8, static int8 (where the encoder allows), int8 ONNX and 50 %
magnitude pruning (no fine-tune), each written to disk and measured as loaded back
(:mod:`mmstudio.engine.compress_measure`): size on disk, median single-item latency on one CPU
thread over 200 items, and test accuracy. Needs ``../shared/datasets`` and onnxruntime.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mmstudio import engine
from mmstudio.config import DatasetSpec, ImageSpec, ModelSpec, RunConfig, TrainSpec
from mmstudio.engine.compress_measure import compare_variants

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "digits", "pairs.csv")


def train(name: str, model: ModelSpec, epochs: int, out: str) -> str:
    run = RunConfig(
        DatasetSpec(os.path.abspath(DATA)),
        model,
        TrainSpec(epochs=epochs, batch_size=64, lr=2e-3, seed=0, val_split="none", device="cpu"),
        name=name,
    )
    start = time.monotonic()
    result = engine.drive(engine.train(run, os.path.join(out, name)), None)
    print(f"{name}: trained {epochs} epochs in {time.monotonic() - start:.0f} s", flush=True)
    return result.bundle


def table(title: str, report: dict) -> list[str]:
    rows = report["rows"]
    base = rows[0]
    lines = [
        f"### {title}",
        "",
        f"Test split, {report['items']:,} items; latency: median of 200 single-item calls on "
        f"{report['threads']} CPU thread.",
        "",
        "| variant | size on disk | vs fp32 | latency / item | accuracy | change | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        value = "–" if r["value"] is None else f"{100 * r['value']:.2f} %"
        delta = "–" if r["value"] is None else f"{100 * (r['value'] - base['value']):+.2f}"
        lines.append(
            f"| {r['label']} | {r['bytes'] / 1e6:.2f} MB | {base['bytes'] / r['bytes']:.2f}x smaller "
            f"| {r['latency_ms']:.2f} ms | {value} | {delta} | {r['note']} |"
        )
    return lines + [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/mmstudio-bench-compress")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--resnet-epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    if not os.path.isfile(DATA):
        print(f"{DATA}: not found (the shared datasets are needed)", file=sys.stderr)
        return 1
    small = ModelSpec(modalities=("image", "audio"), task="classify", dim=64)
    resnet = ModelSpec(modalities=("image",), task="classify", dim=64, image=ImageSpec(encoder="resnet18", size=32))
    lines = []
    for name, spec, epochs in (("digits-small", small, args.epochs), ("digits-resnet18", resnet, args.resnet_epochs)):
        bundle = train(name, spec, epochs, args.out)
        report = compare_variants(
            bundle, os.path.abspath(DATA), "test", os.path.join(args.out, name + "-variants"), repeats=args.repeats
        )
        with open(os.path.join(args.out, name + ".json"), "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
        lines += table(f"{name} ({', '.join(spec.modalities)}; {epochs} epochs)", report)
        print("\n".join(table(name, report)), flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

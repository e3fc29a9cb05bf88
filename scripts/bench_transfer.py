"""Frozen pretrained features against fine-tuning, on this machine's CPU.

    python scripts/bench_transfer.py [--train 400] [--val 100] [--epochs 3] [--arch resnet18]

Trains the same ResNet-18 image classifier on a subset of the shared digits images
(``../shared/datasets/digits``, stratified by label) twice through ``engine.train``: in frozen
mode (the backbone's outputs computed once before the first epoch, cached; only the projection
and head train) and in fine-tune mode (the last block trains too, so every step runs the whole
backbone forward at 224 px). Prints seconds per epoch for the epochs after the first, the time
the frozen run spent computing features once, and the ratio.

This machine cannot download weights, so the weights file is made here (torchvision's
architecture with random numbers, saved under torchvision's file name in a temporary
TORCH_HOME). Speed does not depend on the values; accuracies printed are not ImageNet-transfer
accuracies.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

DIGITS = os.path.join(os.path.dirname(ROOT), "shared", "datasets", "digits", "pairs.csv")


def subset_manifest(folder: str, train: int, val: int) -> str:
    """A manifest of ``train`` + ``val`` digits images, balanced over the labels (copied into
    ``folder``: a manifest names only files inside its own folder)."""
    picked: dict[str, list[dict]] = defaultdict(list)
    want = {"train": train, "val": val}
    with open(DIGITS, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for split, n in want.items():
        source = [r for r in rows if r["split"] == ("train" if split == "train" else "test")]
        per_label = defaultdict(int)
        for r in source:
            if per_label[r["label"]] < n // 10:
                per_label[r["label"]] += 1
                name = os.path.basename(r["image"])
                os.makedirs(os.path.join(folder, "images"), exist_ok=True)
                shutil.copyfile(os.path.join(os.path.dirname(DIGITS), r["image"]), os.path.join(folder, "images", name))
                picked[split].append({"id": r["id"], "split": split, "label": r["label"], "image": f"images/{name}"})
    path = os.path.join(folder, "digits-subset.csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "split", "label", "image"])
        writer.writeheader()
        writer.writerows(picked["train"] + picked["val"])
    return path


def make_weights(arch: str) -> str:
    import torch
    import torchvision

    from mmstudio.engine import pretrained

    info = pretrained.default_for(arch)
    assert info is not None, arch
    if not info.present():
        os.makedirs(os.path.dirname(info.path()), exist_ok=True)
        torch.manual_seed(0)
        torch.save(getattr(torchvision.models, arch)().state_dict(), info.path())
    return info.name


def run_once(manifest: str, weights: str, arch: str, tune: str, epochs: int, out: str) -> dict:
    from mmstudio import engine
    from mmstudio.config import DatasetSpec, ImageSpec, ModelSpec, RunConfig, TrainSpec

    image = ImageSpec(encoder=arch, size=28, weights=weights, options={"tune": tune})
    spec = ModelSpec(modalities=("image",), image=image, dim=128)
    train = TrainSpec(epochs=epochs, batch_size=32, lr=3e-3, seed=0, device="cpu", val_split="val")
    start = time.monotonic()
    epoch_s, prepare_s, accuracy = [], 0.0, 0.0
    for event in engine.train(RunConfig(DatasetSpec(manifest), spec, train), out):
        if isinstance(event, engine.DataPrepared) and event.modality == "image features" and event.done == event.total:
            prepare_s = event.seconds
        if isinstance(event, engine.EpochDone):
            epoch_s.append(event.seconds)
            accuracy = event.metrics.get("accuracy", 0.0)
            print(f"  {tune}: epoch {event.epoch} {event.seconds:.2f} s, val accuracy {accuracy:.3f}", flush=True)
    return {"epochs": epoch_s, "features_s": prepare_s, "total_s": time.monotonic() - start, "accuracy": accuracy}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=400, help="training images (a subset of the 8,000)")
    parser.add_argument("--val", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--arch", default="resnet18")
    args = parser.parse_args(argv)
    if not os.path.isfile(DIGITS):
        print(f"{DIGITS} not found (../shared/datasets/digits)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="bench-transfer-")
    os.environ["TORCH_HOME"] = os.path.join(work, "torch")
    os.environ["MMSTUDIO_CACHE_DIR"] = os.path.join(work, "cache")
    manifest = subset_manifest(work, args.train, args.val)
    weights = make_weights(args.arch)
    print(f"{args.arch} ({weights}), {args.train} training + {args.val} validation digits images, CPU")
    results = {
        t: run_once(manifest, weights, args.arch, t, args.epochs, os.path.join(work, t)) for t in ("frozen", "finetune")
    }
    later = {t: statistics.mean(r["epochs"][1:]) for t, r in results.items()}
    print()
    print("| mode | features once (s) | epoch 1 (s) | later epochs (s/epoch) | whole run (s) |")
    print("|---|---|---|---|---|")
    for t, r in results.items():
        print(f"| {t} | {r['features_s']:.1f} | {r['epochs'][0]:.2f} | {later[t]:.3f} | {r['total_s']:.1f} |")
    print(f"\nlater epochs: frozen is {later['finetune'] / later['frozen']:.0f}x faster than fine-tuning")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training speed of MMStudio's own engine beside the bare-loop limit of the same model.

    mmstudio-cli bench                                  # CUDA if present, else CPU
    mmstudio-cli bench --limit 3000 --epochs 3
    mmstudio-cli bench --yardstick                      # also ../shared/bench/limit.py
    python scripts/bench_train.py [same options]        # the same, from a source checkout

Part of the package, so it runs from an installed wheel too (with generated files when
``../shared/datasets`` is not beside the checkout).

It builds the model through MMStudio's registries and RunConfig (on CUDA the shape of
``../shared/bench/limit.py``: ResNet-18 at 128 px + a 2-layer transformer over 64 tokens + a mel
CNN over 1 s of 16 kHz audio, concat fusion, batch 256; on CPU a small one: cnn (width 8) at
28 px + a bag of words + mel_cnn (width 8), batch 64), trains it headless with ``engine.train`` on real
files (``../shared/datasets/digits/pairs.csv``, else generated JPEG/TXT/WAV files), and reads
samples/s from the engine's EpochDone events. The first epoch is also timed from the call to
``train`` (so it includes decoding every file into the cache), which is what a user waits for.

In the same process it then times a bare loop over the same MMStudio model (rebuilt from the
run's bundle) with random inputs of the cached shapes and dtypes already on the device: forward,
cross-entropy, backward, AdamW step (bf16 autocast + channels_last on CUDA, as the engine does),
and prints later-epochs / bare-loop and later-epochs / first-epoch. Both sides run under the same
machine load, so the ratios hold even when other processes share the CPU; absolute figures do not.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib.util
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: ../shared beside a source checkout (the real datasets and limit.py); absent in an install.
SHARED = Path(__file__).resolve().parents[2] / "shared"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mmstudio bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--data", help="dataset (default ../shared/datasets/digits/pairs.csv, else generated files)")
    p.add_argument("--epochs", type=int, default=3, help="at least 2 (default 3)")
    p.add_argument("--limit", type=int, default=0, help="train on the first N train items only (0: all)")
    p.add_argument("--batch", type=int, default=0, help="default 256 on CUDA, 64 on CPU")
    p.add_argument(
        "--model",
        choices=["auto", "large", "medium", "small", "tiny"],
        default="auto",
        help="large: limit.py's shape (default on CUDA); medium: the Quick preset's "
        "encoders (cnn, transformer, mel_cnn at width 32); small: narrow ones "
        "and a bag of words (default on CPU); tiny: half as wide again",
    )
    p.add_argument("--text", default="transformer", help="text encoder (transformer, bag, ...)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's choice)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (both sides)")
    p.add_argument("--generate", type=int, default=0, help="ignore --data and generate this many JPEG/TXT/WAV items")
    p.add_argument("--bare-steps", type=int, default=0, help="timed bare-loop steps (default 30 on CUDA, 20 on CPU)")
    p.add_argument(
        "--yardstick", action="store_true", help="also run ../shared/bench/limit.py's compute table (its own model)"
    )
    p.add_argument("--out", help="run folder (default: a temporary one, removed afterwards)")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (later epochs are epochs 2..N)")
    return args


# ---- the run ------------------------------------------------------------------------------


def make_run(data_path: str, cuda: bool, args: argparse.Namespace):
    from mmstudio.config import AudioSpec, DatasetSpec, ImageSpec, ModelSpec, RunConfig, TextSpec, TrainSpec

    large = args.model == "large" or (args.model == "auto" and cuda)
    if large:  # the shape of ../shared/bench/limit.py
        model = ModelSpec(
            modalities=("image", "text", "audio"),
            image=ImageSpec("resnet18", size=128, channels=3),
            text=TextSpec(
                args.text,
                vocab_size=20000,
                max_tokens=64,
                options={"width": 256, "heads": 4, "layers": 2} if args.text == "transformer" else {},
            ),
            audio=AudioSpec("mel_cnn", sample_rate=16000, seconds=1.0, n_mels=64, hop_ms=10.0, options={"width": 64}),
            fusion="concat",
            dim=256,
            head_hidden=512,
        )
    elif args.model == "medium":  # the Quick preset's encoders at their default widths
        model = ModelSpec(
            modalities=("image", "text", "audio"),
            image=ImageSpec("cnn", size=28),
            text=TextSpec(args.text, max_tokens=32),
            audio=AudioSpec("mel_cnn"),
            fusion="concat",
            dim=128,
        )
    else:  # small (the CPU default): narrow conv nets and a bag of embeddings, for 2 cores
        width = 4 if args.model == "tiny" else 8
        model = ModelSpec(
            modalities=("image", "text", "audio"),
            image=ImageSpec("cnn", size=28, options={"width": width}),
            text=TextSpec("bag" if args.text == "transformer" else args.text, max_tokens=32),
            audio=AudioSpec("mel_cnn", options={"width": width}),
            fusion="concat",
            dim=64 if width == 8 else 32,
        )
    batch = args.batch or (256 if large else 64)
    train = TrainSpec(
        epochs=args.epochs,
        batch_size=batch,
        val_split="none",
        device="cuda" if cuda else "cpu",
        num_threads=args.threads,
        compile=args.compile,
        log_every_s=5.0,
    )
    return RunConfig(DatasetSpec(data_path), model, train, name="bench")


def open_subset(run, limit: int):
    """The dataset, its train split cut to the first ``limit`` items (0: all); returns it and
    the full train count."""
    from mmstudio.data import open_dataset

    ds = open_dataset(run.dataset)
    train = [it for it in ds.items if it.split == "train"]
    if not train:  # no split column: everything is training data for this benchmark
        train = [dataclasses.replace(it, split="train") for it in ds.items]
    full = len(train)
    if limit:
        train = train[:limit]
    return dataclasses.replace(ds, items=train), full


def generate_files(root: Path, n: int, size: int = 256, sr: int = 16000) -> Path:
    """n image/text/audio triples as JPEG, TXT and WAV files plus a manifest (like limit.py's
    make_files, with a label per item); returns the manifest."""
    import numpy as np
    import soundfile as sf
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(2000)]
    yy, xx = np.mgrid[0:size, 0:size]
    t = np.arange(sr) / sr
    rows = []
    for i in range(n):
        base = root / f"{i:06d}"
        f = rng.uniform(0.01, 0.1, 3)
        img = np.stack([127 + 120 * np.sin(f[c] * (xx + yy * (c + 1)) + i) for c in range(3)], -1).astype("uint8")
        Image.fromarray(img).save(f"{base}.jpg", quality=90)
        text = " ".join(rng.choice(words, 24))
        wave = 0.3 * np.sin(2 * math.pi * rng.uniform(100, 2000) * t)
        sf.write(f"{base}.wav", wave.astype("float32"), sr)
        rows.append(
            {
                "id": f"{i:06d}",
                "split": "train",
                "label": str(i % 10),
                "image": f"{base.name}.jpg",
                "audio": f"{base.name}.wav",
                "text": text,
            }
        )
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest


def train_timed(run, dataset, out: str) -> dict:
    """Run ``engine.train`` to its end, timing the first epoch from the call (decoding included)."""
    from mmstudio import engine

    info: dict = {"epochs": [], "decode": {}}
    t0 = time.monotonic()

    def on_event(e) -> None:
        name = type(e).__name__
        now = time.monotonic() - t0
        if name == "DataPrepared" and e.done == e.total:
            info["decode"][e.modality] = (e.total, e.seconds)
        elif name == "RunStarted":
            info["started"] = e
            info["ready_s"] = now
        elif name == "EpochDone":
            info["epochs"].append(e)
            if e.epoch == 1:
                info["first_wall_s"] = now

    info["result"] = engine.drive(engine.train(run, out, dataset=dataset), on_event)
    return info


# ---- the bare loop --------------------------------------------------------------------------


def _random_batch(run, shape, pre, batch: int, device) -> tuple[dict, dict, Any]:
    """A batch shaped as the cache holds it (inputs, masks, labels), on ``device``."""
    import torch

    g = torch.Generator().manual_seed(0)
    inputs = {}
    if "image" in shape.modalities:  # uint8 (B, C, S, S), as the cache holds them
        s = run.model.image.size
        inputs["image"] = torch.randint(0, 256, (batch, shape.channels, s, s), generator=g, dtype=torch.uint8)
    if "text" in shape.modalities:  # int64 ids, second half padding
        n = run.model.text.max_tokens
        ids = torch.randint(1, max(2, shape.vocab_size), (batch, n), generator=g)
        ids[:, max(1, n // 2) :] = 0
        inputs["text"] = ids
    if "audio" in shape.modalities:  # float16 log-mel maps
        inputs["audio"] = torch.randn(batch, *pre.audio_shape, generator=g).to(torch.float16)
    inputs = {m: x.to(device) for m, x in inputs.items()}
    if "image" in inputs and device.type == "cuda":
        inputs["image"] = inputs["image"].contiguous(memory_format=torch.channels_last)
    mask = {m: torch.ones(batch, dtype=torch.bool, device=device) for m in inputs}
    labels = torch.randint(0, shape.num_classes, (batch,), generator=g).to(device)
    return inputs, mask, labels


def bare_loop(bundle_path: str, batch: int, steps: int, warm: int, compile_: bool) -> tuple:
    """samples/s of forward+loss+backward+AdamW over MMStudio's model with inputs on the device."""
    import torch
    import torch.nn.functional as F

    from mmstudio import engine
    from mmstudio.engine.devices import autocast_factory, pick_precision

    b = engine.load_bundle(bundle_path)
    run, shape, pre = b.run, b.shape, b.preprocessor
    device = torch.device(run.train.device)
    model = b.model.to(device).train()
    if device.type == "cuda" and "image" in shape.modalities:
        model = model.to(memory_format=torch.channels_last)
    fwd = torch.compile(model) if compile_ else model
    autocast = autocast_factory(pick_precision(run.train.precision, device), device)
    inputs, mask, labels = _random_batch(run, shape, pre, batch, device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device.type == "cuda")

    def step() -> None:
        if autocast:
            with autocast():
                loss = F.cross_entropy(fwd(inputs, mask)["logits"], labels)
        else:
            loss = F.cross_entropy(fwd(inputs, mask)["logits"], labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warm + (10 if compile_ else 0)):
        step()
    sync()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    return batch / med, med * 1e3, len(times)


def yardstick(path: Path) -> None:
    spec = importlib.util.spec_from_file_location("mmstudio_bench_limit", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{path}: cannot be loaded")
    limit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(limit)
    import torch

    on_gpu = torch.cuda.is_available()
    print(f"\n{path} compute (its own bare-PyTorch model, not MMStudio's):", flush=True)
    limit.compute(batch=256 if on_gpu else 32, warm=5 if on_gpu else 2, steps=30 if on_gpu else 5)


# ---- main -----------------------------------------------------------------------------------


def _report_training(run, info: dict, source: str, full: int, cuda: bool) -> tuple[float, float, float]:
    """Print the run's set-up and its epochs' speeds; (first wall, first steps, later) samples/s."""
    import torch

    started = info["started"]
    n = started.train_items
    batch = run.train.batch_size
    name = torch.cuda.get_device_name() if cuda else f"cpu ({os.cpu_count()} logical CPUs)"
    spec = run.model
    print("MMStudio training benchmark (mmstudio bench)")
    print(
        f"device={name} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"batch={batch} params={started.parameters:,} precision={started.precision} "
        f"compile={run.train.compile}"
    )
    print(
        f"model: image {spec.image.encoder} {spec.image.size}px + text {spec.text.encoder} "
        f"({spec.text.max_tokens} tokens) + audio {spec.audio.encoder} "
        f"({spec.audio.n_mels} mels, {spec.audio.sample_rate} Hz, {spec.audio.seconds:g} s), "
        f"{spec.fusion} fusion, dim {spec.dim}"
    )
    subset = f" (first {n:,} of {full:,})" if n < full else ""
    print(
        f"data: {source}: {n:,} train items{subset}, {run.train.epochs} epochs, {started.steps_per_epoch} steps/epoch"
    )
    decode = ", ".join(f"{m} {k:,} files {s:.1f} s" for m, (k, s) in info["decode"].items())
    print(
        f"decoding into the cache: {decode or 'nothing (already cached)'}; "
        f"model ready {info['ready_s']:.1f} s after train() was called"
    )

    epochs = info["epochs"]
    first_wall = epochs[0].samples_per_s * epochs[0].seconds / info["first_wall_s"]
    first_steps = epochs[0].samples_per_s
    later = epochs[1:]
    later_sps = sum(e.samples_per_s * e.seconds for e in later) / sum(e.seconds for e in later)
    print(f"{'':<50}{'samples/s':>11}{'seconds':>9}")
    print(f"{'first epoch, wall (decoding + model + steps)':<50}{first_wall:>11.0f}{info['first_wall_s']:>9.1f}")
    print(f"{'first epoch, steps only (EpochDone)':<50}{first_steps:>11.0f}{epochs[0].seconds:>9.1f}")
    for e in later:
        print(f"{f'epoch {e.epoch} (EpochDone)':<50}{e.samples_per_s:>11.0f}{e.seconds:>9.1f}")
    print(f"{f'later epochs 2-{epochs[-1].epoch}':<50}{later_sps:>11.0f}{sum(e.seconds for e in later):>9.1f}")
    return first_wall, first_steps, later_sps


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from mmstudio.engine.devices import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    with tempfile.TemporaryDirectory(prefix="mmstudio-bench-") as tmp:
        digits = SHARED / "datasets" / "digits" / "pairs.csv"
        if args.generate or (not args.data and not digits.is_file()):
            n = args.generate or args.limit or 2048
            t = time.monotonic()
            data_path = str(generate_files(Path(tmp) / "files", n))
            source = f"{n:,} generated JPEG/TXT/WAV items in {time.monotonic() - t:.1f} s"
        else:
            data_path = args.data or str(digits)
            source = data_path
        run = make_run(data_path, cuda, args)
        dataset, full = open_subset(run, args.limit)
        out = args.out or os.path.join(tmp, "run")
        info = train_timed(run, dataset, out)

        first_wall, first_steps, later_sps = _report_training(run, info, source, full, cuda)
        batch = run.train.batch_size

        steps = args.bare_steps or (30 if cuda else 20)
        bare_sps, bare_ms, k = bare_loop(
            info["result"].bundle, batch, steps, warm=5 if cuda else 3, compile_=args.compile
        )
        label = f"bare loop, same model, inputs on {device.type} (median of {k})"
        print(f"{label:<50}{bare_sps:>11.0f}{bare_ms:>8.1f}ms")
        print(f"ratio later epochs / bare loop: {later_sps / bare_sps:.2f}  (goal on the GPU: >= 0.9)")
        print(
            f"ratio later epochs / first epoch (wall): {later_sps / first_wall:.2f}  "
            f"(goal on CPU: >= 2); / first epoch steps only: {later_sps / first_steps:.2f}"
        )
        print("both sides were measured in this one process, one after the other, under the same machine load")

    limit_py = SHARED / "bench" / "limit.py"
    if args.yardstick:
        if limit_py.is_file():
            yardstick(limit_py)
        else:
            print(f"(no {limit_py}: yardstick skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

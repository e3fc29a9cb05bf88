"""Build the offline demo in ``resources/demo``: data, trained bundles and their indexes.

Re-run with ``python scripts/make_demo.py`` (about 10 minutes on a 2-core CPU). It reads
``../shared/datasets`` and writes:

- ``resources/demo/digits/``: 500 image + audio + text triplets (copied from ``demo/``; kept
  as they are when present).
- ``resources/demo/clipart/``: about 300 Open Clip Art drawings with their titles and keywords
  (``captions.csv``), picked evenly across the library's top-level categories, and NOTICE.md.
- ``resources/demo/bundles/digits/``: image + audio + text, ``classify+align``, trained on the
  8,000 training triplets of ``digits/``; its index embeds the 500 demo triplets.
- ``resources/demo/bundles/clipart/``: text <-> image ``align``, trained on every clip-art
  drawing; its index embeds the demo drawings.

Index paths are stored relative to the index file, so a fresh clone anywhere answers queries.
Training runs on the CPU with fixed seeds, so the bundles are reproducible up to torch versions.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from mmstudio import engine
from mmstudio.config import DatasetSpec, ImageSpec, ModelSpec, RunConfig, SplitSpec, TextSpec, TrainSpec

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
DEMO = os.path.join(ROOT, "resources", "demo")
#: Clip-art columns: title and keywords are the text, the top-level category the label.
CLIPART_COLUMNS = {"image": "image", "category": "label", "title": "text", "keywords": "text", "description": "ignore"}

CLIPART_NOTICE = """# Clip-art demo: attribution and licence

{count} drawings from the Open Clip Art Library 0.18 (https://openclipart.org), shrunk to 96 px
JPEG, with their authors' titles and keywords (`captions.csv`: `image,category,title,keywords`;
`category` is the library's top-level folder). Open Clip Art Library drawings are dedicated to
the public domain by their authors; no rights are reserved. Thanks to every artist of the library.

Picked by `scripts/make_demo.py` (seed 0), evenly across the categories.
"""


def copy_digits(shared: str) -> str:
    """The 500-triplet demo set (kept when already there: it is what the app opens first)."""
    out = os.path.join(DEMO, "digits")
    if not os.path.isfile(os.path.join(out, "manifest.csv")):
        shutil.copytree(os.path.join(shared, "demo"), out, dirs_exist_ok=True)
    return os.path.join(out, "manifest.csv")


def pick_clipart(shared: str, count: int, seed: int = 0) -> str:
    """Copy ``count`` drawings, evenly across top-level categories, with their captions."""
    src = os.path.join(shared, "clipart")
    with open(os.path.join(src, "captions.csv"), newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["title"].strip() and len(r["title"].strip()) > 2]
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        top = r["category"].split("/")[0]
        if top not in ("unsorted", "special"):
            groups[top].append(r)
    rng = random.Random(seed)
    for g in groups.values():
        rng.shuffle(g)
    picked: list[dict] = []
    names = sorted(groups)
    while len(picked) < count and any(groups.values()):
        for name in names:  # round robin: small categories give all they have
            if groups[name] and len(picked) < count:
                picked.append(groups[name].pop())
    out = os.path.join(DEMO, "clipart")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "images"))
    picked.sort(key=lambda r: r["image"])
    with open(os.path.join(out, "captions.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "category", "title", "keywords"])
        for r in picked:
            shutil.copy2(os.path.join(src, r["image"]), os.path.join(out, r["image"]))
            writer.writerow([r["image"], r["category"].split("/")[0], r["title"].strip(), r["keywords"]])
    with open(os.path.join(out, "NOTICE.md"), "w", encoding="utf-8") as fh:
        fh.write(CLIPART_NOTICE.format(count=len(picked)))
    return os.path.join(out, "captions.csv")


def train(name: str, run: RunConfig, work: str) -> str:
    t0 = time.monotonic()

    def show(event) -> None:
        if type(event).__name__ == "EpochDone":
            extra = " ".join(f"{k} {v:.3f}" for k, v in event.metrics.items())
            print(
                f"  [{name}] epoch {event.epoch}: loss {event.train_loss:.4f} {extra} ({event.seconds:.1f} s)",
                flush=True,
            )

    result = engine.drive(engine.train(run, os.path.join(work, name)), show)
    print(f"  [{name}] trained in {time.monotonic() - t0:.0f} s", flush=True)
    return result.bundle


def install_bundle(bundle: str, name: str, collection) -> str:
    """Copy the bundle into resources/demo/bundles/NAME and index ``collection`` beside it."""
    out = os.path.join(DEMO, "bundles", name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copytree(bundle, out)
    index = engine.build_index(out, collection)
    relative_index_paths(index)
    return out


def relative_index_paths(index: str) -> None:
    """Rewrite the index's item paths relative to its folder (the engine resolves them back)."""
    from safetensors.torch import save_file

    tensors, items, meta = engine.load_index(index)
    base = os.path.dirname(os.path.abspath(index))
    for it in items:
        for key in ("image", "audio"):
            if it.get(key):
                it[key] = os.path.relpath(it[key], base).replace(os.sep, "/")
    meta = {**meta, "items": json.dumps(items), "dataset": os.path.relpath(meta["dataset"], base)}
    tmp = f"{index}.tmp"
    save_file({k: v.contiguous() for k, v in tensors.items()}, tmp, metadata=meta)
    os.replace(tmp, index)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=SHARED)
    parser.add_argument("--clipart-count", type=int, default=300)
    parser.add_argument("--digits-epochs", type=int, default=4)
    parser.add_argument("--clipart-epochs", type=int, default=12)
    parser.add_argument("--only", choices=["digits", "clipart"])
    args = parser.parse_args()
    if not os.path.isdir(args.shared):
        print(f"make_demo: {args.shared} not found (it holds the source datasets)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="mmstudio-demo-runs-")
    t0 = time.monotonic()
    if args.only in (None, "digits"):
        demo_digits = copy_digits(args.shared)
        spec = DatasetSpec(os.path.join(args.shared, "digits", "pairs.csv"), columns={"speaker": "ignore"})
        model = ModelSpec(
            modalities=("image", "text", "audio"),
            task="classify+align",
            dim=48,
            embed_dim=48,
            fusion="concat",
            text=TextSpec(vocab_size=200),
        )
        train_spec = TrainSpec(
            epochs=args.digits_epochs,
            batch_size=64,
            lr=2e-3,
            seed=0,
            val_split="none",
            device="cpu",
            precision="fp32",
            modality_dropout=0.3,
        )
        bundle = train("digits", RunConfig(spec, model, train_spec, name="demo digits"), work)
        install_bundle(bundle, "digits", demo_digits)
    if args.only in (None, "clipart"):
        demo_clipart = pick_clipart(args.shared, args.clipart_count)
        spec = DatasetSpec(
            os.path.join(args.shared, "clipart", "captions.csv"),
            columns=CLIPART_COLUMNS,
            split=SplitSpec(train=1.0, val=0.0, test=0.0, seed=0),
        )
        model = ModelSpec(
            modalities=("image", "text"),
            task="align",
            dim=96,
            embed_dim=96,
            image=ImageSpec(size=48),
            text=TextSpec(vocab_size=3000),
        )
        train_spec = TrainSpec(
            epochs=args.clipart_epochs,
            batch_size=128,
            lr=2e-3,
            seed=0,
            val_split="none",
            weight_decay=0.05,
            device="cpu",
            precision="fp32",
        )
        bundle = train("clipart", RunConfig(spec, model, train_spec, name="demo clip art"), work)
        # indexed as the Data panel opens it (columns guessed), so the Query panel uses this index
        install_bundle(bundle, "clipart", demo_clipart)
    shutil.rmtree(work, ignore_errors=True)
    print(f"demo written to {DEMO} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

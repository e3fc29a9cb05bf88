"""Query latency over a 10,000-item index on this machine's CPU, encoder included.

    python scripts/bench_query.py [--bundle DIR] [--queries 200]

Trains (once, cached under runs/) an image+audio+text ``classify+align`` bundle on
``../shared/datasets/digits``, indexes all 10,000 items beside it, then times text->image and
audio->image queries end to end (tokenise or decode + encode + rank the index + top 10) through
the same :class:`engine.QuerySession` the Query panel uses. Prints p50 and p95 in ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
DIGITS = os.path.join(SHARED, "digits", "pairs.csv")
DEFAULT_RUN = os.path.join(ROOT, "runs", "digits-aligned")


def aligned_digits_run(epochs: int = 5):
    """The run used for the Query acceptance checks: small CNNs, bag-of-words text, 64-d space."""
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

    spec = ModelSpec(
        modalities=("image", "audio", "text"), task="classify+align", dim=64, embed_dim=64, fusion="weighted_sum"
    )
    train = TrainSpec(epochs=epochs, batch_size=128, lr=2e-3, seed=0, val_split="none", device="cpu")
    return RunConfig(DatasetSpec(DIGITS), spec, train, name="digits-aligned")


def ensure_bundle(run_dir: str = DEFAULT_RUN, epochs: int = 5) -> str:
    """The bundle folder of ``run_dir``, training it first when it is not there."""
    from mmstudio import engine

    bundle = os.path.join(run_dir, "bundle")
    if os.path.isfile(os.path.join(bundle, "bundle.json")):
        return bundle

    def show(event) -> None:
        if type(event).__name__ in ("EpochDone", "RunFinished"):
            print(" ", event, flush=True)

    result = engine.drive(engine.train(aligned_digits_run(epochs), run_dir), show)
    return result.bundle


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", help="an aligned bundle (default: train one under runs/)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's choice)")
    args = parser.parse_args()
    if not os.path.isfile(DIGITS):
        print(f"digits dataset not found at {DIGITS}", file=sys.stderr)
        return 2
    import torch

    from mmstudio import engine
    from mmstudio.data import open_dataset

    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = args.bundle or ensure_bundle()
    dataset = open_dataset(DIGITS)
    session = engine.QuerySession(bundle)
    t0 = time.perf_counter()
    session.index(dataset)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    session.index(dataset)
    second = time.perf_counter() - t0
    print(
        f"bundle {bundle}\nindex: {len(session.items):,} items; first index {first:.1f} s "
        f"(building or loading the cache), second {second * 1000:.1f} ms; "
        f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPU cores"
    )
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    texts = [
        f"{pre}{words[i % 10]}"
        for i, pre in zip(range(args.queries), ["", "digit ", "the number ", "someone says "] * args.queries)
    ]
    clips = sorted({it.audio for it in dataset.subset("test") if it.audio})[: args.queries]
    for name, kind, values in (("text->image", "text", texts), ("audio->image", "audio", clips)):
        session.query(**{kind: values[0]}, target="image", top=10)  # warm-up
        times = []
        for value in values:
            t0 = time.perf_counter()
            session.query(**{kind: value}, target="image", top=10)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{name:13s} {len(times)} queries over {len(session.items):,} items: "
            f"p50 {percentile(times, 0.5):.2f} ms, p95 {percentile(times, 0.95):.2f} ms, "
            f"mean {statistics.fmean(times):.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

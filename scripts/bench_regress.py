"""The regress task on real and generated data: MAE/RMSE/R² beside the mean baseline.

    python scripts/bench_regress.py [--out DIR] [--epochs N]

1. ``prompts`` (audio + text -> ``seconds``, the clip's duration; shared data): the fused model
   and each modality alone, against predicting the training mean.
2. ``bright_count`` (made by ``scripts/make_bench_data.py``; image brightness and the number in
   a caption each carry half of ``price``): image+text against image alone and text alone, so
   the gain of fusing is visible.

Each row is its own model trained here on the train split and scored on the test split.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mmstudio import engine
from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPTS = os.path.join(HERE, "..", "..", "shared", "datasets", "prompts", "transcripts.csv")


def run_one(name: str, data: DatasetSpec, modalities: tuple[str, ...], epochs: int, out: str) -> dict:
    run = RunConfig(
        data,
        ModelSpec(modalities=modalities, task="regress", dim=64),
        TrainSpec(epochs=epochs, batch_size=32, lr=2e-3, seed=0, device="cpu", weight_decay=0.05),
        name=name,
    )
    start = time.monotonic()
    result = engine.drive(engine.train(run, os.path.join(out, name)), None)
    scores = engine.evaluate(result.bundle, data.path, split="test", ablation=False)
    row = {"name": name, "modalities": "+".join(modalities), "seconds": round(time.monotonic() - start), **scores}
    print(
        f"{name}: MAE {row['mae']:.3f} (baseline {row['baseline']['mae']:.3f}), R2 {row['r2']:.3f}, {row['seconds']} s",
        flush=True,
    )
    return row


def table(title: str, rows: list[dict]) -> list[str]:
    base = rows[0]["baseline"]
    lines = [
        f"### {title}",
        "",
        f"Test split, {rows[0]['items']} items. Baseline: always the training mean ({base['predicts']:.3f}).",
        "",
        "| model | MAE | RMSE | R² | train+eval |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| mean baseline | {base['mae']:.3f} | {base['rmse']:.3f} | {base['r2']:.3f} | – |",
    ]
    lines += [
        f"| {r['modalities']} | {r['mae']:.3f} | {r['rmse']:.3f} | {r['r2']:.3f} | {r['seconds']} s |" for r in rows
    ]
    return lines + [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/mmstudio-bench-regress")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--generated-epochs", type=int, default=15)
    args = parser.parse_args()
    lines: list[str] = []
    made = os.path.join(args.out, "data")
    subprocess.run(
        [sys.executable, os.path.join(HERE, "make_bench_data.py"), made, "--only", "bright_count"], check=True
    )
    bright = DatasetSpec(os.path.join(made, "bright_count", "items.csv"), columns={"price": "target"})
    rows = [
        run_one(f"bright-{'+'.join(m)}", bright, m, args.generated_epochs, args.out)
        for m in (("image", "text"), ("image",), ("text",))
    ]
    lines += table("bright_count: price from brightness (image) and a count (text)", rows)
    if os.path.isfile(PROMPTS):
        prompts = DatasetSpec(os.path.abspath(PROMPTS), columns={"seconds": "target"})
        rows = [
            run_one(f"prompts-{'+'.join(m)}", prompts, m, args.epochs, args.out)
            for m in (("text", "audio"), ("text",), ("audio",))
        ]
        lines += table("prompts: clip duration (seconds) from audio and transcript", rows)
    else:
        print(f"{PROMPTS}: not found; prompts rows skipped", file=sys.stderr)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

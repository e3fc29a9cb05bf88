"""The generate task on the shared data: trains each setting from scratch and prints its figures.

- digits (image -> caption, audio -> caption): the share of test items whose generated text
  names the right digit (as a word or a numeral, and no other digit);
- prompts (audio -> transcript): CER of the attention decoder and of CTC, against the most
  frequent training transcript;
- clipart (image -> title): BLEU and CIDEr-D against the nearest-neighbour caption.

    nice -n 5 python scripts/bench_generate.py [--only digits-image,prompts-ctc] [--epochs N]
        [--out results.json]

Reads ../shared/datasets (or --root). CPU-sized: small encoders at small input sizes; the run
folders go to a temporary directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmstudio import engine
from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TextSpec, TrainSpec

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CLIPART_COLUMNS = {"title": "text", "keywords": "ignore", "description": "ignore", "category": "ignore"}
PROMPTS_COLUMNS = {"group": "ignore", "seconds": "ignore"}

#: name -> (dataset folder/manifest, columns, model spec changes, epochs)
SETTINGS = {
    "digits-image": ("digits/pairs.csv", {}, {"modalities": ("image",)}, 6),
    "digits-audio": ("digits/pairs.csv", {}, {"modalities": ("audio",)}, 8),
    "prompts-transformer": ("prompts/transcripts.csv", PROMPTS_COLUMNS, {"modalities": ("audio",)}, 40),
    "prompts-ctc": ("prompts/transcripts.csv", PROMPTS_COLUMNS, {"modalities": ("audio",), "decoder": "ctc"}, 40),
    "clipart": ("clipart/captions.csv", CLIPART_COLUMNS, {"modalities": ("image",)}, 15),
}


def digits_named(text: str) -> set[str]:
    """The digits a text names, as words or numerals ("the number 7", "seven")."""
    found = {str(WORDS.index(w)) for w in re.findall(r"[a-z]+", text.lower()) if w in WORDS}
    return found | set(re.findall(r"\d", text))


def names_right_digit(examples: list[dict], labels: dict[str, str]) -> float:
    """Share of examples whose output names exactly the item's digit."""
    ok = [digits_named(e["generated"]) == {labels[e["id"]]} for e in examples]
    return sum(ok) / max(1, len(ok))


def run_setting(name: str, root: Path, out: Path, epochs: int | None, beam: int, image_size: int = 0) -> dict:
    path, columns, model, default_epochs = SETTINGS[name]
    spec = ModelSpec(task="generate", text=TextSpec(level="word"), **model)
    if image_size:
        spec = spec.replace(image=dataclasses.replace(spec.image, size=image_size))
    run = RunConfig(
        DatasetSpec(str(root / path), columns=columns),
        spec,
        TrainSpec(epochs=epochs or default_epochs, seed=0, early_stopping=0),
        name=name,
    )
    t0 = time.monotonic()
    result = engine.drive(engine.train(run, str(out / name)))
    train_s = time.monotonic() - t0
    report = engine.evaluate(result.bundle, run.dataset, split="test", beam=beam)
    row = {
        "setting": name,
        "epochs": result.epochs,
        "train_seconds": round(train_s, 1),
        "items": report["items"],
        "generation": report["generation"],
        "baselines": report.get("baselines", {}),
        "samples": [(e["reference"], e["generated"]) for e in report["examples"][:5]],
    }
    if name.startswith("digits"):
        ds = engine.load_dataset(run.dataset)
        labels = {it.id: it.label for it in ds.items}
        row["names_right_digit"] = round(names_right_digit(report["examples"], labels), 4)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--only", default=",".join(SETTINGS), help="comma-separated settings")
    parser.add_argument("--epochs", type=int, help="override every setting's epochs")
    parser.add_argument("--beam", type=int, default=1, help="beam width for the test decoding")
    parser.add_argument("--image-size", type=int, default=0, help="image side (default: from the images)")
    parser.add_argument("--out", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [s.strip() for s in args.only.split(",") if s.strip()]:
            row = run_setting(name, Path(args.root), Path(tmp), args.epochs, args.beam, args.image_size)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

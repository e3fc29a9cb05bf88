"""Small, real, learnable datasets written to disk for tests (no ../shared needed).

Each class k gets images with a distinct pattern, WAV tones at a distinct pitch, and a caption
naming the class, so a tiny model learns them in a few epochs and tests can check that it did.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SAMPLE_RATE = 8000


def class_image(k: int, i: int, size: int = 28) -> Image.Image:
    """A grey image whose bar orientation and position encode the class, with per-sample noise."""
    rng = np.random.default_rng(1000 * k + i)
    img = rng.integers(0, 40, (size, size)).astype(np.uint8)
    band = slice(2 + 2 * k % (size - 6), 6 + 2 * k % (size - 6))
    if k % 2 == 0:
        img[band, :] = 230
    else:
        img[:, band] = 230
    return Image.fromarray(img)


def class_tone(k: int, i: int, seconds: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(7000 + 1000 * k + i)
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    freq = 300.0 * (k + 1)
    wave = 0.4 * np.sin(2 * math.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def make_triplet_dataset(root: Path, classes: int = 3, per_class: int = 12, split: bool = True) -> Path:
    """Writes images/, audio/ and manifest.csv (id,label,image,audio,text[,split]) under ``root``."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(classes):
        for i in range(per_class):
            sid = f"s{k}_{i:03d}"
            class_image(k, i).save(root / "images" / f"{sid}.png")
            sf.write(root / "audio" / f"{sid}.wav", class_tone(k, i), SAMPLE_RATE, subtype="PCM_16")
            row = {
                "id": sid,
                "label": WORDS[k],
                "image": f"images/{sid}.png",
                "audio": f"audio/{sid}.wav",
                "text": f"the number {WORDS[k]}",
            }
            if split:
                row["split"] = "test" if i % 4 == 3 else "train"
            rows.append(row)
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def make_regress_dataset(root: Path, n: int = 60, seed: int = 0) -> Path:
    """Images whose brightness and texts whose number each carry half of a numeric ``score``
    (``score = 4 * brightness + count``): manifest.csv (id,image,text,score,split)."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        level, count = float(rng.random()), int(rng.integers(0, 5))
        pixels = np.clip(30 + 190 * level + rng.integers(-10, 10, (16, 16)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"r{i:03d}.png")
        rows.append(
            {
                "id": f"r{i:03d}",
                "image": f"images/r{i:03d}.png",
                "text": f"a box of {WORDS[count]} apples",
                "score": f"{4 * level + count:.4f}",
                "split": "test" if i % 5 == 4 else "train",
            }
        )
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest

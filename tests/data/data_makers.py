"""Writers of small real files for the data-layer tests: every image and audio format, text,
damaged copies of them, and a fingerprint of a folder tree to prove nothing was written.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from synth import SAMPLE_RATE, class_image, class_tone

#: extension -> Pillow format name: every image format the studio accepts.
IMAGE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
#: extension -> (soundfile format, subtype): every audio format the studio accepts.
AUDIO_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def write_image(path: Path, k: int = 0, i: int = 0, size: int = 28) -> Path:
    """A real, decodable image of class ``k`` in the format the extension names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = class_image(k, i, size)
    fmt = IMAGE_FORMATS[path.suffix.lower()]
    img.convert("RGB").save(path, format=fmt) if fmt == "JPEG" else img.save(path, format=fmt)
    return path


def write_audio(path: Path, k: int = 0, i: int = 0, seconds: float = 0.25) -> Path:
    """A real tone of class ``k`` in the format the extension names (MP3 and OGG included)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt, subtype = AUDIO_FORMATS[path.suffix.lower()]
    sf.write(str(path), class_tone(k, i, seconds), SAMPLE_RATE, format=fmt, subtype=subtype)
    return path


def write_text(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict], delimiter: str = ",") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_rows(manifest: Path) -> list[dict]:
    with open(manifest, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file to ``keep`` of its bytes, as an interrupted copy or download does."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
    return path


def noisy_image(path: Path, size: int = 64) -> Path:
    """An image of random pixels: it does not compress, so half the file is half the pixels."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format=IMAGE_FORMATS[path.suffix.lower()])
    return path


def bomb_png(path: Path, side: int = 20_000) -> Path:
    """A PNG declaring side x side pixels that is only kilobytes on disk (1 bit, all black),
    written chunk by chunk: making it never holds the pixels in memory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_bomb_bytes(side))
    return path


@functools.lru_cache(maxsize=4)
def _bomb_bytes(side: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed 1-bit pixels
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def fingerprint(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` (folders included) -> (size, mtime_ns, sha256): compare two
    fingerprints to prove a scan created, changed or deleted nothing."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root) + "/"] = (os.stat(full).st_mtime_ns,)
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.stat(full)
            with open(full, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            out[os.path.relpath(full, root)] = (st.st_size, st.st_mtime_ns, digest)
    return out


#: ../shared/datasets beside the checkout; absent in a user's fresh clone.
SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def shared_path(*parts: str) -> Path:
    """A path under the shared datasets, skipping the calling test when it is absent."""
    import pytest

    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared datasets are optional)")
    return path


def needs_shared(*parts: str):
    """Marks a test to skip when ../shared/datasets/<parts> is absent (a user's fresh clone)."""
    import pytest

    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is not present")

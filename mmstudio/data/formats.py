"""Reading and checking files: images with Pillow, audio with soundfile, text as UTF-8.

The ``check_*`` functions return a plain reason when a file is unusable, else ``None``; they
decode fully (so truncated files are caught) but never write anything.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import numpy as np

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
AUDIO_EXTS = frozenset({".wav", ".flac", ".ogg", ".mp3"})
TEXT_EXTS = frozenset({".txt"})
MANIFEST_EXTS = frozenset({".csv", ".tsv", ".jsonl", ".ndjson"})


def modality_of(path: str | os.PathLike) -> str | None:
    """ "image", "audio" or "text" from a file name's extension, else None."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in TEXT_EXTS:
        return "text"
    return None


def read_image(path: str | os.PathLike, max_pixels: int | None = 50_000_000):
    """Decode an image fully; returns a Pillow image in mode "L" or "RGB" (alpha dropped on white),
    turned upright by its EXIF orientation as viewers (and our thumbnails) show it.

    Raises ``PIL.Image.DecompressionBombError`` for an image over ``max_pixels`` (None: no limit).
    """
    from PIL import Image, ImageOps

    with _open_image(path, max_pixels) as raw:
        raw.load()
        img = ImageOps.exif_transpose(raw)  # a camera's portrait photo is stored sideways
        if img.mode in ("L", "RGB"):
            return img if img is not raw else img.copy()  # exif_transpose already copied
        if img.mode in ("RGBA", "LA", "P", "PA"):
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        if img.mode in ("I;16", "I", "F", "1"):
            return img.convert("L")
        return img.convert("RGB")


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode audio to mono float32 in [-1, 1] and its sample rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)


def read_text(path: str | os.PathLike) -> str:
    """Read UTF-8 text (a BOM is allowed); raises UnicodeDecodeError on anything else."""
    with open(path, "rb") as fh:
        return fh.read().decode("utf-8-sig").strip()


_OPEN_LOCK = threading.Lock()


def _open_image(path: str | os.PathLike, max_pixels: int | None):
    """Open an image (its header only) under our pixel limit instead of Pillow's global one.

    Pillow's limit is process-wide state that warns below twice its value and raises above; it is
    lifted only for the header read, under a lock, so threads reading images never see another
    thread's setting, and our own limit is applied to the size the header declares.
    """
    from PIL import Image

    with _OPEN_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            img = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    width, height = img.size
    if max_pixels and width * height > max_pixels:
        img.close()
        raise Image.DecompressionBombError(
            f"image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,} (possible decompression bomb)"
        )
    return img


def check_image(path: str, max_pixels: int = 50_000_000) -> str | None:
    """Why the image at ``path`` can't be used, or None. Decodes it fully to catch truncation."""
    from PIL import Image, UnidentifiedImageError

    reason = _check_file(path)
    if reason:
        return reason
    try:
        with _open_image(path, max_pixels) as img:
            img.load()
    except UnidentifiedImageError:
        return "not a readable image (unknown or corrupt format)"
    except Image.DecompressionBombError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - Pillow's plugins raise OSError, SyntaxError,
        # ValueError, EOFError, struct.error, IndexError... on damaged files; a check never raises
        text = str(exc)
        if "truncated" in text.lower() or "broken data stream" in text.lower():
            return "image is truncated"
        return f"image could not be decoded: {text or type(exc).__name__}"
    return None


def check_audio(path: str) -> str | None:
    """Why the audio file at ``path`` can't be used, or None. Decodes it in blocks (so a long
    recording is checked in bounded memory) to catch truncated and corrupt data."""
    import soundfile as sf

    reason = _check_file(path)
    if reason:
        return reason
    if path.lower().endswith(".wav"):
        reason = _wav_truncation(path)
        if reason:
            return reason
    frames = 0
    try:
        with sf.SoundFile(path) as fh:
            for block in fh.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    return "audio holds NaN or infinite samples"
                frames += block.shape[0]
    except Exception as exc:  # noqa: BLE001 - soundfile raises LibsndfileError, RuntimeError...
        return _sndfile_reason(exc, path)
    if frames == 0:
        return "audio has no samples"
    return None


#: libsndfile's words -> plain ones (it says "File does not exist" of a file that does).
_SNDFILE_REASONS = (
    (
        ("format not recognised", "does not exist or is not a regular file"),
        "not a readable audio file (unknown or corrupt format)",
    ),
    (
        ("file is malformed", "contains data in an unimplemented format", "unknown format", "unknown error"),
        "audio file is malformed",
    ),
    (("lost sync", "psf_fseek", "unexpected end"), "audio data is corrupt or truncated"),
)


def _sndfile_reason(exc: Exception, path: str) -> str:
    """A plain reason for a soundfile error, without the "Error opening '<path>':" prefix (the
    path is shown beside the reason)."""
    text = str(exc).strip() or type(exc).__name__
    prefix = f"Error opening {path!r}:"
    text = text[len(prefix) :].strip() if text.startswith(prefix) else text
    lower = text.lower()
    for fragments, plain in _SNDFILE_REASONS:
        if any(f in lower for f in fragments):
            return plain
    return f"audio could not be decoded: {text}"


def check_text_file(path: str) -> tuple[str | None, str | None]:
    """(text, None) for a usable UTF-8 text file, else (None, reason)."""
    reason = _check_file(path)
    if reason:
        return None, reason
    try:
        text = read_text(path)
    except UnicodeDecodeError as exc:
        return None, f"text is not UTF-8 (bad byte at offset {exc.start})"
    except OSError as exc:
        return None, f"file cannot be read: {exc.strerror or exc}"
    if not text:
        return None, "text is empty"
    return text, None


def _check_file(path: str) -> str | None:
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"file cannot be read: {exc.strerror or exc}"
    except ValueError:  # a NUL character in a path read from a manifest
        return "not a valid file name"
    if os.path.isdir(path):
        return "is a folder, not a file"
    if size == 0:
        return "file is empty (0 bytes)"
    if not os.access(path, os.R_OK):
        return "file cannot be read: permission denied"
    return None


def _wav_truncation(path: str) -> str | None:
    """libsndfile quietly reads a cut-off WAV; compare the data chunk's declared size to the file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                return None  # not RIFF/WAVE: let soundfile judge it
            endian = "<" if head[:4] == b"RIFF" else ">"
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return "audio is truncated (no data chunk)"
                cid, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
                if cid == b"data":
                    remaining = Path(path).stat().st_size - fh.tell()
                    if size != 0xFFFFFFFF and remaining < size:
                        return f"audio is truncated ({remaining:,} of {size:,} data bytes present)"
                    return None
                fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError as exc:
        return f"file cannot be read: {exc}"

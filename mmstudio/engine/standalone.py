"""Run an exported MMStudio model without MMStudio: numpy preprocessing + onnxruntime.

This file is copied into every export package as ``predict.py``. It needs numpy, Pillow and
soundfile (and onnxruntime to predict), never torch or mmstudio, and reads every parameter from
the package's ``preprocess.json`` and ``tokenizer.json``. It reproduces the studio's
preprocessing: images decoded to grey or RGB (EXIF orientation applied, alpha on white) and
resized bilinearly with antialiasing; audio mixed to mono, resampled with torchaudio's windowed
sinc, centre-cropped or end-padded, then a float16 log-mel (or MFCC) map as the studio caches
it; text NFKC-normalised, split into words (or characters, with word pairs when the model reads
them) or into subword pieces by the BPE merges of the package's ``tokenizer.json``, and mapped
to ids. The subword pieces are computed here without the `tokenizers` library, so numpy is all
the text needs.

    python predict.py --image digit.png --text "a seven" [--audio say.wav] [--top 3]

A modality left out is masked as missing, as in the studio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import unicodedata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load_spec(folder: str = HERE) -> dict:
    with open(os.path.join(folder, "preprocess.json"), encoding="utf-8") as fh:
        spec = json.load(fh)
    if spec.get("format") != "mmstudio.preprocess" or spec.get("version") != 1:
        raise ValueError(f"{folder}/preprocess.json: not an MMStudio preprocessing file of version 1")
    tok = spec.get("text", {}).get("tokenizer_file")
    if tok:
        if os.path.basename(tok) != tok:
            raise ValueError(f"{folder}/preprocess.json: the tokenizer must be a file in the package")
        with open(os.path.join(folder, tok), encoding="utf-8") as fh:
            spec["text"]["tokenizer"] = json.load(fh)
    return spec


# ---- image ---------------------------------------------------------------------------------
def image_input(path: str, spec: dict) -> np.ndarray:
    """uint8 ``(C, S, S)``, as the studio's cache holds it."""
    from PIL import Image, ImageOps

    p = spec["image"]
    with Image.open(path) as opened:
        img: Image.Image = ImageOps.exif_transpose(opened)
        if img.mode in ("RGBA", "LA", "P", "PA"):
            rgba = img.convert("RGBA")
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        elif img.mode in ("I;16", "I", "F", "1"):
            img = img.convert("L")
        img = img.convert("L" if p["channels"] == 1 else "RGB")
        size = (p["size"], p["size"])
        if img.size != size:
            img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=None)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1).copy()


# ---- audio ---------------------------------------------------------------------------------
def audio_input(path: str, spec: dict) -> np.ndarray:
    """float16 ``(n_mels, frames)``, as the studio caches it (the model's audio input dtype)."""
    import soundfile as sf

    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return audio_features(fit_wave(data.mean(axis=1), int(rate), spec["audio"]), spec["audio"])


def fit_wave(wave: np.ndarray, rate: int, a: dict) -> np.ndarray:
    if rate != a["sample_rate"]:
        wave = resample(wave, rate, a["sample_rate"], a["resample"]["lowpass_filter_width"], a["resample"]["rolloff"])
    n = a["samples"]
    if wave.size > n:
        start = (wave.size - n) // 2
        wave = wave[start : start + n]
    elif wave.size < n:
        wave = np.pad(wave, (0, n - wave.size))
    return wave.astype(np.float32)


def resample(wave: np.ndarray, orig: int, new: int, width_zeros: int = 6, rolloff: float = 0.99) -> np.ndarray:
    """torchaudio.functional.resample's windowed-sinc (Hann) method."""
    gcd = math.gcd(orig, new)
    orig, new = orig // gcd, new // gcd
    base = min(orig, new) * rolloff
    width = math.ceil(width_zeros * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None] / orig
    t = (np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx) * base
    t = np.clip(t, -width_zeros, width_zeros)
    window = np.cos(t * math.pi / width_zeros / 2) ** 2
    t *= math.pi
    safe = np.where(t == 0, 1.0, t)
    kernel = (np.where(t == 0, 1.0, np.sin(safe) / safe) * window * (base / orig)).astype(np.float32)
    padded = np.pad(wave.astype(np.float32), (width, width + orig))
    steps = (padded.size - kernel.shape[1]) // orig + 1
    frames = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape[1])[::orig][:steps]
    out = (frames @ kernel.T).reshape(-1)
    return out[: math.ceil(new * wave.size / orig)]


def audio_features(wave: np.ndarray, a: dict) -> np.ndarray:
    s = a["stft"]
    n_fft, hop = s["n_fft"], s["hop_length"]
    x = np.pad(wave, (n_fft // 2, n_fft // 2), mode="reflect") if s["center"] else wave
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    window = 0.5 - 0.5 * np.cos(2 * math.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** s["power"]  # (frames, n_fft//2+1)
    mel = (power @ mel_filters(a)).T  # (n_mels, frames)
    if a["features"] == "logmel":
        out = np.log(mel + a["log_offset"])
    else:
        m = a["mfcc"]
        db = 10.0 * np.log10(np.maximum(mel, m["amin"]))
        db = np.maximum(db, db.max() - m["top_db"])
        out = (db.T @ dct_matrix(m["n_mfcc"], a["mel"]["n_mels"])).T
    return out.astype(np.float16)


def mel_filters(a: dict) -> np.ndarray:
    """``(n_fft//2+1, n_mels)`` triangular HTK-scale filters, no area normalisation."""
    m, n_fft, rate = a["mel"], a["stft"]["n_fft"], a["sample_rate"]
    freqs = np.linspace(0, rate // 2, n_fft // 2 + 1)
    to_mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)  # noqa: E731
    pts = 700.0 * (10 ** (np.linspace(to_mel(m["f_min"]), to_mel(m["f_max"]), m["n_mels"] + 2) / 2595.0) - 1.0)
    diff = pts[1:] - pts[:-1]
    slopes = pts[None] - freqs[:, None]
    down, up = -slopes[:, :-2] / diff[:-1], slopes[:, 2:] / diff[1:]
    return np.maximum(0.0, np.minimum(down, up))


def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """``(n_mels, n_mfcc)`` orthonormal DCT-II, as torchaudio.functional.create_dct."""
    n, k = np.arange(n_mels), np.arange(n_mfcc)[:, None]
    dct = np.cos(math.pi / n_mels * (n + 0.5) * k)
    dct[0] *= 1.0 / math.sqrt(2.0)
    return (dct * math.sqrt(2.0 / n_mels)).T


# ---- text ----------------------------------------------------------------------------------
def text_input(text: str, spec: dict) -> np.ndarray:
    """int64 ``(max_tokens,)`` ids, 0-padded (an empty text is one unknown token)."""
    t = spec["text"]
    tok = t["tokenizer"]
    if "model" in tok:  # a subword model (the `tokenizers` library's tokenizer.json)
        ids, unk = bpe_ids(text, tok), tok["model"]["vocab"].get(tok["model"].get("unk_token") or "<unk>", 1)
        pad = 0
    else:
        ids, unk, pad = word_ids(text, tok, t["max_tokens"]), tok["unk_id"], tok["pad_id"]
    ids = ids[: t["max_tokens"]] or [unk]
    out = np.full(t["max_tokens"], pad, dtype=np.int64)
    out[: len(ids)] = ids
    return out


def word_ids(text: str, tok: dict, max_tokens: int) -> list[int]:
    """Words (or characters) and, with ``ngrams`` 2, adjacent word pairs sharing the budget half
    and half, as the studio's word tokenizer does."""
    index = {w: i for i, w in enumerate(tok["vocab"])}
    text = unicodedata.normalize("NFKC", text or "")
    text = text.lower() if tok.get("lower", True) else text
    words = list(text) if tok["level"] == "char" else re.findall(tok["pattern"], text, re.UNICODE)
    if tok.get("ngrams", 1) >= 2 and tok["level"] != "char":
        pairs = [f"{a} {b}" for a, b in zip(words, words[1:])]
        head = min(len(words), max(1, max_tokens // 2))
        words = words[:head] + pairs[: max_tokens - head]
    return [index.get(w, tok["unk_id"]) for w in words]


def bpe_ids(text: str, tok: dict) -> list[int]:
    """A BPE tokenizer.json applied by hand: NFKC and lower case, the words its pre-tokenizer's
    pattern finds, then each word's characters merged pair by pair, lowest merge rank first."""
    model = tok["model"]
    vocab, prefix = model["vocab"], model.get("continuing_subword_prefix") or ""
    unk = vocab.get(model.get("unk_token") or "<unk>", 1)
    ranks = {tuple(m.split(" ") if isinstance(m, str) else m): r for r, m in enumerate(model["merges"])}
    pattern = tok["pre_tokenizer"]["pattern"]["Regex"]
    ids: list[int] = []
    for word in re.findall(pattern, unicodedata.normalize("NFKC", text or "").lower(), re.UNICODE):
        parts = [c if i == 0 else prefix + c for i, c in enumerate(word)]
        while len(parts) > 1:
            rank, i = min((ranks.get(pair, math.inf), i) for i, pair in enumerate(zip(parts, parts[1:])))
            if rank == math.inf:
                break
            parts[i : i + 2] = [parts[i] + parts[i + 1][len(prefix) :]]
        ids += [vocab.get(p, unk) for p in parts]
    return ids


# ---- a batch -------------------------------------------------------------------------------
def make_batch(samples: list[dict], spec: dict) -> dict[str, np.ndarray]:
    """The model's named inputs for ``samples`` (dicts with optional image/audio paths and text):
    one input per modality plus ``mask_<modality>``, False where a sample lacks it."""
    feeds: dict[str, np.ndarray] = {}
    for m in spec["modalities"]:
        rows, mask = [], []
        for s in samples:
            given = s.get(m) is not None and (m == "text" or s.get(m) != "")
            mask.append(given)
            if m == "image":
                rows.append(image_input(s[m], spec) if given else np.zeros(spec["inputs"][m]["shape"][1:], np.uint8))
            elif m == "audio":
                rows.append(audio_input(s[m], spec) if given else np.zeros(spec["inputs"][m]["shape"][1:], np.float16))
            else:
                rows.append(text_input(s.get(m) or "", spec))
        feeds[m] = np.stack(rows)
        feeds[f"mask_{m}"] = np.array(mask, dtype=bool)
    return feeds


def predict(samples: list[dict], folder: str = HERE) -> list[dict]:
    """Class and probability per sample, from ``model.onnx`` in ``folder`` (a regress model:
    ``{"value": number}``, already in the target's units)."""
    import onnxruntime as ort

    spec = load_spec(folder)
    session = ort.InferenceSession(os.path.join(folder, "model.onnx"), providers=["CPUExecutionProvider"])
    if "value" in spec["outputs"]:
        values = session.run(["value"], make_batch(samples, spec))[0]
        return [{"value": float(v)} for v in values]
    logits = session.run(["logits"], make_batch(samples, spec))[0].astype(np.float64)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    names = spec["class_names"]
    return [
        {"label": names[int(p.argmax())], "probability": float(p.max()), "probabilities": p.tolist()} for p in probs
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict with this exported MMStudio model.")
    for m in ("image", "audio", "text"):
        parser.add_argument(f"--{m}")
    parser.add_argument("--top", type=int, default=3)
    args = parser.parse_args(argv)
    (result,) = predict([{"image": args.image, "audio": args.audio, "text": args.text}])
    if "value" in result:
        print(f"{result['value']:.6g}")
        return 0
    names = load_spec()["class_names"]
    for i in np.argsort(result["probabilities"])[::-1][: args.top]:
        print(f"{names[i]}\t{result['probabilities'][i]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

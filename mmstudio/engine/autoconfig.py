"""Automatic settings: every run field left at ``0``/"auto" chosen from the data, with the reason.

One function, :func:`resolve`, serves the trainer, the CLI and the Model panel, so the same data
always gets the same settings wherever it is opened. A field the user set is never changed.

The rules, and where they come from:

- batch size: enough optimiser steps per epoch (about 50) on a small set, capped for memory;
- learning rate: 3e-3 for AdamW at batch 64, scaled by the square root of the batch size (the
  square-root rule for Adam-family optimisers, Malladi et al. 2022);
- epochs: about 1,000 steps in all, 8 to 40 epochs, with early stopping on the validation split
  (patience half the epochs, at least 5) so a long budget costs nothing once the model stops improving;
- image size: the images' own size when small (28 stays 28), else 64 on a CPU, 128 on a GPU;
- text: pairs of words (TF-IDF-weighted bag of unigrams and bigrams) for the ``ngram`` and ``bag``
  encoders; subword pieces (BPE trained on the training texts with the ``tokenizers`` library,
  :mod:`.subword`) for the sequence encoders (GRU, LSTM, transformer); the token budget is the
  longest training text for an order-free encoder (a cut text loses words TF-IDF would weigh), the
  95th percentile of the lengths for a sequence encoder, in those tokens (capped at 256); the vocabulary
  is every token and pair of the training texts (capped at 50,000), or the pieces BPE learns from
  pairs seen at least twice (at most 8,000). The tokenizer built here to count is the one the
  trainer then uses (:func:`mmstudio.engine.tokenizer.build_tokenizer` keeps it);
- pretrained encoders (:mod:`.autopretrained`): chosen for small image sets when their weights
  are on this machine; their images kept at up to 224 px; word vectors set the embedding size;
- audio: the 95th percentile of the training clips' durations (capped at 10 s), sampled at the
  clips' own rate up to 16 kHz.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

from mmstudio.config import RunConfig
from mmstudio.engine.autopretrained import audio_rate, image_size_limit, pick_image_encoder, text_vectors

#: Text encoders that read a bag of tokens (order-free): they get word pairs too.
BAG_ENCODERS = ("ngram", "bag")
MAX_TOKENS_CAP = 256
VOCAB_CAP = 50_000
#: Subword pieces: enough for a small corpus's words and their common parts.
SUBWORD_CAP = 8000
TARGET_STEPS = 1000
#: A text-only ``ngram`` classifier's L2 penalty is this over the number of training texts
#: (scikit-learn's logistic regression at C = 10: 1 / (C n)); its table learns at 1.5x the rate.
L2_PER_ITEM = 0.1
LINEAR_LR_SCALE = 1.5
LINEAR_OPTIONS = ("linear", "sublinear", "l2", "lr_scale")
STEPS_PER_EPOCH = 50


@dataclass(frozen=True)
class AutoSetting:
    """One automatically chosen value: ``field`` is its run.toml path (``train.batch_size``)."""

    field: str
    value: Any
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "reason": self.reason}


def resolve(
    run: RunConfig, dataset: Any, device: str = "cpu", pick_encoder: bool = True
) -> tuple[RunConfig, list[AutoSetting]]:
    """``run`` with every automatic field chosen from ``dataset``'s training split, and why.

    ``device`` is the device type the run trains on ("cpu" or "cuda"): it bounds sizes.
    ``pick_encoder``: an image encoder left at its default may become a pretrained one
    (:mod:`.autopretrained`); False when the user named it.
    """
    from mmstudio.engine.data import choose_modalities, training_items

    train = [it for it in dataset.subset("train")] or list(dataset.items)
    mods = choose_modalities(run.model, dataset)
    # the texts the trainer builds its tokenizer from (the validation share carved out)
    fitted = training_items(dataset, run.train.val_split, run.train.seed)[0] if "text" in mods else []
    chosen: list[AutoSetting] = []
    model, tr = run.model, run.train
    if "image" in mods:
        image = model.image
        if pick_encoder:
            image = pick_image_encoder(image, sum(1 for it in train if it.image), device, chosen)
        model = model.replace(image=_image(image, train, device, chosen))
    if model.task == "generate" and not model.text.ngrams:  # a decoder writes words, never word pairs
        model = model.replace(text=dataclasses.replace(model.text, ngrams=1))
    if "text" in mods:
        model = model.replace(text=_text(model.text, fitted or train, chosen))
        if model.task == "classify" and tuple(mods) == ("text",):
            model = model.replace(text=_linear_text(model.text, len(fitted or train), chosen))
    if "audio" in mods:
        model = model.replace(audio=_audio(model.audio, train, chosen))
    tr = _training(tr, len(train), device, chosen)
    return run.replace(model=model, train=tr), chosen


def _training(tr, n: int, device: str, chosen: list[AutoSetting]):
    cap = 256 if device == "cuda" else 128
    changes: dict[str, Any] = {}
    batch = tr.batch_size
    if not batch:
        batch = int(min(cap, max(16, 2 ** round(math.log2(max(1, n / STEPS_PER_EPOCH))))))
        changes["batch_size"] = batch
        chosen.append(
            AutoSetting(
                "train.batch_size", batch, f"{n:,} training items: about {math.ceil(n / batch)} steps per epoch"
            )
        )
    if not tr.lr:
        lr = round(min(6e-3, max(1e-3, 3e-3 * math.sqrt(batch / 64))), 5)
        changes["lr"] = lr
        chosen.append(AutoSetting("train.lr", lr, f"AdamW at batch {batch}: 3e-3 x sqrt({batch}/64)"))
    if not tr.epochs:
        steps = max(1, math.ceil(n / batch))
        wanted = math.ceil(TARGET_STEPS / steps)
        epochs = int(min(40, max(8, wanted)))
        changes["epochs"] = epochs
        reason = f"{epochs * steps:,} steps at {steps} per epoch" + (
            " (40 epochs at most)" if wanted > 40 else " (8 epochs at least)" if wanted < 8 else ""
        )
        if tr.early_stopping == 0 and tr.val_split != "none":
            patience = max(5, epochs // 2)
            changes["early_stopping"] = patience
            reason += f"; stops early after {patience} epochs without a better validation score"
        chosen.append(AutoSetting("train.epochs", epochs, reason))
    return dataclasses.replace(tr, **changes)


def _image(spec, items: list, device: str, chosen: list[AutoSetting]):
    if spec.size:
        return spec
    sides = image_sides(items)
    side = sorted(sides)[len(sides) // 2] if sides else 64
    pretrained_limit = image_size_limit(spec)
    limit = pretrained_limit or (128 if device == "cuda" else 64)
    size = max(16, min(limit, side) // 4 * 4)
    bound = (
        f"{spec.encoder}'s weights see {limit} px" if pretrained_limit else f"{limit} px keeps a {device.upper()} fast"
    )
    why = f"the images are about {side} px" + (f"; {bound}" if side > limit else "")
    chosen.append(AutoSetting("model.image.size", size, why))
    return dataclasses.replace(spec, size=size)


def text_level(spec) -> str:
    """How ``spec`` (a TextSpec) cuts text into tokens, "auto" resolved for its encoder."""
    if spec.level != "auto":
        return spec.level
    if spec.encoder in BAG_ENCODERS or spec.options.get("vectors"):  # word vectors are for words
        return "word"
    return "subword"


def _text(spec, items: list, chosen: list[AutoSetting]):
    from mmstudio.engine.tokenizer import build_tokenizer

    spec = text_vectors(spec, chosen)
    changes: dict[str, Any] = {}
    level = text_level(spec)
    if spec.level == "auto":
        changes["level"] = level
        why = "whole words, as the word vectors are" if spec.options.get("vectors") else _LEVEL_REASONS[level]
        chosen.append(AutoSetting("model.text.level", level, why))
    ngrams = spec.ngrams or (2 if spec.encoder in BAG_ENCODERS and level == "word" else 1)
    if not spec.ngrams:
        changes["ngrams"] = ngrams
        chosen.append(
            AutoSetting(
                "model.text.ngrams",
                ngrams,
                "words and word pairs for an order-free encoder"
                if ngrams == 2
                else "single tokens, in order, for a sequence encoder",
            )
        )
    texts = [it.text for it in items if it.text]
    if spec.max_tokens and spec.vocab_size:
        return dataclasses.replace(spec, **changes)
    cap = SUBWORD_CAP if level == "subword" else VOCAB_CAP
    tok = build_tokenizer(texts, level, spec.vocab_size or cap, ngrams)  # the trainer reuses it
    if not spec.max_tokens:
        tokens, why = _token_budget(sorted(tok.token_counts(texts)) or [8], spec.encoder in BAG_ENCODERS)
        changes["max_tokens"] = tokens
        chosen.append(AutoSetting("model.text.max_tokens", tokens, why))
    if not spec.vocab_size:
        changes["vocab_size"] = len(tok)
        chosen.append(
            AutoSetting("model.text.vocab_size", len(tok), _vocab_reason(len(tok), len(texts), level, ngrams))
        )
    return dataclasses.replace(spec, **changes)


def _linear_text(spec, n: int, chosen: list[AutoSetting]):
    """A classifier of text alone reading ``ngram`` (its own table, no word vectors): the model
    TF-IDF + logistic regression is, a linear map of the L2-normalised sublinear TF-IDF vector
    with an L2 penalty. On small text sets it beats the two-layer map, which overfits before the
    validation score settles. An option the user set is kept (then nothing here is chosen)."""
    if spec.encoder != "ngram" or spec.options.get("vectors") or "linear" in spec.options:
        return spec
    l2 = float(f"{L2_PER_ITEM / max(1, n):.3g}")
    options = {
        "linear": True,
        "sublinear": True,
        "l2": l2,
        "lr_scale": LINEAR_LR_SCALE,
        **spec.options,
    }  # the user's win
    chosen.append(
        AutoSetting(
            "model.text.options.linear",
            True,
            "text alone: a linear map of the sublinear TF-IDF vector (the model TF-IDF + logistic regression "
            f"is), its word table learning at {LINEAR_LR_SCALE:g}x the rate",
        )
    )
    if "l2" not in spec.options:
        why = f"L2 penalty {L2_PER_ITEM:g} / {n:,} training texts on the word table: logistic regression's at C = 10"
        chosen.append(AutoSetting("model.text.options.l2", l2, why))
    return dataclasses.replace(spec, options=options)


def _token_budget(counts: list[int], order_free: bool) -> tuple[int, str]:
    """Tokens kept per text, from the training texts' sorted token counts, and why. An order-free
    encoder keeps every token of every text (a longer row costs it little, and a cut text loses
    words a TF-IDF model would weigh); a sequence encoder keeps the 95th percentile (its cost
    grows with the length)."""
    if order_free:
        top, said = counts[-1], f"the longest training text has {counts[-1]} tokens"
    else:
        top = counts[min(len(counts) - 1, int(0.95 * len(counts)))]
        said = f"95% of the training texts have at most {top} tokens"
    tokens = int(min(MAX_TOKENS_CAP, max(8, top)))
    bound = f" (capped at {MAX_TOKENS_CAP})" if top > MAX_TOKENS_CAP else " (8 at least)" if top < 8 else ""
    return tokens, said + bound


_LEVEL_REASONS = {
    "word": "whole words (and word pairs) for an order-free encoder",
    "subword": "pieces learnt from the training texts (BPE) for a sequence encoder: rare and new words "
    "are read as known parts, not as one unknown token",
}


def _vocab_reason(size: int, n: int, level: str, ngrams: int) -> str:
    if level == "subword":
        return f"the subword pieces of the {n:,} training texts (pairs seen twice or more, at most {SUBWORD_CAP:,})"
    return (
        f"every token of the {n:,} training texts"
        + (" and their word pairs" if ngrams == 2 else "")
        + (f", capped at {VOCAB_CAP:,}" if size >= VOCAB_CAP else "")
    )


def _audio(spec, items: list, chosen: list[AutoSetting]):
    if spec.seconds and spec.sample_rate:
        return spec
    infos = clip_infos(items)
    changes: dict[str, Any] = {}
    if not spec.seconds:
        lengths = sorted(d for d, _ in infos) or [1.0]
        p95 = lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))]
        seconds = round(min(10.0, max(0.5, p95)), 1)
        changes["seconds"] = seconds
        chosen.append(
            AutoSetting(
                "model.audio.seconds",
                seconds,
                f"95% of the training clips last at most {p95:.1f} s" + (" (capped at 10 s)" if p95 > 10 else ""),
            )
        )
    if not spec.sample_rate:
        rates = sorted(r for _, r in infos) or [16000]
        rate = audio_rate(spec) or int(min(16000, rates[len(rates) // 2]))
        changes["sample_rate"] = rate
        chosen.append(
            AutoSetting(
                "model.audio.sample_rate",
                rate,
                f"the clips are recorded at {rates[len(rates) // 2]:,} Hz"
                + ("; 16 kHz keeps speech and costs less" if rate < rates[len(rates) // 2] else ""),
            )
        )
    return dataclasses.replace(spec, **changes)


def image_sides(items: list, probe: int = 64) -> list[int]:
    """The longer side of up to ``probe`` training images, spread over the set (headers only)."""
    from PIL import Image

    paths = [it.image for it in items if it.image][:: max(1, len(items) // probe)][:probe]
    sides = []
    for path in paths:
        try:
            with Image.open(path) as img:
                sides.append(max(img.size))
        except Exception:  # noqa: BLE001 - unreadable: the data layer reports it
            continue
    return sides


def clip_infos(items: list, probe: int = 200) -> list[tuple[float, int]]:
    """(seconds, sample rate) of up to ``probe`` training clips, from their headers."""
    import soundfile

    paths = [it.audio for it in items if it.audio]
    paths = paths[:: max(1, len(paths) // probe)][:probe]
    out = []
    for path in paths:
        try:
            info = soundfile.info(path)
            out.append((info.frames / max(1, info.samplerate), int(info.samplerate)))
        except Exception:  # noqa: BLE001 - unreadable: the data layer reports it
            continue
    return out


def with_text_encoder(spec, encoder: str):
    """``spec`` (a TextSpec) reading text with ``encoder``: another encoder reads it differently
    (subword pieces or words, word pairs or not), so the tokenisation, pairs and vocabulary chosen
    for the old one are chosen again (a tokenisation other than the old encoder's own is kept), and
    the ``ngram`` options :func:`_linear_text` sets are dropped (chosen again if it comes back)."""
    if encoder == spec.encoder:
        return spec
    level = "auto" if spec.level == text_level(dataclasses.replace(spec, level="auto")) else spec.level
    options = {k: v for k, v in spec.options.items() if k not in LINEAR_OPTIONS}  # ngram's own
    return dataclasses.replace(spec, encoder=encoder, level=level, ngrams=0, vocab_size=0, options=options)


def with_placeholders(run: RunConfig) -> RunConfig:
    """``run`` with typical values in its automatic fields, for estimates made before any data
    is open (parameter count, memory): never used to train."""
    m, tr = run.model, run.train
    image = dataclasses.replace(m.image, size=m.image.size or 64)
    text = dataclasses.replace(
        m.text,
        max_tokens=m.text.max_tokens or 64,
        vocab_size=m.text.vocab_size or 5000,
        ngrams=m.text.ngrams or (2 if m.text.encoder in BAG_ENCODERS else 1),
        level=text_level(m.text),
    )
    audio = dataclasses.replace(m.audio, seconds=m.audio.seconds or 1.0, sample_rate=m.audio.sample_rate or 16000)
    train = dataclasses.replace(tr, batch_size=tr.batch_size or 64, epochs=tr.epochs or 10, lr=tr.lr or 3e-3)
    return run.replace(model=m.replace(image=image, text=text, audio=audio), train=train)


#: The facade's name for :func:`resolve`.
resolve_settings = resolve


#: The most decoding threads the automatic setting uses (beyond it the disk, not the CPU, waits).
DECODE_THREADS_MAX = 8


def decode_threads(setting: int | None = None) -> int:
    """Threads that decode image and audio files before training: the ``MMSTUDIO_WORKERS``
    setting (Settings ▸ Data-loading workers) when set, else one per CPU, at most
    :data:`DECODE_THREADS_MAX` (more threads than CPUs only queue for them). ``setting`` 0 asks
    for the automatic number."""
    chosen = int(os.environ.get("MMSTUDIO_WORKERS") or 0) if setting is None else setting
    return chosen or min(DECODE_THREADS_MAX, os.cpu_count() or 1)


def decode_threads_text() -> str:
    """The automatic number said plainly, for the settings ("2: one per CPU")."""
    n, cpus = decode_threads(0), os.cpu_count() or 1
    return f"{n}: one per CPU" if n == cpus else f"{n}: one per CPU, at most {DECODE_THREADS_MAX}"

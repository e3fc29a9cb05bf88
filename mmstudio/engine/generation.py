"""The ``generate`` task end to end: texts from a model's inputs, their scores, and the
figures a user compares them with.

- :func:`describe`: the texts (best first, with scores) for decoded inputs: the Query panel's
  Describe mode and ``predict``.
- :func:`validation_scores`: each epoch's figures, on token ids (no tokenizer needed):
  ``token_accuracy`` (1 - token error rate, the run's headline), ``exact`` and the
  teacher-forced ``loss``.
- :func:`evaluate_generation`: ``eval``'s report: BLEU, CIDEr-D, CER, WER, exact match
  (:mod:`.textmetrics`), per-item examples sortable by error, and two baselines
  (:mod:`.textbaselines`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

from mmstudio.engine.beam import Hypothesis, beam_search, ctc_beam, ctc_greedy, greedy
from mmstudio.engine.cache import Features
from mmstudio.engine.textmetrics import error_rate, item_error, normalise, text_scores

_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}])")


def detokenize(tokenizer, ids: list[int]) -> str:
    """Text from decoder ids: the tokenizer's own ``decode`` when it has one (subwords), else its
    tokens joined by spaces (none for characters), no space before closing punctuation."""
    decode = getattr(tokenizer, "decode", None)
    if callable(decode):
        return str(decode(ids))
    vocab = tokenizer.vocab
    tokens = [vocab[i] for i in ids if 0 < i < len(vocab)]
    if tokenizer.level == "char":
        return "".join(tokens)
    return _NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens))


@torch.no_grad()
def decode_batch(model, inputs: dict[str, torch.Tensor], mask: dict[str, torch.Tensor], beam: int = 1):
    """Hypotheses ``[[(ids, score), ...] per item]`` (one each when ``beam`` is 1: greedy)."""
    dec = model.decoder
    encoded = model.encode_sequences(inputs)
    if dec.kind == "ctc":
        lp = dec.log_probs(encoded)
        return [[h] for h in ctc_greedy(lp)] if beam <= 1 else ctc_beam(lp, beam)
    states, ignore = dec.memory(encoded, mask)
    b, dev = states.shape[0], states.device
    if beam <= 1:
        found = greedy(lambda t: dec.step(t, states, ignore), b, dec.bos, dec.eos, dec.max_len, dev)
        return [[h] for h in found]
    st, ig = states.repeat_interleave(beam, 0), ignore.repeat_interleave(beam, 0)
    return beam_search(lambda t: dec.step(t, st, ig), b, dec.bos, dec.eos, dec.max_len, beam, dev)


@torch.no_grad()
def decode_features(
    model, feats: Features, beam: int = 1, device="cpu", batch_size: int = 128, autocast=None
) -> list[list[Hypothesis]]:
    """:func:`decode_batch` over every item of ``feats``."""
    model.eval()
    out: list[list[Hypothesis]] = []
    for start in range(0, len(feats), batch_size):
        idx = torch.arange(start, min(start + batch_size, len(feats)))
        inputs, mask, _ = feats.batch(idx)
        inputs = {m: x.to(device) for m, x in inputs.items() if m in model.modalities}
        mask = {m: x.to(device) for m, x in mask.items()}
        if autocast is not None:
            with autocast():
                out += decode_batch(model, inputs, mask, beam)
        else:
            out += decode_batch(model, inputs, mask, beam)
    return out


def describe(bundle, inputs: dict[str, torch.Tensor], beam: int = 3) -> list[dict[str, Any]]:
    """The texts a generating bundle writes for ONE sample's decoded inputs (batch of 1), best
    first: ``[{"text": ..., "score": log-probability}, ...]``."""
    model = bundle.model
    device = next(model.parameters()).device
    batch = {m: x[None].to(device) for m, x in inputs.items() if m in model.modalities}
    mask = {m: torch.ones(1, dtype=torch.bool, device=device) for m in batch}
    for m in model.modalities:  # an input not given is masked as missing
        if m not in batch:
            batch[m] = torch.zeros(1, *_input_shape(bundle, m), device=device)
            mask[m] = torch.zeros(1, dtype=torch.bool, device=device)
    hyps = decode_batch(model.eval(), batch, mask, beam)[0]
    tok = bundle.preprocessor.tokenizer
    return [{"text": detokenize(tok, ids), "score": score} for ids, score in hyps]


def describe_files(bundle, image: str | None = None, audio: str | None = None, beam: int = 3) -> dict[str, Any]:
    """The Describe mode: the texts a generating bundle writes for an image and/or a sound
    file: ``{"texts": [{"text", "score"}, ...], "used": [modalities]}``."""
    pre, inputs = bundle.preprocessor, {}
    if image and "image" in bundle.model.modalities:
        inputs["image"] = pre.load_image(image)
    if audio and "audio" in bundle.model.modalities:
        inputs["audio"] = pre.load_audio(audio)
    if not inputs:
        wanted = " or ".join(bundle.model.modalities)
        raise ValueError(f"this model writes text from {wanted}: give it one")
    return {"texts": describe(bundle, inputs, beam), "used": list(inputs)}


def _input_shape(bundle, modality: str) -> tuple[int, ...]:
    pre = bundle.preprocessor
    if modality == "image":
        return (pre.channels, pre.image.size, pre.image.size)
    return tuple(pre.audio_shape)


def _id_text(ids: list[int]) -> str:
    return " ".join(str(i) for i in ids)


def validation_scores(model, feats: Features, device, batch_size: int, autocast=None) -> dict[str, float]:
    """Each epoch's figures on ``feats`` (greedy decoding), compared on token ids."""
    hyps = decode_features(model, feats, 1, device, batch_size, autocast)
    ids = feats.inputs["text"]
    has = feats.mask["text"]
    h = [_id_text(hs[0][0]) for hs, ok in zip(hyps, has.tolist()) if ok]
    r = [[_id_text([i for i in row if i])] for row, ok in zip(ids.tolist(), has.tolist()) if ok]
    scores = {
        "token_accuracy": round(max(0.0, 1.0 - error_rate(h, r, "word")), 6),
        "exact": round(sum(a == b[0] for a, b in zip(h, r)) / max(1, len(h)), 6),
    }
    scores["loss"] = round(_teacher_forced_loss(model, feats, device, batch_size), 6)
    return scores


@torch.no_grad()
def _teacher_forced_loss(model, feats: Features, device, batch_size: int) -> float:
    total, n = 0.0, 0
    for start in range(0, len(feats), batch_size):
        idx = torch.arange(start, min(start + batch_size, len(feats)))
        inputs, mask, _ = feats.batch(idx)
        out = model({m: x.to(device) for m, x in inputs.items()}, {m: x.to(device) for m, x in mask.items()})
        total += float(out["text_loss"]) * len(idx)
        n += len(idx)
    return total / max(1, n)


def reference_groups(items: list, feats: Features, modalities: tuple[str, ...]) -> list[list[str]]:
    """Each item's reference texts: every text of the items with the same inputs (an image
    with five captions has five references)."""
    keys = list(zip(*(feats.groups[m].tolist() for m in modalities))) if modalities else [()] * len(items)
    texts: dict[tuple, list[str]] = {}
    for key, it in zip(keys, items):
        if it.text:
            texts.setdefault(key, []).append(it.text)
    return [texts.get(key, [""]) for key in keys]


def evaluate_generation(
    bundle,
    items: list,
    feats: Features,
    train_items: list | None = None,
    beam: int = 1,
    device="cpu",
    batch_size: int = 128,
    on_event: Callable | None = None,
) -> dict[str, Any]:
    """``eval``'s report for a generating bundle on ``items`` (decoded as ``feats``)."""
    from mmstudio.engine.textbaselines import baselines

    model, tok = bundle.model, bundle.preprocessor.tokenizer
    hyps = decode_features(model, feats, beam, device, batch_size)
    texts = [detokenize(tok, hs[0][0]) if hs else "" for hs in hyps]
    refs = reference_groups(items, feats, model.modalities)
    result: dict[str, Any] = {"items": len(items), **validation_scores(model, feats, device, batch_size)}
    result["generation"] = text_scores(texts, refs)
    result["beam"] = beam
    if train_items:
        result["baselines"] = baselines(bundle, items, feats, refs, train_items, device, batch_size, on_event)
    result["examples"] = examples(items, texts, refs, hyps, tok)
    return result


def examples(items: list, texts: list[str], refs: list[list[str]], hyps, tok) -> list[dict[str, Any]]:
    """One row per item: inputs, reference, output, alternatives and its error (item CER)."""
    rows = []
    for it, text, rs, hs in zip(items, texts, refs, hyps):
        rows.append(
            {
                "id": it.id,
                "image": it.image or "",
                "audio": it.audio or "",
                "reference": it.text or "",
                "generated": text,
                "alternatives": [detokenize(tok, ids) for ids, _ in hs[1:]],
                "error": round(item_error(normalise(text), [normalise(r) for r in rs]), 6),
            }
        )
    return rows

"""Scores of generated text against reference texts: BLEU, CIDEr-D, character and word error
rates, exact match. No torch: the edit distance is torchaudio's (pure Python).

Every function takes texts already normalised the same way (:func:`normalise`: NFKC,
lower-case, punctuation split off, single spaces), so "Seven." and "seven ." agree. ``refs`` are
lists: an item may have several reference texts (five captions of one image).

- BLEU follows sacrebleu's ``corpus_bleu`` (clipped n-gram precisions over the corpus, brevity
  penalty against the closest reference length, 'exp' smoothing of empty orders, 0 without
  any match or when no output is long enough for the highest order), 0-100.
- CIDEr-D follows the COCO caption evaluation code (TF-IDF n-gram vectors with document
  frequencies from the references, clipped, a Gaussian length penalty, times 10).
- CER/WER: edit distance over all items divided by the reference lengths (the closest
  reference where there are several).
"""

from __future__ import annotations

import math
from collections import Counter

from mmstudio.engine.tokenizer import split_words


def normalise(text: str) -> str:
    """The form texts are compared in: the word tokenizer's words, joined by single spaces."""
    return " ".join(split_words(text or ""))


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu(hyps: list[str], refs: list[list[str]], max_n: int = 4) -> float:
    """Corpus BLEU (0-100) of whitespace-tokenised ``hyps`` against ``refs``, as sacrebleu."""
    correct, total = [0] * max_n, [0] * max_n
    sys_len = ref_len = 0
    for hyp, rs in zip(hyps, refs):
        h = hyp.split()
        rtoks = [r.split() for r in rs] or [[]]
        sys_len += len(h)
        ref_len += min((abs(len(r) - len(h)), len(r)) for r in rtoks)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(h, n)
            best: Counter[tuple[str, ...]] = Counter()
            for r in rtoks:
                best |= _ngrams(r, n)
            correct[n - 1] += sum(min(c, best[g]) for g, c in counts.items())
            total[n - 1] += max(0, len(h) - n + 1)
    if not any(correct):  # no match at all: 0, as sacrebleu (its issue #141)
        return 0.0
    precisions, smooth = [0.0] * max_n, 1.0
    for n in range(max_n):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    if sys_len == 0 or min(precisions) <= 0:
        return 0.0
    bp = 1.0 if sys_len >= ref_len else math.exp(1 - ref_len / sys_len)
    return bp * math.exp(sum(math.log(p) for p in precisions) / max_n)


def cider_d(hyps: list[str], refs: list[list[str]], sigma: float = 6.0) -> float:
    """Corpus CIDEr-D: the mean over items, as the COCO caption evaluation computes it."""
    if not hyps:
        return 0.0
    df: Counter[tuple[str, ...]] = Counter()
    for rs in refs:
        df.update({g for r in rs for n in range(1, 5) for g in _ngrams(r.split(), n)})
    log_n = math.log(float(len(hyps)))
    scores = []
    for hyp, rs in zip(hyps, refs):
        vh = _tfidf(hyp.split(), df, log_n)
        total = [0.0] * 4
        for r in rs:
            vr = _tfidf(r.split(), df, log_n)
            for n, value in enumerate(_similarity(vh, vr, sigma)):
                total[n] += value
        scores.append(sum(total) / 4 / max(1, len(rs)) * 10.0)
    return sum(scores) / len(scores)


def _tfidf(tokens: list[str], df: Counter, log_n: float):
    vec: list[dict[tuple[str, ...], float]] = []
    norms = []
    for n in range(1, 5):
        v = {g: c * (log_n - math.log(max(1.0, df[g]))) for g, c in _ngrams(tokens, n).items()}
        vec.append(v)
        norms.append(math.sqrt(sum(x * x for x in v.values())))
    length = sum(_ngrams(tokens, 2).values())  # as the reference code: its 'length' counts bigrams
    return vec, norms, length


def _similarity(hyp, ref, sigma: float) -> list[float]:
    (vh, nh, lh), (vr, nr, lr) = hyp, ref
    out = []
    for n in range(4):
        val = sum(min(x, vr[n].get(g, 0.0)) * vr[n].get(g, 0.0) for g, x in vh[n].items())
        if nh[n] != 0 and nr[n] != 0:
            val /= nh[n] * nr[n]
        out.append(val * math.exp(-((lh - lr) ** 2) / (2 * sigma**2)))
    return out


def _distance(a, b) -> int:
    from torchaudio.functional import edit_distance

    return int(edit_distance(a, b))


def error_rate(hyps: list[str], refs: list[list[str]], unit: str = "char") -> float:
    """CER (``unit="char"``) or WER (``"word"``): edits over reference length, whole corpus."""
    edits = length = 0
    for hyp, rs in zip(hyps, refs):
        h = list(hyp) if unit == "char" else hyp.split()
        pairs = [(_distance(h, r), r) for r in ((list(x) if unit == "char" else x.split()) for x in (rs or [""]))]
        d, r = min(pairs, key=lambda p: (p[0], len(p[1])))
        edits += d
        length += len(r)
    return edits / max(1, length)


def item_error(hyp: str, refs: list[str]) -> float:
    """One item's character error rate (against its closest reference): how the Evaluate
    panel sorts examples from worst to best."""
    return error_rate([hyp], [refs], "char")


def exact_match(hyps: list[str], refs: list[list[str]]) -> float:
    """Share of items whose text equals one of its references."""
    return sum(h in rs for h, rs in zip(hyps, refs)) / max(1, len(hyps))


def text_scores(hyps: list[str], refs: list[list[str]]) -> dict[str, float]:
    """Every score at once, on normalised texts (higher is better except CER and WER)."""
    h = [normalise(x) for x in hyps]
    r = [[normalise(x) for x in rs] for rs in refs]
    cer = error_rate(h, r, "char")
    return {
        "text_accuracy": round(max(0.0, 1.0 - cer), 6),
        "cer": round(cer, 6),
        "wer": round(error_rate(h, r, "word"), 6),
        "exact": round(exact_match(h, r), 6),
        "bleu": round(bleu(h, r), 4),
        "bleu2": round(bleu(h, r, max_n=2), 4),
        "cider_d": round(cider_d(h, r), 4),
    }

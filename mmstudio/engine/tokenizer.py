"""A word- or character-level tokenizer built from the training split and saved in the bundle.

Plain Python (no torch): the vocabulary is a list of strings in ``bundle.json``, so a bundle can
be opened and its tokenizer used without any pickled object.

Text is NFKC-normalised and lower-cased; scripts written without spaces (Chinese, Japanese,
Thai) are split per character, so a Chinese sentence is not one unknown "word". With
``ngrams=2`` each text also yields its adjacent pairs ("new york", "红色"), which carries most of
what word order says for classification and retrieval. Each token keeps an inverse document
frequency, which the ``ngram`` encoder uses as TF-IDF weights.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

PAD, UNK = "<pad>", "<unk>"
#: Scripts written without spaces between words: one token per character.
_UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+|[^\w\s]", re.UNICODE)
#: Pairs seen fewer times than this are left out (1: kept, as a TF-IDF baseline keeps them;
#: a pair seen once in training still matches the same pair in a test text).
_MIN_PAIR_COUNT = 1


def split_words(text: str) -> list[str]:
    """Words of ``text`` after NFKC and lower-casing; unspaced scripts one character each."""
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").lower())


class Tokenizer:
    """Maps text to integer ids; 0 is padding, 1 an unknown token."""

    def __init__(
        self, vocab: list[str], level: str = "word", lower: bool = True, ngrams: int = 1, idf: list[float] | None = None
    ) -> None:
        if vocab[:2] != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad>, <unk>")
        if idf is not None and len(idf) != len(vocab):
            raise ValueError(f"idf has {len(idf)} values for {len(vocab)} tokens")
        self.vocab = list(vocab)
        self.level = level
        self.lower = lower
        self.ngrams = ngrams
        self.idf = list(idf) if idf is not None else None
        self._index = {tok: i for i, tok in enumerate(self.vocab)}

    @classmethod
    def build(
        cls, texts: Iterable[str], level: str = "word", max_size: int = 5000, min_count: int = 1, ngrams: int = 1
    ) -> Tokenizer:
        """The ``max_size`` most frequent tokens of ``texts`` (ties broken alphabetically), with
        their smoothed inverse document frequencies."""
        counts: Counter[str] = Counter()
        docs: Counter[str] = Counter()
        probe = cls([PAD, UNK], level, ngrams=ngrams)
        n_docs = 0
        for text in texts:
            tokens = probe.split(text)
            counts.update(tokens)
            docs.update(set(tokens))
            n_docs += 1
        keep = [t for t, c in counts.items() if c >= max(min_count, _MIN_PAIR_COUNT if " " in t else 1)]
        ranked = sorted(keep, key=lambda t: (-counts[t], t))[: max(0, max_size - 2)]
        idf = [0.0, 1.0] + [round(math.log((1 + n_docs) / (1 + docs[t])) + 1, 4) for t in ranked]
        return cls([PAD, UNK] + ranked, level, ngrams=ngrams, idf=idf)

    def split(self, text: str) -> list[str]:
        if self.level == "char":
            text = unicodedata.normalize("NFKC", text or "")
            return list(text.lower() if self.lower else text)
        words = split_words(text)
        if self.ngrams >= 2:
            words = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        return words

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """Ids of the first ``max_tokens`` tokens (no padding; at least one id, UNK for empty).
        With pairs, unigrams and pairs share the budget half and half."""
        tokens = self.split(text or "")
        if self.ngrams >= 2 and self.level != "char":
            words = (len(tokens) + 1) // 2
            half = max(1, max_tokens // 2)
            tokens = tokens[: min(words, half)] + tokens[words : words + max_tokens - min(words, half)]
        ids = [self._index.get(t, 1) for t in tokens][:max_tokens]
        return ids or [1]

    def token_counts(self, texts: Iterable[str]) -> list[int]:
        """How many tokens each text has (before any cut): for choosing ``max_tokens``."""
        return [len(self.split(t or "")) for t in texts]

    def __len__(self) -> int:
        return len(self.vocab)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"level": self.level, "lower": self.lower, "vocab": self.vocab}
        if self.ngrams != 1:
            out["ngrams"] = self.ngrams
        if self.idf is not None:
            out["idf"] = self.idf
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tokenizer:
        return cls(
            list(data["vocab"]),
            data.get("level", "word"),
            bool(data.get("lower", True)),
            int(data.get("ngrams", 1)),
            data.get("idf"),
        )


def tokenizer_from_dict(data: dict[str, Any], folder: str = "") -> Any:
    """The tokenizer a bundle's ``preprocessing.tokenizer`` entry describes: a word or character
    vocabulary held in the entry itself, or a subword model in the file it names in ``folder``."""
    if data.get("level") == "subword":
        from mmstudio.engine.subword import SubwordTokenizer

        return SubwordTokenizer.load(folder, data)
    return Tokenizer.from_dict(data)


def build_tokenizer(texts: list[str], level: str, max_size: int, ngrams: int = 1) -> Any:
    """A tokenizer of ``level`` ("word", "char" or "subword") built from ``texts``, at most
    ``max_size`` tokens. The last few builds are kept, keyed by the texts' digest: the automatic
    settings build one to count its tokens and the trainer then asks for the same one."""
    digest = hashlib.sha256("\x1e".join(texts).encode("utf-8", "surrogatepass")).hexdigest()
    key = (digest, level, ngrams if level != "subword" else 1)
    hit = _BUILT.get(key)
    if hit is not None and (hit[0] >= max_size or len(hit[1]) < hit[0]):  # as large as asked, or whole
        smaller = _smaller(hit[1], max_size)
        if smaller is not None:
            return smaller
    if level == "subword":
        from mmstudio.engine.subword import SubwordTokenizer

        tok: Any = SubwordTokenizer.build(texts, max_size)
    else:
        tok = Tokenizer.build(texts, level, max_size, ngrams=ngrams)
    _BUILT[key] = (max_size, tok)
    while len(_BUILT) > 4:
        _BUILT.pop(next(iter(_BUILT)))
    return tok


#: (texts digest, level, ngrams) -> (the max_size it was built with, the tokenizer).
_BUILT: dict[tuple, tuple[int, Any]] = {}


def _smaller(tok: Any, max_size: int) -> Any:
    """``tok`` cut to ``max_size`` tokens: the same as building it that small (the vocabulary is
    ranked, and a BPE vocabulary grows one merge at a time), without building it again."""
    if len(tok) <= max_size:
        return tok
    if isinstance(tok, Tokenizer):
        idf = tok.idf[:max_size] if tok.idf is not None else None
        return Tokenizer(tok.vocab[:max_size], tok.level, tok.lower, tok.ngrams, idf)
    return None  # a smaller subword model is trained again

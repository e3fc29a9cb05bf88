"""A word- or character-level tokenizer built from the training split and saved in the bundle.

Plain Python (no torch): the vocabulary is a list of strings in ``bundle.json``, so a bundle can
be opened and its tokenizer used without any pickled object.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class Tokenizer:
    """Maps text to integer ids; 0 is padding, 1 an unknown token."""

    def __init__(self, vocab: list[str], level: str = "word", lower: bool = True) -> None:
        if vocab[:2] != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad>, <unk>")
        self.vocab = list(vocab)
        self.level = level
        self.lower = lower
        self._index = {tok: i for i, tok in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts: Iterable[str], level: str = "word", max_size: int = 5000,
              min_count: int = 1) -> Tokenizer:
        """The ``max_size`` most frequent tokens of ``texts`` (ties broken alphabetically)."""
        counts: Counter[str] = Counter()
        probe = cls([PAD, UNK], level)
        for text in texts:
            counts.update(probe.split(text))
        ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls([PAD, UNK] + ranked[: max(0, max_size - 2)], level)

    def split(self, text: str) -> list[str]:
        text = text.lower() if self.lower else text
        return list(text) if self.level == "char" else _WORD.findall(text)

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """Ids of the first ``max_tokens`` tokens (no padding; at least one id, UNK for empty)."""
        ids = [self._index.get(t, 1) for t in self.split(text or "")][:max_tokens]
        return ids or [1]

    def __len__(self) -> int:
        return len(self.vocab)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "lower": self.lower, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tokenizer:
        return cls(list(data["vocab"]), data.get("level", "word"), bool(data.get("lower", True)))

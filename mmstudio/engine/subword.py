"""Subword tokenisation for the sequence encoders (GRU, LSTM, transformer).

A BPE model is trained with the `tokenizers` library on the training texts and saved in the
bundle as ``tokenizer.json`` (the library's own format, so other tools can read it). Rare and
unseen words are split into known pieces instead of becoming one unknown token, which a model
that reads tokens in order uses well. Text is NFKC-normalised and lower-cased, and split into
words exactly as :func:`mmstudio.engine.tokenizer.split_words` does: scripts written without
spaces (Chinese, Japanese, Thai) one character per word, so pieces never cross characters there.
Pieces after the first of a word carry the ``##`` prefix.

The object has the word tokenizer's interface (``encode``, ``split``, ``token_counts``,
``vocab``, ``to_dict``), so the rest of the engine need not know which one it holds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from typing import Any

from mmstudio.errors import LoadError
from mmstudio.schema import Int, List, Map, OneOf, Str, check, parse_json, read_text

FILE = "tokenizer.json"
PREFIX = "##"
#: A tokenizer.json larger than this is refused before it is parsed.
MAX_FILE_BYTES = 32 << 20
#: The trainer's target; a small corpus stops earlier (no pair left seen twice).
DEFAULT_SIZE = 8000
MAX_SIZE = 200_000
SPECIALS = ("<pad>", "<unk>")

#: The parts of tokenizer.json we rely on; the library checks the rest when it parses it.
HF_SCHEMA = Map(
    {
        "version": Str(max_len=20),
        "model": Map(
            {
                "type": Str(choices=("BPE",)),
                "unk_token": Str(max_len=20),
                "continuing_subword_prefix": Str(max_len=20),
                "vocab": Map(values=Int(0, MAX_SIZE), max_keys=MAX_SIZE),
                "merges": List(
                    OneOf((Str(max_len=2000), List(Str(max_len=1000), min_len=2, max_len=2))), max_len=MAX_SIZE
                ),
            },
            required=("type", "vocab", "merges"),
        ),
        "added_tokens": List(Map({"id": Int(0, MAX_SIZE), "content": Str(max_len=100)}), max_len=100),
    },
    required=("model",),
)


class SubwordTokenizer:
    """BPE pieces of NFKC, lower-cased words; id 0 is padding, 1 an unknown character."""

    level = "subword"
    lower = True
    ngrams = 1
    idf: list[float] | None = None

    def __init__(self, model: Any) -> None:
        self._model = model  # a tokenizers.Tokenizer
        vocab = model.get_vocab(with_added_tokens=True)
        self.vocab = [tok for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        if self.vocab[:2] != list(SPECIALS):
            raise ValueError("a subword vocabulary starts with <pad>, <unk>")

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int = DEFAULT_SIZE) -> SubwordTokenizer:
        """BPE trained on ``texts``: at most ``max_size`` pieces, merging pairs seen twice or more."""
        from tokenizers import Tokenizer, models, trainers

        model = Tokenizer(models.BPE(unk_token=SPECIALS[1], continuing_subword_prefix=PREFIX))
        _set_splitting(model)
        trainer = trainers.BpeTrainer(
            vocab_size=max(len(SPECIALS) + 1, min(MAX_SIZE, max_size)),
            min_frequency=2,
            special_tokens=list(SPECIALS),
            continuing_subword_prefix=PREFIX,
            show_progress=False,
        )
        model.train_from_iterator((t for t in texts if t), trainer)
        return cls(model)

    def split(self, text: str) -> list[str]:
        return list(self._model.encode(text or "", add_special_tokens=False).tokens)

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """Ids of the first ``max_tokens`` pieces (no padding; at least one id, UNK for empty)."""
        ids = self._model.encode(text or "", add_special_tokens=False).ids[:max_tokens]
        return list(ids) or [1]

    def token_counts(self, texts: Iterable[str]) -> list[int]:
        """How many pieces each text has (before any cut): for choosing ``max_tokens``."""
        return [len(e.ids) for e in self._model.encode_batch([t or "" for t in texts], add_special_tokens=False)]

    def __len__(self) -> int:
        return len(self.vocab)

    # ---- files ----------------------------------------------------------------------------
    def to_json(self) -> str:
        return self._model.to_str()

    def to_dict(self) -> dict[str, Any]:
        """What ``bundle.json`` records: the file, its size in pieces and its checksum."""
        digest = hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()
        return {"level": self.level, "file": FILE, "size": len(self), "sha256": digest}

    def save(self, folder: str) -> str:
        """Write ``tokenizer.json`` into ``folder`` (a bundle being built: the folder is swapped in
        whole, so this write needs no temporary file of its own)."""
        path = os.path.join(folder, FILE)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
        return path

    @classmethod
    def from_json(cls, text: str, path: str, size: int | None = None) -> SubwordTokenizer:
        """A tokenizer from the text of a ``tokenizer.json``, checked first; ``LoadError`` names
        ``path`` and the problem."""
        data = parse_json(text, path)
        check(data, HF_SCHEMA, path)
        if size is not None and len(data["model"]["vocab"]) + _added(data) != size:
            raise LoadError(path, f"holds {len(data['model']['vocab'])} pieces where {size} were recorded", "model")
        from tokenizers import Tokenizer

        try:
            model = Tokenizer.from_str(text)
            return cls(model)
        except Exception as exc:  # noqa: BLE001 - the library's own parse errors, in words
            raise LoadError(path, f"not a usable subword tokenizer ({exc})") from None

    @classmethod
    def load(cls, folder: str, meta: dict[str, Any]) -> SubwordTokenizer:
        """The tokenizer a bundle's ``preprocessing.tokenizer`` entry names: a file inside
        ``folder`` only, at most :data:`MAX_FILE_BYTES`, matching its recorded checksum and size."""
        from mmstudio.fileio import member_path

        try:
            path = member_path(folder, str(meta.get("file", "")))
        except ValueError as exc:
            raise LoadError(os.path.join(folder, "bundle.json"), str(exc), "preprocessing.tokenizer.file") from None
        if not os.path.isfile(path):
            raise LoadError(path, "the subword tokenizer file is missing")
        text = read_text(path, MAX_FILE_BYTES)
        digest = meta.get("sha256")
        if digest and hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
            raise LoadError(path, "does not match the checksum in bundle.json (changed, truncated or corrupted)")
        return cls.from_json(text, path, meta.get("size"))


def _added(data: dict[str, Any]) -> int:
    """Special tokens listed only among the added tokens (not in the model's vocabulary)."""
    vocab = data["model"]["vocab"]
    return sum(1 for t in data.get("added_tokens", []) if t.get("content") not in vocab)


def _set_splitting(model: Any) -> None:
    """NFKC, lower case, and the word tokenizer's words (punctuation apart, unspaced scripts one
    character each) as the pieces BPE may not cross."""
    from tokenizers import Regex, normalizers, pre_tokenizers

    from mmstudio.engine.tokenizer import _WORD

    model.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    model.pre_tokenizer = pre_tokenizers.Split(Regex(_WORD.pattern), behavior="removed", invert=True)


def describe(tok: Any) -> str:
    """A few words on a tokenizer, for reasons and reports."""
    if isinstance(tok, SubwordTokenizer):
        return f"{len(tok):,} subword pieces"
    return f"{len(tok):,} tokens"


def hf_json(tok: SubwordTokenizer) -> dict[str, Any]:
    """The ``tokenizer.json`` content as a dict (for export)."""
    return json.loads(tok.to_json())

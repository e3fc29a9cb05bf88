"""Pretrained word vectors (GloVe, word2vec or fastText text format) as a text encoder's start.

The file is read once when a run starts: only the rows of words in the run's vocabulary are
kept (a 2 GB file costs one pass, not 2 GB of memory). Words the file lacks keep their random
start; a word pair of the ``ngram`` encoder ("new york") starts at the mean of its two words.
The embeddings are trained and saved with the model, so a bundle never reads the file again.
Reading needs no torch (the automatic settings read the size); :mod:`.vector_init` fills the
embedding table.
"""

from __future__ import annotations

import os

#: Lines longer than this are not word vectors (a binary word2vec file, say).
MAX_LINE = 1 << 20


class VectorsError(ValueError):
    """A word-vectors file that cannot be used; the message names it and why."""


def vectors_dim(path: str) -> int:
    """The vectors' dimension, from the word2vec/fastText header or the first row."""
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            first = fh.readline(MAX_LINE)
            parts = first.split()
            if len(parts) == 2 and all(p.isdigit() for p in parts):  # "count dim" header
                return int(parts[1])
            _floats(parts[1:], path, 1)
            if len(parts) < 2:
                raise VectorsError(f"{path}: line 1 is not 'word v1 v2 ...'")
            return len(parts) - 1
    except UnicodeDecodeError:
        raise VectorsError(
            f"{path}: not a text word-vectors file (binary word2vec is not read; convert it to text)"
        ) from None
    except OSError as exc:
        raise VectorsError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_vectors(path: str, words: dict[str, int], dim: int) -> dict[int, list[float]]:
    """``{vocabulary id: vector}`` for each word of ``words`` (token -> id) the file has."""
    found: dict[int, list[float]] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            word, _, rest = line.rstrip("\n").partition(" ")
            if n == 1 and word.isdigit() and rest.strip().isdigit():
                continue
            index = words.get(word, words.get(word.lower()))
            if index is None or index in found:
                continue
            values = _floats(rest.split(), path, n)
            if len(values) != dim:
                raise VectorsError(f"{path}: line {n} has {len(values)} values, the file's vectors have {dim}")
            found[index] = values
    return found


def _floats(parts: list[str], path: str, line: int) -> list[float]:
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise VectorsError(f"{path}: line {line} is not 'word v1 v2 ...' (numbers after the word)") from None


def vocabulary_vectors(path: str, vocab: list[str]) -> tuple[int, dict[int, list[float]]]:
    """The file's dimension and ``{id: vector}`` for the tokens of ``vocab`` it covers: words
    from the file, word pairs ("new york") as the mean of their two words."""
    if not os.path.isfile(path):
        raise VectorsError(f"{path}: word-vectors file not found")
    dim = vectors_dim(path)
    index = {tok: i for i, tok in enumerate(vocab) if i >= 2}  # not <pad>, <unk>
    words = {tok: i for tok, i in index.items() if " " not in tok}
    found = read_vectors(path, words, dim)
    for tok, i in index.items():
        parts = tok.split(" ")
        if len(parts) == 2 and all(words.get(p) in found for p in parts):
            a, b = found[words[parts[0]]], found[words[parts[1]]]
            found[i] = [(x + y) / 2 for x, y in zip(a, b, strict=True)]
    return dim, found

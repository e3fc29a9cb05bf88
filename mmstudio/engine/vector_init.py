"""Filling a text encoder's embedding table from word vectors (:mod:`.vectors` reads them)."""

from __future__ import annotations

import torch

from mmstudio.engine.vectors import VectorsError, vocabulary_vectors


def load_into(embedding: torch.nn.Embedding, vocab: list[str], path: str) -> int:
    """Copy the file's vectors into ``embedding``'s rows; returns how many tokens got one."""
    dim, found = vocabulary_vectors(path, vocab)
    if dim != embedding.embedding_dim:
        raise VectorsError(
            f"{path}: vectors of {dim} values, the text encoder's embeddings have "
            f"{embedding.embedding_dim}; set its embed option to {dim}"
        )
    with torch.no_grad():
        for i, vec in found.items():
            embedding.weight[i] = torch.tensor(vec, dtype=embedding.weight.dtype)
    return len(found)


def init_from_vectors(model: torch.nn.Module, tokenizer, path: str) -> int:
    """Start ``model``'s text encoder from the word vectors in ``path`` (its ``embed`` table)."""
    encoder = model.encoders["text"]  # type: ignore[index]
    embedding = getattr(encoder, "embed", None)
    if not isinstance(embedding, torch.nn.Embedding):
        raise VectorsError(f"{path}: the text encoder has no word embeddings to start from these vectors")
    return load_into(embedding, tokenizer.vocab, path)

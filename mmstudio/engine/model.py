"""The composite model: one encoder per modality, a fusion, and the task's heads.

Built from plain values only (:class:`ModelShape` + :class:`ModelSpec`), which is what makes a
bundle loadable from its JSON without unpickling anything.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mmstudio.config import ModelSpec
from mmstudio.engine.encoders import ENCODERS
from mmstudio.engine.fusion import FUSIONS, Fusion


@dataclass(frozen=True)
class ModelShape:
    """What the data decides about a model: modalities, sizes and the number of classes."""

    modalities: tuple[str, ...]
    num_classes: int = 0
    channels: int = 1
    vocab_size: int = 2
    n_mels: int = 40
    frames: int = 51
    image_mean: tuple[float, ...] = (0.5,)
    image_std: tuple[float, ...] = (0.5,)
    target_mean: float = 0.0  # regress: the training targets' mean and standard deviation
    target_std: float = 1.0

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> ModelShape:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**fields)


class MultimodalModel(nn.Module):
    """``forward(inputs, mask)`` returns ``{"logits": (B, C)}`` and/or
    ``{"embeddings": {m: (B, E) unit vectors}}`` depending on the task.

    Images come in as uint8 (or 0-255 float) and are normalised here, so exported models and
    queries take the same raw inputs as training.
    """

    image_mean: torch.Tensor  # buffers, (1, C, 1, 1), in 0-255 units
    image_std: torch.Tensor
    logit_scale: torch.Tensor  # the align task's learned temperature (log of 1/T)

    def __init__(self, spec: ModelSpec, shape: ModelShape, dropout: float = 0.1) -> None:
        super().__init__()
        self.spec, self.shape = spec, shape
        self.generates = spec.task == "generate"  # text is then the target: not an input
        self.modalities = tuple(m for m in shape.modalities if not (self.generates and m == "text"))
        self.classify = spec.task in ("classify", "classify+align")
        self.align = spec.task in ("align", "classify+align")
        self.regress = spec.task == "regress"  # one output: the number, in the target's units
        self.encoders = nn.ModuleDict({m: _encoder(m, spec, shape, dropout) for m in self.modalities})
        self.register_buffer("image_mean", torch.tensor(shape.image_mean).view(1, -1, 1, 1) * 255, persistent=False)
        self.register_buffer("image_std", torch.tensor(shape.image_std).view(1, -1, 1, 1) * 255, persistent=False)
        self.fusion: Fusion | None = None
        self.head: nn.Module | None = None
        if self.classify or self.regress:
            if self.classify and shape.num_classes < 2:
                raise ValueError(
                    "the classify task needs labels with at least 2 classes; give the "
                    "dataset a label column (role 'label'), or train the align task"
                )
            outputs = 1 if self.regress else shape.num_classes
            self.fusion = FUSIONS.create(
                spec.fusion,
                modalities=self.modalities,
                dim=spec.dim,
                dropout=dropout,
                num_classes=outputs,
                **dict(spec.fusion_options),
            )
            if not self.fusion.produces_logits:
                self.head = _head(self.fusion.out_dim, spec.head_hidden, outputs, dropout)
        if self.align:
            if len(self.modalities) < 2:
                raise ValueError("the align task needs at least two modalities")
            self.projections = nn.ModuleDict({m: nn.Linear(spec.dim, spec.embed_dim) for m in self.modalities})
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / spec.temperature)))
        self.decoder: Any = None  # generate: an engine.decoders module (loss, memory, step)
        if self.generates:
            from mmstudio.engine.seqfeatures import build_decoder

            self.decoder = build_decoder(spec, shape, self.modalities, self.encoders, dropout)

    def encode(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Features ``(B, dim)`` for each modality given in ``inputs``."""
        out = {}
        for m, x in inputs.items():
            if m == "image" and not getattr(self.encoders[m], "raw_input", False):  # pretrained: its own
                x = (x.float() - self.image_mean) / self.image_std
            out[m] = self.encoders[m](x)
        return out

    def embed(self, feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Unit-length embeddings for retrieval (the align space, else the encoder features)."""
        if self.align:
            return {m: F.normalize(self.projections[m](f), dim=-1) for m, f in feats.items()}
        return {m: F.normalize(f, dim=-1) for m, f in feats.items()}

    def logits(self, feats: dict[str, torch.Tensor], mask: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.fusion is None:
            raise RuntimeError("logits need the classify or regress task (this model only aligns)")
        fused = self.fusion(feats, mask)
        return fused if self.head is None else self.head(fused)

    def encode_sequences(self, inputs: dict[str, torch.Tensor]) -> dict[str, tuple]:
        """generate: each input modality's pooled features and feature sequence (or None)."""
        from mmstudio.engine.seqfeatures import sequence_features

        out = {}
        for m in self.modalities:
            x = inputs[m]
            if m == "image" and not getattr(self.encoders[m], "raw_input", False):  # as encode()
                x = (x.float() - self.image_mean) / self.image_std
            out[m] = sequence_features(self.encoders[m], x)
        return out

    def forward(self, inputs: dict[str, torch.Tensor], mask: dict[str, torch.Tensor]) -> dict:
        if self.decoder is not None:  # generate: the teacher-forced loss of the target text
            return {"text_loss": self.decoder.loss(self.encode_sequences(inputs), mask, inputs["text"])}
        feats = self.encode(inputs)
        out: dict = {}
        if self.classify:
            out["logits"] = self.logits(feats, mask)
        if self.regress:
            out["value"] = self.value(feats, mask)
        if self.align:
            out["embeddings"] = self.embed(feats)
        return out

    def penalty(self) -> torch.Tensor | None:
        """Regularisation terms the encoders add to the training loss (the ``ngram`` encoder's
        L2 penalty on its table), or None when none asks for one."""
        terms = [term() for term in (getattr(e, "penalty", None) for e in self.encoders.values()) if term]
        return torch.stack(terms).sum() if terms else None

    def value(self, feats: dict[str, torch.Tensor], mask: dict[str, torch.Tensor]) -> torch.Tensor:
        """The regress task's ``(B,)`` numbers in the target's units (the head predicts them
        standardised; ``shape`` holds the training targets' mean and std)."""
        z = self.logits(feats, mask)[:, 0].float()
        return z * self.shape.target_std + self.shape.target_mean

    def modality_weights(self) -> dict[str, float] | None:
        return self.fusion.modality_weights() if self.fusion is not None else None


def _encoder(modality: str, spec: ModelSpec, shape: ModelShape, dropout: float) -> nn.Module:
    sub = getattr(spec, modality)
    kw: dict = {"dim": spec.dim, "dropout": dropout, **dict(sub.options)}
    if modality == "image":
        kw.update(in_channels=shape.channels, weights=sub.weights)
    elif modality == "text":
        kw.update(vocab_size=shape.vocab_size)
    else:
        kw.update(n_mels=shape.n_mels, frames=shape.frames)
    return ENCODERS[modality].create(sub.encoder, **kw)


def _head(in_dim: int, hidden: int, num_classes: int, dropout: float) -> nn.Module:
    if hidden:
        return nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(in_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, num_classes))


def init_text_weights(model: MultimodalModel, tokenizer) -> None:
    """Give a text encoder that weights its tokens (``ngram``) the tokenizer's inverse
    document frequencies, and start its embeddings from word vectors when the run names a file
    (option ``vectors``); both are saved with the weights, so a bundle needs nothing else."""
    encoder = getattr(model.encoders, "text", None)
    set_idf = getattr(encoder, "set_idf", None)
    if tokenizer is not None and tokenizer.idf is not None and set_idf is not None:
        set_idf(tokenizer.idf)
    vectors = str(model.spec.text.options.get("vectors", "") or "") if encoder is not None else ""
    if vectors and tokenizer is not None:  # pretrained word vectors: read once, saved with the weights
        from mmstudio.engine.vector_init import init_from_vectors

        init_from_vectors(model, tokenizer, vectors)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

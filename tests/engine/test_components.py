"""Every registered encoder and fusion runs forward and backward on CPU at tiny shapes."""

from __future__ import annotations

import pytest
import torch

from mmstudio.config import ModelSpec
from mmstudio.engine.encoders import ENCODERS
from mmstudio.engine.fusion import FUSIONS
from mmstudio.engine.model import ModelShape, MultimodalModel
from mmstudio.engine.pretrained import AUDIO_WEIGHTS, no_weight_files
from mmstudio.engine.tokenizer import Tokenizer

ENCODER_CASES = [(m, n) for m, reg in ENCODERS.items() for n in reg.names()]


def _input(modality: str, batch: int = 3, name: str = "") -> torch.Tensor:
    torch.manual_seed(0)
    if name in AUDIO_WEIGHTS:  # speech models hear waveforms
        return torch.randn(batch, 1, 1600)
    if modality == "image":
        return torch.rand(batch, 1, 32, 32)
    if modality == "text":
        ids = torch.randint(1, 20, (batch, 6))
        ids[0, 3:] = 0  # padding
        return ids
    return torch.randn(batch, 16, 21)


@pytest.mark.parametrize("modality,name", ENCODER_CASES)
def test_encoder_forward_backward(modality, name):
    kw = {"dim": 16, "dropout": 0.0}
    kw.update(
        {"image": {"in_channels": 1}, "text": {"vocab_size": 20}, "audio": {"n_mels": 16, "frames": 21}}[modality]
    )
    with no_weight_files():  # random numbers: the published weights are not needed here
        enc = ENCODERS[modality].create(name, **kw)
    out = enc(_input(modality, name=name))
    assert out.shape == (3, 16)
    out.square().sum().backward()
    grads = [p.grad for p in enc.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", FUSIONS.names())
@pytest.mark.parametrize("mods", [("image",), ("image", "audio"), ("image", "text", "audio")])
def test_fusion_forward_backward_with_missing(name, mods):
    fusion = FUSIONS.create(name, modalities=mods, dim=8, dropout=0.0, num_classes=4)
    feats = {m: torch.randn(5, 8, requires_grad=True) for m in mods}
    mask = {m: torch.tensor([True, True, False, True, True]) for m in mods}
    mask[mods[0]] = torch.tensor([True, False, True, True, True])  # every sample has one
    out = fusion(feats, mask)
    assert out.shape == (5, fusion.out_dim) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(f.grad is not None for f in feats.values())


@pytest.mark.parametrize("name", ["concat", "weighted_sum", "gated", "attention", "tensor", "late"])
def test_masked_modality_does_not_leak(name):
    """A masked modality's features must not change the output."""
    fusion = FUSIONS.create(name, modalities=("image", "audio"), dim=8, dropout=0.0, num_classes=3)
    fusion.eval()
    feats = {"image": torch.randn(2, 8), "audio": torch.randn(2, 8)}
    mask = {"image": torch.tensor([True, True]), "audio": torch.tensor([False, False])}
    a = fusion(feats, mask)
    b = fusion({"image": feats["image"], "audio": torch.randn(2, 8) * 5}, mask)
    assert torch.allclose(a, b, atol=1e-5)


def test_weighted_sum_weights_are_readable():
    fusion = FUSIONS.create("weighted_sum", modalities=("image", "audio"), dim=4)
    weights = fusion.modality_weights()
    assert set(weights) == {"image", "audio"} and abs(sum(weights.values()) - 1) < 1e-3


def test_unknown_names_list_the_known_ones():
    with pytest.raises(KeyError, match="choose one of: attention"):
        FUSIONS.create("nope", modalities=("image",), dim=4)
    with pytest.raises(KeyError, match="resnet18"):
        ENCODERS["image"].create("nope")


@pytest.mark.parametrize("task", ["classify", "align", "classify+align"])
def test_composite_model_outputs(task):
    shape = ModelShape(("image", "text", "audio"), 3, 1, 20, 16, 21)
    model = MultimodalModel(ModelSpec(dim=16, embed_dim=8, task=task), shape)
    inputs = {
        "image": torch.randint(0, 255, (4, 1, 28, 28), dtype=torch.uint8),
        "text": torch.randint(0, 20, (4, 5)),
        "audio": torch.randn(4, 16, 21),
    }
    mask = {m: torch.ones(4, dtype=torch.bool) for m in inputs}
    out = model(inputs, mask)
    assert ("logits" in out) == (task != "align")
    if task != "classify":
        emb = out["embeddings"]["audio"]
        assert emb.shape == (4, 8) and torch.allclose(emb.norm(dim=1), torch.ones(4), atol=1e-5)


def test_tokenizer_word_and_char_round_trip():
    tok = Tokenizer.build(["the number one", "the number two", "two"], "word", max_size=5)
    assert tok.vocab[:2] == ["<pad>", "<unk>"] and len(tok) == 5
    assert tok.encode("two number zebra", 8) == [tok.vocab.index("two"), tok.vocab.index("number"), 1]
    assert Tokenizer.from_dict(tok.to_dict()).vocab == tok.vocab
    char = Tokenizer.build(["ab"], "char")
    assert char.encode("abc", 2) == [char.vocab.index("a"), char.vocab.index("b")]


def test_modality_dropout_keeps_one_modality():
    from mmstudio.engine.optim import modality_dropout as _modality_dropout

    mask = {m: torch.ones(200, dtype=torch.bool) for m in ("image", "audio", "text")}
    out = _modality_dropout(mask, 0.9)
    kept = torch.stack(list(out.values()), 1)
    assert kept.any(1).all() and not kept.all()

"""A text-only classifier's defaults: the model TF-IDF + logistic regression is (a linear map of
the sublinear TF-IDF vector with an L2 penalty), chosen from the data with a reason."""

from __future__ import annotations

import math

import pytest
import torch

from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TextSpec
from mmstudio.engine.autoconfig import L2_PER_ITEM, resolve
from mmstudio.engine.encoders import ENCODERS
from tests.engine.test_defaults import _Data, _items


def _linear(**options):
    return ENCODERS["text"].create("ngram", vocab_size=6, dim=4, dropout=0.5, linear=True, **options)


def test_sublinear_weights_are_the_normalised_tfidf_vector_of_known_tokens():
    enc = _linear(sublinear=True).eval()
    enc.set_idf([0.0, 1.0, 2.0, 3.0, 1.0, 1.0])
    with torch.no_grad():
        enc.embed.weight.copy_(torch.eye(6, 4))  # token i (i < 4) reads out as feature i
    out = enc(torch.tensor([[2, 3, 3, 1, 0]]))[0]  # token 3 twice, one unknown, padding
    tf_idf = torch.tensor([0.0, 0.0, 2.0, 3.0 * (1 + math.log(2))])  # unknown left out
    assert torch.allclose(out, tf_idf / tf_idf.norm(), atol=1e-6)
    assert isinstance(enc.proj, torch.nn.Identity) and enc.embed.weight.shape[1] == 4


def test_the_l2_penalty_pulls_every_row_of_the_table_towards_zero():
    from mmstudio.engine.model import ModelShape, MultimodalModel

    spec = ModelSpec(modalities=("text",), dim=4, text=TextSpec(encoder="ngram", options={"linear": True, "l2": 0.5}))
    model = MultimodalModel(spec, ModelShape(("text",), num_classes=2, vocab_size=6))
    table = model.encoders["text"].embed.weight
    penalty = model.penalty()
    assert penalty is not None
    assert penalty.item() == pytest.approx(0.25 * table.detach().pow(2).sum().item(), rel=1e-5)
    penalty.backward()  # a row no text used moves by the penalty alone: l2 * w
    assert torch.allclose(table.grad[5], 0.5 * table.detach()[5])
    plain = MultimodalModel(ModelSpec(modalities=("text",), dim=4), ModelShape(("text",), 2, vocab_size=6))
    assert plain.penalty() is None or plain.penalty().item() == 0.0


def _texts(i: int) -> str:
    return f"word{i % 7} shared text {i % 3}"


def test_a_text_only_classifier_reads_text_as_logistic_regression_does():
    data = _Data(_items(400, text=_texts), ["text"])
    run, chosen = resolve(RunConfig(DatasetSpec("x"), ModelSpec(modalities=("text",))), data)
    options = run.model.text.options
    assert options["linear"] is True and options["sublinear"] is True
    # from the texts it trains on: 400 less the tenth held out for validation
    assert options["l2"] == pytest.approx(L2_PER_ITEM / 360, rel=1e-2)
    reasons = {c.field: c.reason for c in chosen}
    assert "logistic regression" in reasons["model.text.options.linear"]
    assert "360 training texts" in reasons["model.text.options.l2"]
    assert resolve(run, data)[0] == run  # resolving again changes nothing


def test_other_tasks_and_the_users_own_options_keep_the_two_layer_encoder():
    data = _Data(_items(400, text=_texts), ["text"])
    own = RunConfig(
        DatasetSpec("x"), ModelSpec(modalities=("text",), text=TextSpec(encoder="ngram", options={"linear": False}))
    )
    kept, chosen = resolve(own, data)
    assert kept.model.text.options == {"linear": False}
    assert "model.text.options.l2" not in {c.field for c in chosen}
    gru, _ = resolve(RunConfig(DatasetSpec("x"), ModelSpec(modalities=("text",), text=TextSpec(encoder="gru"))), data)
    assert "linear" not in gru.model.text.options
    regress, _ = resolve(RunConfig(DatasetSpec("x"), ModelSpec(modalities=("text",), task="regress")), data)
    assert "linear" not in regress.model.text.options


def test_another_text_encoder_drops_the_linear_options():
    from mmstudio.engine.autoconfig import with_text_encoder

    data = _Data(_items(400, text=_texts), ["text"])
    run, _ = resolve(RunConfig(DatasetSpec("x"), ModelSpec(modalities=("text",))), data)
    gru = with_text_encoder(run.model.text, "gru")
    assert not {"linear", "sublinear", "l2", "lr_scale"} & set(gru.options)
    back = with_text_encoder(gru, "ngram")  # chosen again from the data when ngram comes back
    again, _ = resolve(run.replace(model=run.model.replace(text=back)), data)
    assert again.model.text.options == run.model.text.options


def test_options_the_user_gave_the_ngram_encoder_are_kept():
    data = _Data(_items(400, text=_texts), ["text"])
    own = RunConfig(
        DatasetSpec("x"),
        ModelSpec(modalities=("text",), text=TextSpec(encoder="ngram", options={"l2": 0.01, "lr_scale": 2.0})),
    )
    run, chosen = resolve(own, data)
    assert run.model.text.options["l2"] == 0.01 and run.model.text.options["lr_scale"] == 2.0
    assert run.model.text.options["linear"] is True  # the rest is still chosen
    assert "model.text.options.l2" not in {c.field for c in chosen}

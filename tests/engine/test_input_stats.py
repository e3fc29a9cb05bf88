"""A model knows what its inputs looked like (issue 13): the bundle keeps the training inputs'
ranges, and inputs far outside them get a plain sentence in eval and Query. Query lists each
target input once."""

from __future__ import annotations

import types

import torch

from mmstudio.engine.inputstats import compute, input_warnings
from mmstudio.engine.query_session import QuerySession


def _digits_like(n: int, invert: bool = False) -> torch.Tensor:
    """White strokes on black (MNIST-like), or black on white."""
    gen = torch.Generator().manual_seed(0)
    img = torch.zeros(n, 1, 16, 16, dtype=torch.uint8)
    img[:, :, 4:12, 6:10] = (200 + torch.randint(0, 55, (n, 1, 8, 4), generator=gen)).to(torch.uint8)
    return 255 - img if invert else img


def test_inputs_unlike_training_are_named_in_a_sentence():
    train = {"image": _digits_like(200)}
    stats = compute(train, {"image": torch.ones(200, dtype=torch.bool)})
    assert set(stats["image"]) == {"brightness", "contrast"}
    assert input_warnings(stats, {"image": _digits_like(50)}) == []
    notes = input_warnings(stats, {"image": _digits_like(50, invert=True)})
    assert len(notes) == 1 and "100% of these images look unlike" in notes[0] and "brighter" in notes[0]
    one = input_warnings(stats, {"image": _digits_like(1, invert=True)})
    assert one and one[0].startswith("This image looks unlike the model's training data")


def test_unknown_words_are_flagged():
    stats = {"text": {"unknown": [0.0, 0.5]}}
    known = torch.tensor([[5, 6, 7, 0]])
    unknown = torch.tensor([[1, 1, 1, 7]])
    assert input_warnings(stats, {"text": known}) == []
    assert "unknown to this model" in input_warnings(stats, {"text": unknown})[0]


def test_a_trained_bundle_records_its_input_ranges(trained):
    from mmstudio.engine.bundle import load_bundle

    bundle = load_bundle(trained["result"].bundle)
    stats = bundle.meta["input_stats"]
    assert {"image", "audio"} <= set(stats)
    low, high = stats["image"]["brightness"]
    assert 0 <= low <= high <= 255


def test_query_results_list_each_input_once():
    items = [
        {"id": f"{i}#{k}", "image": f"/img/{i}.png", "text": f"caption {k}", "label": None}
        for i in range(3)
        for k in range(3)
    ]
    stub = types.SimpleNamespace(items=items)
    hits = [(0, 0.9), (1, 0.89), (3, 0.8), (2, 0.7), (6, 0.6)]
    rows = QuerySession._results(stub, hits, "image")
    assert [r["path"] for r in rows] == ["/img/0.png", "/img/1.png", "/img/2.png"]
    assert [r["rank"] for r in rows] == [1, 2, 3] and rows[0]["score"] == 0.9

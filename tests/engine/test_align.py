"""The align task learns a shared space; retrieval metrics count exact pairs and same labels."""

from __future__ import annotations

import pytest
import torch
from engine_helpers import drain, tiny_run

from mmstudio import engine
from mmstudio.engine.metrics import random_label_recall, retrieval_metrics


def test_align_image_audio_retrieves_same_label(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("image", "audio"), task="align")
    _, result = drain(engine.train(run, str(tmp_path / "align")))
    metrics = engine.evaluate(result.bundle, str(synth_manifest), split="test")
    assert "accuracy" not in metrics  # no classifier in an align-only model
    for pair in ("audio->image", "image->audio"):
        label = metrics["retrieval"][pair]["label"]
        assert label["recall@1"] >= 0.9 and label["median_rank"] == 1.0
    # Queries through a saved index rank images of the spoken class first.
    engine.build_index(result.bundle, str(synth_manifest), split="test")
    audio = sorted((synth_manifest.parent / "audio").glob("s2_*.wav"))[3]
    hits = engine.query(result.bundle, audio=str(audio), top=3)
    assert hits["target"] == "image" and [h["label"] for h in hits["results"]] == ["two"] * 3


def test_retrieval_metrics_known_ranks():
    # similarities without ties (row: query, column: corpus item; query i's pair is item i):
    # query 0 ranks its pair 3rd, query 1 1st, query 2 2nd
    sims = torch.tensor([[0.2, 0.9, 0.5], [0.3, 0.8, 0.1], [0.7, 0.0, 0.6]])
    labels = torch.tensor([0, 0, 1])  # same-label ranks: 1 (item 1), 1 (item 1), 2 (item 2)
    r = retrieval_metrics(torch.eye(3), sims.T, labels, ks=(1, 2))
    assert r["exact"]["recall@1"] == pytest.approx(1 / 3, abs=1e-6)
    assert r["exact"]["recall@2"] == pytest.approx(2 / 3, abs=1e-6)
    assert r["exact"]["median_rank"] == 2.0
    assert r["label"]["recall@1"] == pytest.approx(2 / 3, abs=1e-6) and r["label"]["recall@2"] == 1.0
    assert r["label"]["median_rank"] == 1.0


def test_random_label_recall_baseline():
    labels = torch.tensor([0] * 10 + [1] * 90)
    expected = (10 * (1 - 0.9**1) + 90 * (1 - 0.1**1)) / 100  # k = 1, exact
    assert random_label_recall(labels, 1) == pytest.approx(expected, abs=1e-9)

"""Automatic batch size: the search finds the largest size that fits, whatever the limit."""

from __future__ import annotations

import pytest
import torch

from mmstudio.config import DatasetSpec, ImageSpec, ModelSpec, RunConfig, TrainSpec
from mmstudio.engine.autobatch import largest_batch
from mmstudio.engine.model_catalog import memory_estimate


@pytest.mark.parametrize("limit", [1, 7, 31, 32, 33, 100, 1000, 5000])
def test_largest_batch_finds_the_limit_within_six_percent(limit):
    tried = []

    def fits(b: int) -> bool:
        tried.append(b)
        if b > limit:  # what a real GPU does: raise out of memory
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return True

    found = largest_batch(fits, start=32, maximum=4096)
    target = min(limit, 4096)
    assert found <= target and found >= target * 0.94 - 1
    assert len(tried) < 25, "a short probe, not a scan"


def test_largest_batch_stops_at_the_dataset_size_and_explains_when_nothing_fits():
    assert largest_batch(lambda b: True, 32, 200) == 200
    with pytest.raises(RuntimeError, match="not even a batch of 1"):
        largest_batch(lambda b: False, 32, 200)


def test_memory_estimate_grows_with_batch_and_image_size():
    def run(batch, size):
        model = ModelSpec(modalities=("image",), image=ImageSpec("cnn", size=size))
        return RunConfig(DatasetSpec("x"), model, TrainSpec(batch_size=batch, device="cpu"))

    small = memory_estimate(run(32, 28))
    assert small["parameters"] > 0 and small["weights_bytes"] == 16 * small["parameters"]
    assert memory_estimate(run(64, 28))["activation_bytes"] == pytest.approx(2 * small["activation_bytes"], rel=0.01)
    assert memory_estimate(run(32, 56))["activation_bytes"] > 3 * small["activation_bytes"]

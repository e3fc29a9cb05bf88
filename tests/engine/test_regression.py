"""The regress task: target standardisation, metrics, training, bundles, predict and export."""

from __future__ import annotations

import math

import pytest
import torch
from engine_helpers import drain, tiny_run
from synth import make_regress_dataset

from mmstudio.engine.regression import TargetScaler, regress_loss, regression_metrics, worst_items


@pytest.fixture(scope="module")
def regress_manifest(tmp_path_factory):
    return make_regress_dataset(tmp_path_factory.mktemp("regress"), n=80)


@pytest.fixture(scope="module")
def regress_bundle(regress_manifest, tmp_path_factory):
    from mmstudio import engine
    from mmstudio.config import DatasetSpec

    out = tmp_path_factory.mktemp("regress-run")
    run = tiny_run(regress_manifest, task="regress", fusion="concat", train={"epochs": 25, "batch_size": 16})
    run = run.replace(dataset=DatasetSpec(str(regress_manifest), columns={"score": "target"}))
    _, result = drain(engine.train(run, str(out)))
    return result.bundle


def test_scaler_round_trip_and_constant_targets():
    scaler = TargetScaler.fit([2.0, 4.0, 6.0, None])
    assert scaler.mean == pytest.approx(4.0)
    assert scaler.std == pytest.approx(2.0)  # sample standard deviation
    y = torch.tensor([1.5, 4.0, 9.25])
    assert torch.allclose(scaler.restore(scaler.standardise(y)), y)
    assert scaler.standardise(torch.tensor([6.0])).item() == pytest.approx(1.0)
    assert TargetScaler.fit([3.0, 3.0]).std == 1.0  # constant targets do not divide by zero
    with pytest.raises(ValueError, match="target"):
        TargetScaler.fit([None, None])


def test_metrics_against_known_values():
    pred, true = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 3.0, 5.0])
    m = regression_metrics(pred, true, train_mean=2.0)
    assert m["items"] == 3
    assert m["mae"] == pytest.approx(1.0)
    assert m["rmse"] == pytest.approx(math.sqrt(5 / 3), abs=1e-6)
    assert m["r2"] == pytest.approx(1 - 5 / 8)
    assert m["baseline"]["mae"] == pytest.approx(5 / 3, abs=1e-6)
    assert m["baseline"]["rmse"] == pytest.approx(math.sqrt(11 / 3), abs=1e-6)
    assert m["baseline"]["r2"] == pytest.approx(1 - 11 / 8)
    # items without a target (NaN) are left out
    nan = regression_metrics(torch.tensor([1.0, 9.0]), torch.tensor([2.0, math.nan]), 0.0)
    assert nan["items"] == 1 and nan["mae"] == pytest.approx(1.0)
    assert worst_items([1.0, 2.0, 3.0], [1.0, 3.0, 5.0]) == [2, 1, 0]


def test_losses_ignore_missing_targets_and_are_on_standardised_values():
    scaler = TargetScaler(10.0, 2.0)
    value, target = torch.tensor([12.0, 0.0]), torch.tensor([10.0, math.nan])
    assert regress_loss(value, target, scaler, "mse").item() == pytest.approx(1.0)
    assert regress_loss(value, target, scaler, "l1").item() == pytest.approx(1.0)
    assert regress_loss(value, target, scaler, "huber").item() == pytest.approx(0.5)


def test_trained_bundle_stores_the_standardisation_and_beats_the_mean(regress_bundle, regress_manifest):
    import json

    from mmstudio import engine
    from mmstudio.config import DatasetSpec
    from mmstudio.data import open_dataset

    meta = json.loads((__import__("pathlib").Path(regress_bundle) / "bundle.json").read_text())
    dataset = open_dataset(DatasetSpec(str(regress_manifest), columns={"score": "target"}))
    train = [it.target for it in dataset.subset("train")]
    scaler = TargetScaler.fit(train)
    assert meta["shape"]["target_mean"] == pytest.approx(scaler.mean)
    assert meta["shape"]["target_std"] == pytest.approx(scaler.std)
    result = engine.evaluate(regress_bundle, str(regress_manifest), split="test")
    assert result["items"] == 16
    assert result["mae"] < 0.8 * result["baseline"]["mae"]
    assert set(result["ablation"]) == {"without_image", "without_text"}
    one = engine.predict(regress_bundle, image=dataset.subset("test")[0].image, text="a box of two apples")
    assert isinstance(one["value"], float) and -5 < one["value"] < 15  # in the target's units


def test_predict_dataset_writes_numbers(regress_bundle, regress_manifest, tmp_path):
    import csv

    from mmstudio import engine

    result = engine.predict_dataset(regress_bundle, str(regress_manifest), split="test")
    assert result["labelled"] == 16 and "mae" in result["regression"]
    path = engine.write_predictions(result["rows"], str(tmp_path / "p.csv"))
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {"target", "predicted", "error"} <= set(rows[0])
    assert abs(float(rows[0]["predicted"]) - float(rows[0]["target"]) - float(rows[0]["error"])) < 1e-4


def test_report_has_scatter_values_residuals_and_worst(regress_bundle, regress_manifest):
    from mmstudio import engine

    report = engine.evaluation_report(regress_bundle, str(regress_manifest), split="test")
    assert len(report["values"]["true"]) == len(report["values"]["pred"]) == 16
    variants = report["residuals"]["variants"]
    assert {"fused", "without image", "without text", "only image", "only text"} <= set(variants)
    assert variants["fused"]["mae"] < variants["only image"]["mae"]
    worst = report["worst"]
    errors = [abs(report["values"]["pred"][i] - report["values"]["true"][i]) for i in worst]
    assert errors == sorted(errors, reverse=True)


def test_onnx_export_outputs_the_number(regress_bundle, tmp_path):
    pytest.importorskip("onnxruntime")
    from mmstudio import engine

    info = engine.export(regress_bundle, "onnx", str(tmp_path / "pkg"))
    assert info["outputs"] == ["value"] and info["ok"]


def test_rules_need_targets(regress_manifest):
    from mmstudio import engine
    from mmstudio.config import DatasetSpec
    from mmstudio.data import open_dataset

    run = tiny_run(regress_manifest, task="regress")
    dataset = open_dataset(DatasetSpec(str(regress_manifest)))  # score left as "ignore"
    assert dataset.target_candidate() == "score"
    problems = engine.check(run, dataset)
    assert any(p.field == "model.task" and "target" in p.message for p in problems)


@pytest.mark.parametrize("fusion", __import__("mmstudio.engine.components", fromlist=["FUSIONS"]).FUSIONS.names())
def test_every_fusion_regresses_in_the_target_units(fusion):
    from mmstudio.config import ModelSpec
    from mmstudio.engine.model import ModelShape, MultimodalModel
    from mmstudio.engine.regression import scaler_of

    shape = ModelShape(("image", "text"), 0, 1, 20, target_mean=100.0, target_std=10.0)
    model = MultimodalModel(ModelSpec(dim=16, task="regress", fusion=fusion), shape, dropout=0.0).eval()
    inputs = {"image": torch.randint(0, 255, (4, 1, 28, 28), dtype=torch.uint8), "text": torch.randint(0, 20, (4, 5))}
    mask = {"image": torch.tensor([True, True, False, True]), "text": torch.tensor([True, False, True, True])}
    out = model(inputs, mask)
    assert set(out) == {"value"} and out["value"].shape == (4,)
    z = model.logits(model.encode(inputs), mask)[:, 0]
    assert torch.allclose(out["value"], z * 10.0 + 100.0, atol=1e-4)
    loss = regress_loss(out["value"], torch.tensor([90.0, 100.0, math.nan, 120.0]), scaler_of(shape), "huber")
    loss.backward()
    assert torch.isfinite(loss)

"""The Evaluate panel's report for the ``regress`` task: every item's predicted and true
number, the metrics beside the mean baseline, the residuals with each modality removed (and
with only one kept), and the items predicted worst. Plain values out (see :mod:`.report`)."""

from __future__ import annotations

import math
from typing import Any

import torch

from mmstudio.engine.regression import regression_metrics, worst_items

#: Items listed under "worst predicted".
WORST = 50


def regress_report(outputs: dict[str, Any], feats, mods: list[str], train_mean: float) -> dict[str, Any]:
    """``outputs`` maps a run name ("fused", "without text", "only image") to its ``value``."""
    if feats.targets is None:
        return {"regression": {"items": 0, "note": "no item of this split has a target"}}
    true = feats.targets
    pred = outputs["fused"]["value"]
    true_list = [None if math.isnan(t) else round(t, 6) for t in true.tolist()]
    pred_list = [round(p, 6) for p in pred.tolist()]
    report: dict[str, Any] = {
        "regression": regression_metrics(pred, true, train_mean),
        "values": {"true": true_list, "pred": pred_list},
        "worst": worst_items(pred_list, [math.nan if t is None else t for t in true_list], WORST),
        "residuals": _residuals(outputs, true, mods, train_mean),
    }
    return report


def _residuals(outputs: dict[str, Any], true: torch.Tensor, mods: list[str], train_mean: float) -> dict[str, Any]:
    """MAE and RMSE per ablation, and each variant's residuals (predicted - true) for a histogram."""
    keep = ~torch.isnan(true)
    names = ["fused"] + [f"{kind} {m}" for kind in ("without", "only") for m in mods if len(mods) > 1]
    out: dict[str, Any] = {"metric": "mae", "variants": {}}
    for name in names:
        if name not in outputs:
            continue
        value = outputs[name]["value"]
        scores = regression_metrics(value, true, train_mean)
        residual = (value[keep] - true[keep]).tolist()
        out["variants"][name] = {
            "mae": scores["mae"],
            "rmse": scores["rmse"],
            "r2": scores["r2"],
            "residuals": [round(r, 5) for r in residual],
        }
    return out


def regress_tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """CSV tables for :func:`~mmstudio.engine.report.save_report`: metrics, ablation, predictions."""
    if "regression" not in report or "values" not in report:
        return []
    r = report["regression"]
    rows = [[k, r[k], r["baseline"][k]] for k in ("mae", "rmse", "r2") if k in r]
    tables = [("regression.csv", ["metric", "model", "mean baseline"], rows)]
    variants = report.get("residuals", {}).get("variants", {})
    tables.append(
        (
            "ablation.csv",
            ["model", "mae", "rmse", "r2"],
            [[n, v["mae"], v["rmse"], v["r2"]] for n, v in variants.items()],
        )
    )
    v, items = report["values"], report.get("samples", [])
    tables.append(
        (
            "predictions.csv",
            ["index", "id", "true", "predicted", "error"],
            [
                [i, items[i]["id"] if i < len(items) else "", t, p, "" if t is None else round(p - t, 6)]
                for i, (t, p) in enumerate(zip(v["true"], v["pred"]))
            ],
        )
    )
    return tables

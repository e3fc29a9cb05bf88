"""The ``regress`` task: predicting a number, trained on standardised targets.

The training targets' mean and standard deviation are measured once (:class:`TargetScaler`) and
stored in the bundle (``shape.target_mean``/``target_std`` in ``bundle.json``); the model
standardises inside and outputs numbers in the target's own units, so ``predict``, export and
the studio never see standardised values. Metrics are MAE, RMSE and R², each beside the
baseline that always predicts the training mean.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class TargetScaler:
    """``z = (y - mean) / std``, fitted on the training targets (std 1 when they are constant)."""

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, targets: Iterable[float | None]) -> TargetScaler:
        values = [float(t) for t in targets if t is not None and math.isfinite(t)]
        if not values:
            raise ValueError("the regress task needs numeric targets in the train split (a column with role 'target')")
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)
        std = math.sqrt(var)
        return cls(mean, std if std > 1e-12 else 1.0)

    def standardise(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.mean) / self.std

    def restore(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean


def scaler_of(shape: Any) -> TargetScaler:
    """The scaler a :class:`~mmstudio.engine.model.ModelShape` (so a bundle) stores."""
    return TargetScaler(float(shape.target_mean), float(shape.target_std))


def fit_targets(shape: Any, spec: Any, train_items: list) -> Any:
    """``shape`` with the training targets' mean and std when ``spec.task`` is regress."""
    if spec.task != "regress":
        return shape
    scaler = TargetScaler.fit(it.target for it in train_items)
    return dataclasses.replace(shape, target_mean=scaler.mean, target_std=scaler.std)


def target_tensor(items: list) -> torch.Tensor | None:
    """The items' targets as float32, NaN where an item has none (None when none has one)."""
    if not any(getattr(it, "target", None) is not None for it in items):
        return None
    return torch.tensor([it.target if it.target is not None else math.nan for it in items], dtype=torch.float32)


def regress_loss(value: torch.Tensor, target: torch.Tensor, scaler: TargetScaler, kind: str = "mse") -> torch.Tensor:
    """The loss on standardised values, over the samples that have a target (NaN: none)."""
    keep = ~torch.isnan(target)
    if not bool(keep.any()):
        return value.sum() * 0.0
    pred = scaler.standardise(value.float()[keep])
    true = scaler.standardise(target[keep])
    if kind == "huber":
        return F.huber_loss(pred, true, delta=1.0)
    if kind == "l1":
        return F.l1_loss(pred, true)
    return F.mse_loss(pred, true)


def regression_metrics(pred: torch.Tensor, true: torch.Tensor, train_mean: float) -> dict[str, Any]:
    """MAE, RMSE and R² over the items with a target, and the same for the baseline that
    predicts ``train_mean`` for every item (R² uses the split's own mean, as scikit-learn's
    ``r2_score`` does, so the baseline's R² is at most 0)."""
    keep = ~torch.isnan(true)
    p, t = pred.double()[keep], true.double()[keep]
    n = int(t.numel())
    if n == 0:
        return {"items": 0}
    base = torch.full_like(t, float(train_mean))
    return {
        "items": n,
        **_scores(p, t, ""),
        "baseline": {**_scores(base, t, ""), "predicts": round(float(train_mean), 6)},
    }


def _scores(p: torch.Tensor, t: torch.Tensor, prefix: str) -> dict[str, float]:
    err = p - t
    ss_tot = float(((t - t.mean()) ** 2).sum())
    ss_res = float((err**2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {
        f"{prefix}mae": round(float(err.abs().mean()), 6),
        f"{prefix}rmse": round(float(err.pow(2).mean().sqrt()), 6),
        f"{prefix}r2": round(r2, 6),
    }


def quick_regress_scores(pred: torch.Tensor, true: torch.Tensor, scaler: TargetScaler) -> dict[str, float]:
    """Per-epoch validation figures: R² (the headline: higher is better), MAE and the loss."""
    keep = ~torch.isnan(true)
    if not bool(keep.any()):
        return {}
    scores = _scores(pred.double()[keep], true.double()[keep], "")
    z = F.mse_loss(scaler.standardise(pred[keep].float()), scaler.standardise(true[keep]))
    return {"r2": scores["r2"], "mae": scores["mae"], "loss": round(float(z), 6)}


def worst_items(pred: list[float], true: list[float], count: int = 50) -> list[int]:
    """Item indices by absolute error, largest first (items without a target left out)."""
    order = [i for i, t in enumerate(true) if t is not None and not math.isnan(t)]
    return sorted(order, key=lambda i: -abs(pred[i] - true[i]))[:count]


def regress_summary(model, feats, values: torch.Tensor, dropped, ablation: bool = True) -> dict[str, Any]:
    """``evaluate``'s regress figures: the metrics with the baseline, and the MAE with each
    modality masked (``dropped(m)`` runs the model without ``m``)."""
    if feats.targets is None:
        return {"note": "no item of this split has a target"}
    out = regression_metrics(values, feats.targets, float(model.shape.target_mean))
    if ablation and len(model.modalities) > 1:
        out["ablation"] = {
            f"without_{m}": regression_metrics(dropped(m)["value"], feats.targets, 0.0).get("mae")
            for m in model.modalities
        }
    return out

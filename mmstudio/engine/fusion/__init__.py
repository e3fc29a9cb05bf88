"""Fusion registry. A fusion maps ``dict[str, Tensor (B, D)]`` plus a per-sample mask
``dict[str, BoolTensor (B,)]`` to one tensor ``(B, out_dim)``; missing modalities are masked,
never dropped. ``late`` returns class logits itself (``produces_logits``)."""

from __future__ import annotations

from mmstudio.engine.fusion import basic, learned  # noqa: F401  (registers the fusions)
from mmstudio.engine.fusion.base import FUSIONS, Fusion

__all__ = ["FUSIONS", "Fusion"]

"""Image encoders: a small conv net for small images and torchvision backbones (random init, a
local weights file, or published weights found in the torch hub cache: see
:mod:`.pretrained_image`; nothing is ever downloaded here)."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from mmstudio.engine import pretrained
from mmstudio.engine.encoders.base import IMAGE_ENCODERS, projection
from mmstudio.engine.encoders.pretrained_image import TorchvisionBackbone


class SmallCNN(nn.Module):
    """Three conv blocks and global pooling: fast on CPU at 28-64 px."""

    def __init__(
        self, dim: int = 128, in_channels: int = 1, dropout: float = 0.1, width: int = 32, weights: str = ""
    ) -> None:
        super().__init__()

        def block(cin: int, cout: int, pool: bool) -> list[nn.Module]:
            layers: list[nn.Module] = [
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
            return layers + ([nn.MaxPool2d(2)] if pool else [])

        w = width
        self.features = nn.Sequential(
            *block(in_channels, w, True),
            *block(w, 2 * w, True),
            *block(2 * w, 4 * w, False),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.proj = projection(4 * w, dim, dropout)
        self.out_dim = dim
        if weights and pretrained.reading_files():  # a bundle holds them: its file is not read
            load_backbone_weights(self, weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(x))


def load_backbone_weights(module: nn.Module, path: str) -> None:
    """Load a local ``.safetensors`` or ``.pth`` state dict (``weights_only=True``: no unpickling).

    Keys that do not fit (a classifier for another number of classes) are skipped.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image encoder weights not found: {path}")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        state: Any = load_file(path)
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"{path}: not a plain tensor state dict (refused to unpickle "
                f"code; save it with torch.save(model.state_dict()) or as "
                f".safetensors): {exc}"
            ) from exc
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
    own = module.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not fitting:
        raise ValueError(f"{path}: no weight in this file fits the chosen encoder")
    module.load_state_dict(fitting, strict=False)


@IMAGE_ENCODERS.register("cnn")
def _cnn(**kw) -> nn.Module:
    """Small 3-block conv net; fast on CPU for small images (28-64 px)."""
    return SmallCNN(**kw)


def _torchvision(arch: str):
    def factory(**kw) -> nn.Module:
        return TorchvisionBackbone(arch, **kw)

    return factory


for _arch in (
    "resnet18",
    "resnet34",
    "resnet50",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "convnext_tiny",
):
    IMAGE_ENCODERS.register(_arch)(_torchvision(_arch))

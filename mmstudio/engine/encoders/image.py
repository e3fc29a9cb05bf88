"""Image encoders: a small conv net for small images and torchvision backbones (random init, or
weights from a local file the user picks; nothing is ever downloaded)."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from mmstudio.engine.encoders.base import IMAGE_ENCODERS, projection


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
        if weights:
            load_backbone_weights(self, weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(x))


class TorchvisionBackbone(nn.Module):
    """A torchvision classifier with its last layer removed; grey inputs are repeated to RGB."""

    def __init__(
        self, arch: str, dim: int = 128, in_channels: int = 3, dropout: float = 0.1, weights: str = ""
    ) -> None:
        super().__init__()
        import torchvision.models as tvm

        net = getattr(tvm, arch)(weights=None)
        if weights:
            load_backbone_weights(net, weights)
        if arch.startswith("resnet"):
            feat = net.fc.in_features
            net.fc = nn.Identity()
        else:  # mobilenet_v3: keep the pooled features before the classifier
            feat = net.classifier[0].in_features
            net.classifier = nn.Identity()
        self.backbone = net
        self.in_channels = in_channels
        self.proj = projection(feat, dim, dropout)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.proj(self.backbone(x))


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


@IMAGE_ENCODERS.register("resnet18")
def _resnet18(**kw) -> nn.Module:
    """ResNet-18 (torchvision, 11 M parameters)."""
    return TorchvisionBackbone("resnet18", **kw)


@IMAGE_ENCODERS.register("resnet34")
def _resnet34(**kw) -> nn.Module:
    """ResNet-34 (torchvision, 21 M parameters)."""
    return TorchvisionBackbone("resnet34", **kw)


@IMAGE_ENCODERS.register("mobilenet_v3_small")
def _mobilenet(**kw) -> nn.Module:
    """MobileNetV3-Small (torchvision, 1.5 M parameters)."""
    return TorchvisionBackbone("mobilenet_v3_small", **kw)

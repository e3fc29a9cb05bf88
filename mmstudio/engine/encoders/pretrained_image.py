"""torchvision backbones as image encoders, from random numbers or from published weights.

With catalogue weights (:mod:`mmstudio.engine.pretrained`) the encoder applies the weights' own
preprocessing (resize, centre crop, normalisation: torchvision's ``weights.transforms()``) to the
raw 0-255 images it is given, so a bundle or an export needs nothing else. Its ``tune`` option:
frozen (the default with weights) keeps the backbone fixed, so the trainer computes its outputs
once per file (:mod:`mmstudio.engine.features`) and trains the projection, fusion and heads on
them; finetune trains the last blocks too, at a tenth of the learning rate.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mmstudio.engine import pretrained
from mmstudio.engine.encoders.base import projection

#: The blocks fine-tune mode trains, per architecture (module names inside the torchvision net).
LAST_BLOCKS = {
    "resnet": ("layer4",),
    "mobilenet_v3_small": ("features.11", "features.12"),
    "mobilenet_v3_large": ("features.15", "features.16"),
    "efficientnet_b0": ("features.7", "features.8"),
    "convnext_tiny": ("features.7", "classifier.0"),
}


def tune_mode(tune: str, pretrained_weights: bool) -> str:
    """``auto`` resolved: frozen with catalogue weights, else every layer trains ("all")."""
    if tune not in pretrained.TUNE_MODES:
        raise ValueError(f"tune must be one of {', '.join(pretrained.TUNE_MODES)}, got {tune!r}")
    if tune == "auto":
        return "frozen" if pretrained_weights else "all"
    return tune


class TorchvisionBackbone(nn.Module):
    """A torchvision classifier without its last layer, then a projection to ``dim``.

    ``weights``: "" (random), a catalogue name (``resnet18.imagenet1k_v1``) or a local
    ``.pth``/``.safetensors`` file (legacy: the model's own normalisation, every layer trains).
    ``from_features`` (set by the trainer in frozen mode) makes ``forward`` take the backbone's
    cached outputs instead of images.
    """

    mean: torch.Tensor  # the weights' normalisation, (1, 3, 1, 1)
    std: torch.Tensor

    def __init__(
        self,
        arch: str,
        dim: int = 128,
        in_channels: int = 3,
        dropout: float = 0.1,
        weights: str = "",
        tune: str = "auto",
    ) -> None:
        super().__init__()
        import torchvision.models as tvm

        info = pretrained.weights_of("image", arch, weights)
        if info is not None and info.encoder != arch:
            raise pretrained.WeightsError(f"weights {info.name} are for {info.encoder}, not {arch}")
        net = getattr(tvm, arch)(weights=None)
        if pretrained.reading_files() and info is not None:
            from mmstudio.engine.weights_check import load_into

            load_into(net, info, pretrained.require_present(info))
        elif pretrained.reading_files() and weights:
            from mmstudio.engine.encoders.image import load_backbone_weights

            load_backbone_weights(net, weights)
        self.feature_dim = _strip_classifier(arch, net)
        self.backbone = net
        self.in_channels = in_channels
        self.proj = projection(self.feature_dim, dim, dropout)
        self.out_dim = dim
        self.own_transform = info is not None
        self.from_features = False
        self.mode = tune_mode(tune, info is not None)
        self._arch = arch
        if info is not None:
            self._set_transform(tvm, info)
        self._freeze(arch)

    # ---- what the weights expect ----------------------------------------------------------
    def _set_transform(self, tvm, info: pretrained.WeightsInfo) -> None:
        enum_name, tag = info.source.split(".")[-2:]
        t = getattr(getattr(tvm, enum_name), tag).transforms()
        self.resize, self.crop = int(t.resize_size[0]), int(t.crop_size[0])
        self.interpolation = "bicubic" if "BICUBIC" in str(t.interpolation) else "bilinear"
        self.register_buffer("mean", torch.tensor(t.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(t.std).view(1, 3, 1, 1), persistent=False)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Raw 0-255 images ``(B, C, S, S)`` -> what the weights were trained on: resized
        (antialiased when shrinking), centre-cropped, normalised, grey repeated to RGB."""
        x = x.float() / 255.0
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        shrink = x.shape[-1] > self.resize
        x = F.interpolate(x, size=(self.resize, self.resize), mode=self.interpolation, antialias=shrink)
        top = (self.resize - self.crop) // 2
        x = x[..., top : top + self.crop, top : top + self.crop]
        return (x - self.mean) / self.std

    @property
    def raw_input(self) -> bool:
        """True when the model must hand this encoder raw images (it normalises them itself)
        or cached features, not the model's own normalisation."""
        return self.own_transform or self.from_features

    # ---- freezing ---------------------------------------------------------------------------
    def _freeze(self, arch: str) -> None:
        if self.mode == "all":
            return
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        if self.mode == "finetune":
            for name in self.last_blocks(arch):
                for p in self.backbone.get_submodule(name).parameters():
                    p.requires_grad_(True)
                    p.lr_scale = pretrained.FINETUNE_LR_SCALE  # read by make_optimizer

    @staticmethod
    def last_blocks(arch: str) -> tuple[str, ...]:
        return LAST_BLOCKS["resnet" if arch.startswith("resnet") else arch]

    def train(self, mode: bool = True) -> TorchvisionBackbone:
        """Frozen layers stay in eval mode (their batch-norm statistics are the weights')."""
        super().train(mode)
        if self.mode != "all":
            self.backbone.eval()
            if mode and self.mode == "finetune":
                for name in self.last_blocks(self._arch):
                    self.backbone.get_submodule(name).train()
        return self

    # ---- forward --------------------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's pooled outputs ``(B, feature_dim)`` for images."""
        if self.own_transform:
            x = self.transform(x)
        elif x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.from_features:
            return self.proj(x.float())
        return self.proj(self.features(x))


def _strip_classifier(arch: str, net: Any) -> int:
    """Replace the classifier's last layer by the identity; returns the pooled feature size."""
    if arch.startswith("resnet"):
        feat = net.fc.in_features
        net.fc = nn.Identity()
    elif arch.startswith("mobilenet_v3"):
        feat = net.classifier[0].in_features
        net.classifier = nn.Identity()
    elif arch == "efficientnet_b0":
        feat = net.classifier[1].in_features
        net.classifier = nn.Identity()
    elif arch == "convnext_tiny":  # keep its LayerNorm and flatten
        feat = net.classifier[2].in_features
        net.classifier[2] = nn.Identity()
    else:
        raise ValueError(f"no image backbone {arch!r}")
    return int(feat)

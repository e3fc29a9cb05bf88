"""An encoder's feature sequence beside its pooled vector, for the ``generate`` task's decoders.

Encoders map a batch to ``(B, dim)``; a decoder that attends (or a CTC head that aligns) needs
what came before the pooling: the image's grid of positions or the audio's frames. The built-in
encoders expose it through their own layers here, so their classes and weights stay as they
are; any other encoder may offer ``sequence(x) -> (B, L, C)`` and a ``sequence_width`` attribute,
else it contributes its pooled vector alone.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from mmstudio.config import ModelSpec
from mmstudio.engine.components import DECODERS
from mmstudio.engine.encoders.audio import MelCNN, MelLSTM
from mmstudio.engine.encoders.image import SmallCNN, TorchvisionBackbone


def sequence_width(encoder: nn.Module, n_mels: int = 40) -> int:
    """Channels of one step of ``encoder``'s feature sequence (0: it has none to offer)."""
    if isinstance(encoder, SmallCNN):
        return _last_conv(encoder.features).out_channels
    if isinstance(encoder, MelCNN):
        return _last_conv(encoder.features).out_channels * (n_mels // 8)  # three 2x poolings
    if isinstance(encoder, MelLSTM):
        return encoder.rnn.hidden_size * (2 if encoder.rnn.bidirectional else 1)
    if _resnet_grid(encoder):
        backbone: Any = encoder  # a TorchvisionBackbone: its projection is dropout, linear, norm
        return int(backbone.proj[1].in_features)
    return int(getattr(encoder, "sequence_width", 0))


def sequence_features(encoder: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(pooled (B, dim), sequence (B, L, C) or None)``: one pass through ``encoder``.

    Image sequences run over positions (row by row), audio sequences over time (frames in order,
    which a CTC head needs)."""
    if isinstance(encoder, SmallCNN):
        grid = encoder.features[:-2](x)  # before the global pooling and flatten
        return encoder.proj(encoder.features[-2:](grid)), grid.flatten(2).transpose(1, 2)
    if isinstance(encoder, MelCNN):
        grid = encoder.features[:-2](encoder.norm(x.float().unsqueeze(1)))  # (B, C, F, T)
        pooled = encoder.proj(encoder.features[-2:](grid))
        return pooled, grid.permute(0, 3, 1, 2).flatten(2)  # (B, T, C*F): frames in time order
    if isinstance(encoder, MelLSTM):
        out, _ = encoder.rnn(encoder.norm(x.float()).transpose(1, 2))
        return encoder.proj(out.mean(1)), out
    if _resnet_grid(encoder):
        return _resnet(cast(TorchvisionBackbone, encoder), x)
    if hasattr(encoder, "sequence"):
        plugin: Any = encoder
        return encoder(x), plugin.sequence(x)
    return encoder(x), None


def _resnet_grid(encoder: nn.Module) -> bool:
    """A ResNet trained from scratch on our normalisation: its last grid is read directly
    (a pretrained one, with its own resizing, or fed cached features, gives its pooled vector)."""
    return (
        isinstance(encoder, TorchvisionBackbone)
        and hasattr(encoder.backbone, "layer4")
        and not getattr(encoder, "own_transform", False)
        and not getattr(encoder, "from_features", False)
    )


def _resnet(encoder: TorchvisionBackbone, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    net = encoder.backbone
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    grid = net.layer4(net.layer3(net.layer2(net.layer1(x))))
    return encoder.proj(torch.flatten(net.avgpool(grid), 1)), grid.flatten(2).transpose(1, 2)


def _last_conv(features: nn.Sequential) -> nn.Conv2d:
    return [m for m in features if isinstance(m, nn.Conv2d)][-1]


def build_decoder(spec: ModelSpec, shape, modalities: tuple[str, ...], encoders: nn.ModuleDict, dropout: float):
    """The ``generate`` task's decoder (``spec.decoder``) over ``encoders``' outputs."""
    widths = {m: sequence_width(encoders[m], shape.n_mels) for m in modalities}
    return DECODERS.create(
        spec.decoder,
        modalities=modalities,
        dim=spec.dim,
        seq_widths=widths,
        vocab_size=shape.vocab_size,
        max_len=spec.text.max_tokens + 1,
        dropout=dropout,
        **dict(spec.decoder_options),
    )

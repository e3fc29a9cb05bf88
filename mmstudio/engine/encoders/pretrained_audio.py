"""torchaudio's self-supervised speech models (wav2vec 2.0, HuBERT base) as audio encoders.

They hear 16 kHz waveforms (the preprocessor resamples every clip to that rate and keeps the
samples instead of a log-mel map) and exist only pretrained: the weights are the pipeline's
file in the torch hub cache, read with ``weights_only=True``. The features are the mean over
time of the mean of the transformer layers' outputs (lower layers carry speaker and sound,
upper ones phones and words). ``tune`` as for image backbones: frozen (default: outputs computed
once per file and cached), or finetune (the last two transformer layers train too, slower).
"""

from __future__ import annotations

import torch
from torch import nn

from mmstudio.engine import pretrained
from mmstudio.engine.encoders.base import projection
from mmstudio.engine.encoders.pretrained_image import tune_mode

SAMPLE_RATE = 16000
FINETUNE_LAYERS = 2


class SpeechEncoder(nn.Module):
    """A torchaudio wav2vec2-style model over ``(B, 1, samples)`` waveforms, then a projection."""

    def __init__(
        self,
        arch: str,
        n_mels: int = 1,
        frames: int = SAMPLE_RATE,
        dim: int = 128,
        dropout: float = 0.1,
        tune: str = "auto",
    ) -> None:
        super().__init__()
        import torchaudio.models

        info = pretrained.weights_of("audio", arch)
        if info is None:
            raise ValueError(f"no speech model {arch!r}")
        bundle = getattr(__import__("torchaudio.pipelines", fromlist=["x"]), info.source.rsplit(".", 1)[-1])
        self.model = torchaudio.models.wav2vec2_model(**bundle._params)
        if pretrained.reading_files():
            from mmstudio.engine.weights_check import load_into

            load_into(self.model, info, pretrained.require_present(info))
        self.feature_dim = int(bundle._params["encoder_embed_dim"])
        self.proj = projection(self.feature_dim, dim, dropout)
        self.out_dim = dim
        self.from_features = False
        self.mode = tune_mode(tune, True)
        for p in self.model.parameters():
            p.requires_grad_(self.mode == "all")
        if self.mode == "finetune":
            for layer in self._last_layers():
                for p in layer.parameters():
                    p.requires_grad_(True)
                    p.lr_scale = pretrained.FINETUNE_LR_SCALE  # type: ignore[attr-defined]  # read by make_optimizer

    def _last_layers(self) -> list[nn.Module]:
        return list(self.model.encoder.transformer.layers)[-FINETUNE_LAYERS:]

    def train(self, mode: bool = True) -> SpeechEncoder:
        """Frozen layers stay in eval mode (no dropout or layer drop in what is not learning)."""
        super().train(mode)
        if self.mode != "all":
            self.model.eval()
            if mode and self.mode == "finetune":
                for layer in self._last_layers():
                    layer.train()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, samples)`` 16 kHz waveforms -> ``(B, feature_dim)``."""
        layers, _ = self.model.extract_features(x.float().flatten(1))
        return torch.stack(layers).mean(0).mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.from_features:
            return self.proj(x.float())
        return self.proj(self.features(x))

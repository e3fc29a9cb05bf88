"""Audio encoders over log-mel/MFCC maps ``(B, n_mels, frames)``: a 2-D conv net and an LSTM
over frames. Each starts with a batch norm, so raw log-mel values need no dataset statistics."""

from __future__ import annotations

import torch
from torch import nn

from mmstudio.engine.encoders.base import AUDIO_ENCODERS, projection, recurrent


class MelCNN(nn.Module):
    """Conv blocks over the time-frequency map, then global pooling."""

    def __init__(
        self, n_mels: int = 40, frames: int = 51, dim: int = 128, dropout: float = 0.1, width: int = 32
    ) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]

        w = width
        self.norm = nn.BatchNorm2d(1)
        self.features = nn.Sequential(
            *block(1, w), *block(w, 2 * w), *block(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.proj = projection(4 * w, dim, dropout)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(self.norm(x.float().unsqueeze(1))))


class MelLSTM(nn.Module):
    """An LSTM over frames (one mel vector per step), mean-pooled."""

    def __init__(
        self,
        n_mels: int = 40,
        frames: int = 51,
        dim: int = 128,
        dropout: float = 0.1,
        hidden: int = 128,
        layers: int = 1,
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(n_mels)
        self.rnn, self.proj = recurrent("lstm", n_mels, hidden, layers, bidirectional, dropout, dim)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.norm(x.float()).transpose(1, 2))
        return self.proj(out.mean(1))


@AUDIO_ENCODERS.register("mel_cnn")
def _mel_cnn(**kw) -> nn.Module:
    """Conv net over the log-mel map."""
    return MelCNN(**kw)


@AUDIO_ENCODERS.register("mel_lstm")
def _mel_lstm(**kw) -> nn.Module:
    """Bidirectional LSTM over log-mel frames."""
    return MelLSTM(**kw)


def _speech(arch: str):
    def factory(**kw) -> nn.Module:
        from mmstudio.engine.encoders.pretrained_audio import SpeechEncoder

        return SpeechEncoder(arch, **kw)

    return factory


for _arch in ("wav2vec2_base", "hubert_base"):
    AUDIO_ENCODERS.register(_arch)(_speech(_arch))

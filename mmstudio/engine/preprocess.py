"""Turning one file or text into the tensor an encoder takes, the same way in training and queries.

Images become uint8 ``(C, S, S)`` at training size, audio a float16 ``(n_mels, frames)`` log-mel
or MFCC map of a fixed duration, text a list of token ids. These are what the feature cache keeps,
so that later epochs never decode a file again; float conversion, normalisation and augmentation
happen per batch (:func:`image_batch`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mmstudio.config import AudioSpec, ImageSpec, ModelSpec, TextSpec
from mmstudio.engine.tokenizer import Tokenizer

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass
class Preprocessor:
    """Everything needed to turn raw inputs into model inputs; saved in ``bundle.json``."""

    modalities: tuple[str, ...]
    image: ImageSpec
    text: TextSpec
    audio: AudioSpec
    channels: int = 1
    tokenizer: Tokenizer | None = None
    _transform: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_model_spec(
        cls, spec: ModelSpec, modalities: tuple[str, ...], channels: int = 1, tokenizer: Tokenizer | None = None
    ) -> Preprocessor:
        auto = [
            name
            for name, on, value in (
                ("image.size", "image", spec.image.size),
                ("text.max_tokens", "text", spec.text.max_tokens),
                ("audio.seconds", "audio", spec.audio.seconds),
                ("audio.sample_rate", "audio", spec.audio.sample_rate),
            )
            if on in modalities and not value
        ]
        if auto:  # 0 means "chosen from the data": engine.resolve_settings fills it in first
            raise ValueError(
                f"{', '.join(auto)} not chosen yet: resolve the run's automatic settings from its data first"
            )
        return cls(tuple(modalities), spec.image, spec.text, spec.audio, channels, tokenizer)

    # ---- one input ------------------------------------------------------------------------
    def load_image(self, path: str) -> torch.Tensor:
        from mmstudio.data import read_image

        return self.image_from_pil(read_image(path))

    def image_from_pil(self, img: Any) -> torch.Tensor:
        from torchvision.transforms import v2

        img = img.convert("L" if self.channels == 1 else "RGB")
        size = (self.image.size, self.image.size)
        return v2.Resize(size, antialias=True)(v2.functional.pil_to_tensor(img)).contiguous()

    def load_audio(self, path: str) -> torch.Tensor:
        from mmstudio.data import read_audio

        wave, rate = read_audio(path)
        if self.wave_input:  # speech models hear the samples themselves
            return self.fit_wave(wave, rate)[None].to(torch.float16)
        return self.features(self.fit_wave(wave, rate)[None])[0]

    @property
    def wave_input(self) -> bool:
        """Whether the audio encoder takes 16 kHz samples (wav2vec2, HuBERT) instead of a log-mel map."""
        from mmstudio.engine.pretrained import AUDIO_WEIGHTS

        return self.audio.encoder in AUDIO_WEIGHTS

    def fit_wave(self, wave: np.ndarray, rate: int) -> torch.Tensor:
        """Resample to the set rate, then crop (centre) or zero-pad (end) to the set duration."""
        import torchaudio.functional as AF

        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
        if rate != self.audio.sample_rate:
            x = AF.resample(x, rate, self.audio.sample_rate)
        n = self.samples
        if x.numel() > n:
            start = (x.numel() - n) // 2
            x = x[start : start + n]
        elif x.numel() < n:
            x = torch.nn.functional.pad(x, (0, n - x.numel()))
        return x

    @property
    def samples(self) -> int:
        return int(round(self.audio.sample_rate * self.audio.seconds))

    @property
    def audio_shape(self) -> tuple[int, int]:
        if self.wave_input:
            return (1, self.samples)
        return (self.audio.n_mels, self.samples // self.hop + 1)

    @property
    def hop(self) -> int:
        return max(1, int(round(self.audio.sample_rate * self.audio.hop_ms / 1000)))

    def features(self, waves: torch.Tensor) -> torch.Tensor:
        """``(B, samples)`` float waveforms -> ``(B, n_mels, frames)`` float16 features."""
        if self._transform is None:
            self._transform = self._make_transform()
        out = self._transform(waves)
        if self.audio.features == "logmel":
            out = torch.log(out + 1e-6)
        return out.to(torch.float16)

    @property
    def n_fft(self) -> int:
        """FFT size: the power of two at or above two hops (the window is as long)."""
        return 2 ** math.ceil(math.log2(2 * self.hop))

    def _make_transform(self) -> torch.nn.Module:
        import torchaudio.transforms as AT

        mel = {"n_fft": self.n_fft, "hop_length": self.hop, "n_mels": self.audio.n_mels}
        if self.audio.features == "mfcc":
            return AT.MFCC(self.audio.sample_rate, n_mfcc=self.audio.n_mels, melkwargs=mel)
        return AT.MelSpectrogram(self.audio.sample_rate, **mel)

    def encode_text(self, text: str) -> list[int]:
        if self.tokenizer is None:
            raise RuntimeError("this model has no text tokenizer")
        return self.tokenizer.encode(text, self.text.max_tokens)

    def text_batch(self, texts: list[str]) -> torch.Tensor:
        ids = torch.zeros(len(texts), self.text.max_tokens, dtype=torch.int64)
        for i, t in enumerate(texts):
            row = self.encode_text(t)
            ids[i, : len(row)] = torch.tensor(row)
        return ids

    def cache_key(self, modality: str) -> tuple:
        """What a cached input depends on (text ids depend on the vocabulary, so are not shared)."""
        if modality == "image":  # "upright": EXIF orientation applied (older caches lack it)
            return ("image", self.image.size, self.channels, "upright")
        if modality == "audio":
            a = self.audio
            if self.wave_input:
                return ("audio", a.sample_rate, a.seconds, "wave")
            return ("audio", a.sample_rate, a.seconds, a.features, a.n_mels, a.hop_ms)
        return ("text",)

    # ---- bundle ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "modalities": list(self.modalities),
            "channels": self.channels,
            "image_mean": list(self.mean),
            "image_std": list(self.std),
            "audio_shape": list(self.audio_shape),
            "tokenizer": self.tokenizer.to_dict() if self.tokenizer else None,
        }

    @property
    def mean(self) -> tuple[float, ...]:
        return IMAGENET_MEAN if self.channels == 3 else (0.5,)

    @property
    def std(self) -> tuple[float, ...]:
        return IMAGENET_STD if self.channels == 3 else (0.5,)


def augment_images(
    images: torch.Tensor, degrees: float = 10.0, translate: float = 0.08, scale: tuple[float, float] = (0.9, 1.1)
) -> torch.Tensor:
    """Random small affine changes, drawn per sample, on uint8 ``(B, C, S, S)`` images.

    One batched ``affine_grid`` + ``grid_sample`` on the images' device (the GPU when the cache
    lives there) instead of a per-image loop: a few kernels per batch, whatever its size.
    """
    import math

    import torch.nn.functional as F

    b, dev = images.shape[0], images.device
    if b == 0:
        return images
    angle = (torch.rand(b, device=dev) * 2 - 1) * math.radians(degrees)
    zoom = scale[0] + (scale[1] - scale[0]) * torch.rand(b, device=dev)
    shift = (torch.rand(b, 2, device=dev) * 2 - 1) * (2 * translate)  # grid coords span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    x = images.float()
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.round_().clamp_(0, 255).to(images.dtype)

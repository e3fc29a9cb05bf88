"""Encoder registries: each encoder maps one modality's batch to ``(B, dim)`` features.

Factories take keyword arguments ``dim`` and ``dropout`` plus modality-specific ones
(``in_channels``/``weights`` for images, ``vocab_size`` for text, ``n_mels``/``frames`` for audio)
and any ``options`` from the config.
"""

from __future__ import annotations

from mmstudio.engine.encoders import audio, image, text  # noqa: F401  (registers the encoders)
from mmstudio.engine.encoders.base import (
    AUDIO_ENCODERS,
    ENCODERS,
    IMAGE_ENCODERS,
    TEXT_ENCODERS,
)

__all__ = ["AUDIO_ENCODERS", "ENCODERS", "IMAGE_ENCODERS", "TEXT_ENCODERS"]

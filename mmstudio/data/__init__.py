"""Finding, reading and checking datasets. No torch and no Qt: the window uses it before either.

Public names: :func:`open_dataset`, :class:`Dataset`, :class:`Item`, :class:`Problem`,
:func:`read_image`, :func:`read_audio`, :func:`read_text`, :func:`detect_layout`.
"""

from mmstudio.data.formats import (
    AUDIO_EXTS,
    IMAGE_EXTS,
    modality_of,
    read_audio,
    read_image,
    read_text,
)
from mmstudio.data.items import MODALITIES, Dataset, Item, Problem
from mmstudio.data.layouts import detect_layout
from mmstudio.data.scan import open_dataset
from mmstudio.data.splits import assign_splits

__all__ = [
    "AUDIO_EXTS",
    "IMAGE_EXTS",
    "MODALITIES",
    "Dataset",
    "Item",
    "Problem",
    "assign_splits",
    "detect_layout",
    "modality_of",
    "open_dataset",
    "read_audio",
    "read_image",
    "read_text",
]

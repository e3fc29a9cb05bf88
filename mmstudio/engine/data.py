"""From the data layer's :class:`Dataset` to what a model needs: items per split, class names,
image channels and the text tokenizer."""

from __future__ import annotations

from typing import Any

from mmstudio.config import DatasetSpec, ModelSpec


def load_dataset(data: Any):
    """Accepts a :class:`mmstudio.data.Dataset`, a :class:`DatasetSpec` or a path."""
    from mmstudio.data import Dataset, open_dataset

    if isinstance(data, Dataset):
        return data
    if isinstance(data, (DatasetSpec, str)):
        return open_dataset(data)
    return open_dataset(str(data))


def training_items(dataset, val_split: str, seed: int = 0, fraction: float = 0.1) -> tuple[list, list]:
    """(train items, validation items). ``val_split`` names a split, or is ``none``, or ``auto``:
    the dataset's ``val`` split when it has one, else ``fraction`` of the train items held out,
    stratified by label and fixed by ``seed`` (too small a train split, under 20, keeps them all)."""
    import dataclasses

    train = dataset.subset("train")
    if val_split != "auto":
        return train, [] if val_split == "none" else dataset.subset(val_split)
    val = dataset.subset("val")
    if val or len(train) < 20:
        return train, val
    from mmstudio.config import SplitSpec
    from mmstudio.data.splits import assign_splits

    carved, _ = assign_splits(
        [dataclasses.replace(it, split="") for it in train], SplitSpec(1 - fraction, fraction, 0.0, seed)
    )
    return [it for it in carved if it.split == "train"], [it for it in carved if it.split == "val"]


def choose_modalities(spec: ModelSpec, dataset) -> tuple[str, ...]:
    """The modalities a run reads: ``spec.modalities`` (empty: all the dataset has). For
    ``generate`` they are the inputs, and the text, the target, is always among them."""
    have = dataset.modalities
    if spec.task == "generate":
        return _generate_modalities(spec, have)
    if spec.modalities:
        missing = [m for m in spec.modalities if m not in have]
        if missing:
            raise ValueError(f"the dataset has no {', '.join(missing)} (it has {', '.join(have) or 'nothing usable'})")
        return tuple(m for m in ("image", "text", "audio") if m in spec.modalities)
    if not have:
        raise ValueError("the dataset has no usable image, text or audio")
    return tuple(have)


def _generate_modalities(spec: ModelSpec, have) -> tuple[str, ...]:
    if "text" not in have:
        raise ValueError("generate learns to write the dataset's texts, and this dataset has no text column")
    inputs = [m for m in (spec.modalities or have) if m != "text"]
    missing = [m for m in inputs if m not in have]
    if missing:
        raise ValueError(f"the dataset has no {', '.join(missing)} (it has {', '.join(have)})")
    if not inputs:
        raise ValueError("generate needs an input besides the text: an image or audio column")
    return tuple(m for m in ("image", "text", "audio") if m in inputs or m == "text")


def choose_channels(spec: ModelSpec, items: list, probe: int = 32) -> int:
    """The configured channel count, else 1 when the first ``probe`` images are all grey."""
    if spec.image.channels:
        return spec.image.channels
    from mmstudio.data import read_image

    paths = [it.image for it in items if it.image is not None][:probe]
    for path in paths:
        try:
            if read_image(path).mode != "L":
                return 3
        except Exception:  # noqa: BLE001 - unreadable files are masked later
            continue
    return 1


def build_tokenizer(spec: ModelSpec, items: list) -> Any:
    """The text tokenizer of ``spec`` built from ``items``' texts (the same object the automatic
    settings built to count its tokens, when they saw the same texts)."""
    from mmstudio.engine.autoconfig import SUBWORD_CAP, VOCAB_CAP, text_level
    from mmstudio.engine.tokenizer import build_tokenizer as build

    level = text_level(spec.text)
    return build(
        [it.text for it in items if it.text],
        level,
        spec.text.vocab_size or (SUBWORD_CAP if level == "subword" else VOCAB_CAP),
        ngrams=(spec.text.ngrams or 1) if level != "subword" else 1,
    )

"""Train/val/test splits: kept when the data names them, else stratified by label from a seed."""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict

from mmstudio.config import SplitSpec
from mmstudio.data.items import Item

SPLITS = ("train", "val", "test")


def assign_splits(items: list[Item], spec: SplitSpec) -> tuple[list[Item], bool]:
    """Items with a split; returns (items, True) when the data's own splits were used.

    Items that already carry a split keep it; the others are split per label so every class
    keeps the requested proportions. Items that share a file (an image with five captions, a
    clip with several transcripts) go to one split together, so no test image was also seen
    in training. The same items, ratios and seed always give the same split.
    """
    pending = [i for i, it in enumerate(items) if not it.split]
    if not pending:
        return items, bool(items)
    groups: dict[str, list[int]] = defaultdict(list)
    for i in pending:
        groups[group_key(items[i])].append(i)
    by_label: dict[str | None, list[str]] = defaultdict(list)
    for key, members in groups.items():
        by_label[items[members[0]].label].append(key)
    rng = random.Random(spec.seed)
    ratios = (spec.train, spec.val, spec.test)
    total = sum(ratios)
    out = list(items)
    owed = [0.0, 0.0, 0.0]  # per split: items it should have had so far minus items it got
    for label in sorted(by_label, key=lambda v: (v is None, str(v))):
        keys = sorted(by_label[label])
        rng.shuffle(keys)
        for key, split in zip(keys, _allocate(len(keys), ratios, total, owed)):
            for i in groups[key]:
                out[i] = dataclasses.replace(items[i], split=split)
    return out, len(pending) < len(items)


def group_key(item: Item) -> str:
    """What an item is an instance of: its image file, else its audio file, else itself."""
    if item.image:
        return "image:" + item.image
    if item.audio:
        return "audio:" + item.audio
    return "id:" + item.id


def _allocate(n: int, ratios: tuple[float, float, float], total: float, owed: list[float]) -> list[str]:
    """Split names for n items: each split gets the floor of its share, and the few left over go
    to the splits owed most across the classes so far, so small classes do not all round the
    same way (ten classes of five would otherwise give val ten items and test none)."""
    exact = [n * r / total for r in ratios]
    counts = [int(x) for x in exact]
    for j in range(3):
        owed[j] += exact[j] - counts[j]
    spare = n - sum(counts)
    for j in sorted((j for j in range(3) if ratios[j] > 0), key=lambda j: -owed[j])[:spare]:
        counts[j] += 1
        owed[j] -= 1
    return [name for name, c in zip(SPLITS, counts) for _ in range(c)]

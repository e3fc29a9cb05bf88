"""What a scanned dataset is: items, the problems found, and summary counts.

No torch and no Qt here: the window previews data before torch is imported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mmstudio.config import DatasetSpec

MODALITIES = ("image", "text", "audio")


@dataclass(frozen=True, slots=True)
class Item:
    """One sample. ``image`` and ``audio`` are absolute paths; ``text`` is the text itself.

    A modality that is ``None`` is missing for this sample (kept, and masked in training).
    """

    id: str
    image: str | None = None
    audio: str | None = None
    text: str | None = None
    label: str | None = None
    split: str | None = None
    target: float | None = None  # the number to predict (the ``regress`` task)

    def has(self, modality: str) -> bool:
        return getattr(self, modality) is not None

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if getattr(self, m) is not None)


@dataclass(frozen=True, slots=True)
class Problem:
    """An input that could not be used (``error``) or looks wrong (``warning``), and why."""

    path: str
    reason: str
    severity: str = "error"
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "reason": self.reason, "severity": self.severity}
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass
class Dataset:
    """The result of scanning a dataset: the usable items and every problem found on the way."""

    spec: DatasetSpec
    layout: str
    root: str
    items: list[Item]
    problems: list[Problem] = field(default_factory=list)
    #: For manifests: column name -> role actually used (guessed or given).
    columns: dict[str, str] = field(default_factory=dict)
    #: Manifest columns in file order (for the column-role editor).
    column_names: list[str] = field(default_factory=list)
    #: True when splits came from the data itself rather than from ratios and a seed.
    split_from_data: bool = False

    @property
    def modalities(self) -> list[str]:
        counts = self.modality_counts()
        return [m for m in MODALITIES if counts[m]]

    def modality_counts(self) -> dict[str, int]:
        return {m: sum(1 for it in self.items if getattr(it, m) is not None) for m in MODALITIES}

    def labels(self) -> dict[str, int]:
        counts = Counter(it.label for it in self.items if it.label is not None)
        return dict(sorted(counts.items(), key=lambda kv: _natural_key(kv[0])))

    @property
    def class_names(self) -> list[str]:
        return list(self.labels())

    def splits(self) -> dict[str, int]:
        counts = Counter(it.split or "unassigned" for it in self.items)
        order = {"train": 0, "val": 1, "test": 2}
        return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], 3), kv[0])))

    def split_counts_by_modality(self) -> dict[str, dict[str, int]]:
        """split -> modality -> count, for the preview's counts table."""
        out: dict[str, dict[str, int]] = {}
        for it in self.items:
            row = out.setdefault(it.split or "unassigned", dict.fromkeys(MODALITIES, 0))
            for m in it.modalities:
                row[m] += 1
        return out

    def subset(self, split: str) -> list[Item]:
        return [it for it in self.items if it.split == split]

    def label_candidate(self) -> str | None:
        """When the items have no labels, the column the scan found looking like labels."""
        import re

        if self.labels():
            return None
        for p in self.problems:
            found = re.search(r"column '([^']+)' looks like labels", p.reason)
            if found:
                return found.group(1)
        return None

    def target_candidate(self) -> str | None:
        """When no column is the target, a numeric column with many values the scan found
        (offered as "predict this number", see :mod:`mmstudio.data.targets`)."""
        from mmstudio.data.targets import candidate_in

        return None if any(it.target is not None for it in self.items) else candidate_in(self.problems)

    def class_summary(self) -> str:
        """ "3 classes", or what to do when there are none and a column looks like labels."""
        if self.labels():
            return f"{len(self.labels())} classes"
        column = self.label_candidate()
        if column:
            return f"no labels: column {column!r} looks like them: give it the role label in Columns, then Re-scan"
        return "no labels"

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def summary(self) -> dict[str, Any]:
        """The JSON that ``mmstudio inspect --json`` prints."""
        return {
            "path": self.spec.path,
            "root": self.root,
            "layout": self.layout,
            "modalities": self.modalities,
            "items": len(self.items),
            "counts": self.modality_counts(),
            "labels": self.labels(),
            "splits": self.splits(),
            "columns": self.columns,
            "targets": sum(1 for it in self.items if it.target is not None),
            "problems": [p.as_dict() for p in self.problems],
        }


def _natural_key(text: str) -> tuple:
    """Sort "2" before "10" and "img2" before "img10"."""
    import re

    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text))


def natural_sorted(values: Iterable[str]) -> list[str]:
    return sorted(values, key=_natural_key)

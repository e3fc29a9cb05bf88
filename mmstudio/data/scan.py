"""``open_dataset``: one call from a dropped path to checked, split items."""

from __future__ import annotations

from mmstudio.config import DatasetSpec
from mmstudio.data.items import Dataset
from mmstudio.data.layouts import build
from mmstudio.data.splits import assign_splits
from mmstudio.data.validate import Progress, validate


def open_dataset(spec: DatasetSpec | str, progress: Progress | None = None) -> Dataset:
    """Scan, validate and split a dataset. Raises ValueError/FileNotFoundError only when the
    path itself is not a dataset; every bad file or row inside it becomes a Problem instead."""
    if not isinstance(spec, DatasetSpec):
        spec = DatasetSpec(path=str(spec))
    if progress:
        progress(0.0, "reading the layout")
    try:
        layout = build(spec)
    except FileNotFoundError:
        raise
    except OSError as exc:  # an unreadable folder: a plain message, not a traceback
        raise ValueError(f"{spec.path}: cannot be read: {exc.strerror or exc}") from None
    items, problems = validate(layout, spec.max_image_pixels, progress)
    items, from_data = assign_splits(items, spec.split)
    return Dataset(
        spec=spec,
        layout=layout.name,
        root=layout.root,
        items=items,
        problems=problems,
        columns=layout.columns,
        column_names=layout.column_names,
        split_from_data=from_data,
    )

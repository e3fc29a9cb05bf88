"""Fixtures for the data-layer tests: small real datasets written to tmp_path. Helpers live in
data_makers.py (importable from the tests); synth.py one folder up writes the triplets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent):  # data_makers.py here, synth.py one up
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from synth import make_triplet_dataset


@pytest.fixture
def triplets(tmp_path: Path) -> Path:
    """A fresh demo-like dataset (3 classes x 4: images/, audio/, manifest.csv with a split
    column) whose manifest path is returned; tests may damage it."""
    return make_triplet_dataset(tmp_path / "triplets", classes=3, per_class=4)

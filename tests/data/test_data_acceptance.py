"""Issue 2's acceptance check: a copy of a demo dataset with five files damaged in five different
ways reports exactly those five, each with its reason, and loads the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from data_makers import fingerprint, noisy_image, read_rows, shared_path, truncate
from synth import make_triplet_dataset

from mmstudio.data import open_dataset

# (what is done to the file, the reason fragment the report must give)
FIVE = ["deleted", "truncated image", "not an image at all", "empty audio", "truncated audio"]
REASONS = {
    "deleted": "file not found",
    "truncated image": "image is truncated",
    "not an image at all": "not a readable image",
    "empty audio": "file is empty (0 bytes)",
    "truncated audio": "audio is truncated",
}


def _damage_five(root: Path, rows: list[dict]) -> dict[str, str]:
    """Spoil five files named by rows 0, 7, 14, 21, 28; returns {absolute path: expected reason}."""
    targets = [
        root / rows[0]["image"],
        root / rows[7]["image"],
        root / rows[14]["image"],
        root / rows[21]["audio"],
        root / rows[28]["audio"],
    ]
    targets[0].unlink()
    # a PNG of noise does not compress: cutting it in half cuts pixel rows, not just the trailer
    truncate(noisy_image(targets[1]), 0.5)
    targets[2].write_bytes(b"<html>404 Not Found</html>\n" * 20)
    targets[3].write_bytes(b"")
    truncate(targets[4], 0.5)
    return {str(path.resolve()): REASONS[how] for path, how in zip(targets, FIVE)}


def _check_report(manifest: Path, expected: dict[str, str], rows: int) -> None:
    before = fingerprint(manifest.parent)
    ds = open_dataset(str(manifest))
    assert fingerprint(manifest.parent) == before  # reading never writes
    reported = {p.path: p.reason for p in ds.problems}
    assert len(ds.problems) == 5, [p.as_dict() for p in ds.problems]
    assert set(reported) == set(expected)
    for path, reason in expected.items():
        assert reason in reported[path], (path, reported[path])
    assert all(p.severity == "error" for p in ds.problems)
    # every row still loads; the five lose only the damaged modality
    assert len(ds.items) == rows
    counts = ds.modality_counts()
    assert counts["image"] == rows - 3 and counts["audio"] == rows - 2 and counts["text"] == rows
    summary = ds.summary()
    assert {(p["path"], p["reason"]) for p in summary["problems"]} == set(reported.items())


def test_five_damaged_files_in_a_synthetic_demo(tmp_path):
    manifest = make_triplet_dataset(tmp_path / "demo", classes=10, per_class=4, split=False)
    rows = read_rows(manifest)
    expected = _damage_five(manifest.parent, rows)
    _check_report(manifest, expected, len(rows))


def test_five_damaged_files_in_a_copy_of_the_shared_demo(tmp_path):
    demo = shared_path("demo")
    copy = Path(shutil.copytree(demo, tmp_path / "demo"))
    manifest = copy / "manifest.csv"
    rows = read_rows(manifest)
    assert len(rows) == 500
    expected = _damage_five(copy, rows)
    _check_report(manifest, expected, len(rows))
    # the original is untouched and clean
    assert open_dataset(str(demo)).problems == []


@pytest.mark.parametrize("dropped", ["folder", "manifest"])
def test_the_clean_synthetic_demo_has_no_problems(tmp_path, dropped):
    manifest = make_triplet_dataset(tmp_path / "demo", classes=10, per_class=4, split=False)
    ds = open_dataset(str(manifest.parent if dropped == "folder" else manifest))
    assert ds.problems == []
    assert ds.modalities == ["image", "text", "audio"]
    assert len(ds.items) == 40 and len(ds.labels()) == 10

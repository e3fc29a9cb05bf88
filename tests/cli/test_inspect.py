"""``mmstudio inspect PATH [--json]``: the headless scan, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS, TESTS / "data"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from data_makers import read_rows, shared_path, truncate, write_csv
from synth import make_triplet_dataset

KEYS = {"layout", "modalities", "items", "counts", "labels", "splits", "problems"}


def inspect(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "mmstudio", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def inspect_json(path) -> dict:
    done = inspect(str(path), "--json")
    summary = json.loads(done.stdout)
    assert set(summary) >= KEYS
    return summary


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> Path:
    """A synthetic demo with one missing image and one truncated clip."""
    manifest = make_triplet_dataset(tmp_path_factory.mktemp("inspect") / "set", classes=3, per_class=4)
    rows = read_rows(manifest)
    (manifest.parent / rows[0]["image"]).unlink()
    truncate(manifest.parent / rows[1]["audio"], 0.5)
    return manifest


def test_json_report(damaged):
    summary = inspect_json(damaged.parent)
    rows = read_rows(damaged)
    assert summary["layout"] == "manifest"
    assert summary["modalities"] == ["image", "text", "audio"]
    assert summary["items"] == 12
    assert summary["counts"] == {"image": 11, "text": 12, "audio": 11}
    assert summary["labels"] == {"one": 4, "two": 4, "zero": 4}
    assert summary["splits"] == {"train": 9, "test": 3}
    problems = {(p["path"], p["reason"]) for p in summary["problems"]}
    assert problems == {
        (str(damaged.parent / rows[0]["image"]), "file not found"),
        (str(damaged.parent / rows[1]["audio"]), next(r for p, r in problems if p.endswith(rows[1]["audio"]))),
    }
    assert all(set(p) >= {"path", "reason"} for p in summary["problems"])
    assert any("audio is truncated" in r for _, r in problems)


def test_human_report_names_each_problem(damaged):
    out = inspect(str(damaged)).stdout
    rows = read_rows(damaged)
    assert "12 items" in out
    assert "problems: 2" in out
    assert rows[0]["image"].split("/")[-1] in out and "file not found" in out
    assert "audio is truncated" in out


def test_options_reach_the_scan(tmp_path):
    manifest = make_triplet_dataset(tmp_path / "set", classes=2, per_class=3, split=False)
    summary = json.loads(inspect(str(manifest), "--json", "--column", "label=ignore", "--column", "text=label").stdout)
    assert summary["columns"]["label"] == "ignore" and summary["columns"]["text"] == "label"
    assert summary["labels"] == {"the number one": 3, "the number zero": 3}
    assert set(summary["splits"]) <= {"train", "val", "test"}


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p / "no-such-thing",
        lambda p: (p / "picture.png").write_bytes(b"\x89PNG") and p / "picture.png",
        lambda p: (p / "empty").mkdir() or p / "empty",
    ],
)
def test_a_non_dataset_exits_2_naming_the_path(tmp_path, make):
    path = make(tmp_path)
    done = inspect(str(path), "--json", check=False)
    assert done.returncode == 2
    assert str(path) in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_bad_option_exits_2(tmp_path):
    manifest = make_triplet_dataset(tmp_path / "set", classes=2, per_class=2)
    audio = manifest.parent / "audio"  # a flat folder: the label pattern applies
    for path, args in (
        (manifest, ["--layout", "nonsense"]),
        (manifest, ["--column", "label=colour"]),
        (audio, ["--label-pattern", "(?P<label>["]),
    ):
        done = inspect(str(path), *args, check=False)
        assert done.returncode == 2, args
        assert "error" in done.stderr and "Traceback" not in done.stderr


def test_label_pattern_option(tmp_path):
    from data_makers import write_audio

    for name in ("7_jackson_0.wav", "7_theo_1.wav", "3_jackson_2.wav", "3_theo_3.wav"):
        write_audio(tmp_path / name)
    assert inspect_json(tmp_path)["labels"] == {"3": 2, "7": 2}
    done = inspect(str(tmp_path), "--json", "--label-pattern", r"^\d+_(?P<label>[a-z]+)_")
    assert json.loads(done.stdout)["labels"] == {"jackson": 2, "theo": 2}


def test_a_broken_manifest_is_reported_not_raised(tmp_path):
    manifest = make_triplet_dataset(tmp_path / "set", classes=2, per_class=2)
    rows = read_rows(manifest)
    write_csv(manifest, rows)
    with open(manifest, "a", encoding="utf-8") as fh:
        fh.write("x,y\n")
    summary = inspect_json(manifest)
    assert summary["items"] == 4
    [problem] = summary["problems"]
    assert problem["path"] == str(manifest) and "malformed row" in problem["reason"]


# ---------------------------------------------------------------------------------------------
# the shared datasets (skipped when ../shared is absent)


def test_digits_pairs():
    summary = inspect_json(shared_path("digits", "pairs.csv"))  # its time: scripts/bench_startup.py
    assert summary["items"] == 10_000
    assert sorted(summary["modalities"]) == ["audio", "image", "text"]
    assert summary["counts"] == {"image": 10_000, "text": 10_000, "audio": 10_000}
    assert list(summary["labels"]) == [str(d) for d in range(10)]
    assert sum(summary["labels"].values()) == 10_000
    assert summary["splits"] == {"train": 8_000, "test": 2_000}
    assert summary["problems"] == []


@pytest.mark.parametrize(
    "parts, layout, modalities, items, labels",
    [
        (("digits", "audio"), "filename_labels", ["audio"], 3_000, 10),
        (("clipart", "captions.csv"), "captions", ["image", "text"], 6_923, None),
        (("prompts", "transcripts.csv"), "transcripts", ["text", "audio"], 568, None),
        (("demo", "manifest.csv"), "manifest", ["image", "text", "audio"], 500, 10),
        (("demo",), "manifest", ["image", "text", "audio"], 500, 10),
    ],
)
def test_shared_datasets_load_with_their_modalities(parts, layout, modalities, items, labels):
    summary = inspect_json(shared_path(*parts))
    assert summary["layout"] == layout
    assert summary["modalities"] == modalities
    assert summary["items"] == items
    if labels is not None:
        assert len(summary["labels"]) == labels
    assert not [p for p in summary["problems"] if p["severity"] == "error"]
    assert set(summary["splits"]) <= {"train", "val", "test"}

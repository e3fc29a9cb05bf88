"""``mmstudio index`` / ``query`` over a collection: progress on stderr, incremental, filters."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth import make_triplet_dataset

from mmstudio import cli


def test_index_then_query_with_filters_and_more_like_this(tmp_path, capsys):
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=8)
    out = tmp_path / "run"
    assert (
        cli.main(
            [
                "train",
                "--data",
                str(manifest),
                "--image",
                "cnn",
                "--audio",
                "mel_cnn",
                "--task",
                "classify+align",
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert cli.main(["index", str(out), "--data", str(manifest), "--batch-size", "8", "--json"]) == 0
    captured = capsys.readouterr()
    first = json.loads(captured.out)
    assert (first["rows"], first["embedded"], first["stopped"]) == (24, 24, False)
    assert "Indexing: embedded 24/24" in captured.err  # progress goes to stderr
    assert not (out / "bundle" / "index.safetensors").exists()  # nothing written in the bundle

    assert cli.main(["index", str(out), "--data", str(manifest), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["embedded"], again["kept"]) == (0, 24)

    image = next((manifest.parent / "images").glob("s1_*.png"))
    assert (
        cli.main(
            [
                "query",
                str(out),
                "--image",
                str(image),
                "--target",
                "audio",
                "--label",
                "two",
                "--in-split",
                "test",
                "--top",
                "10",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert len(result["results"]) == 2  # 8 "two" items, 2 of them in the test split
    assert {(r["label"], r["split"]) for r in result["results"]} == {("two", "test")}
    assert all(r["path"].endswith(".wav") for r in result["results"])

    assert (
        cli.main(
            ["query", str(out), "--like", "3", "--target", "image", "--top", "5", "--data", str(manifest), "--json"]
        )
        == 0
    )
    like = json.loads(capsys.readouterr().out)
    assert like["like"] == 3 and len(like["results"]) == 5
    assert 3 not in [r["index"] for r in like["results"]]


def test_query_without_any_collection_says_how_to_make_one(tmp_path, capsys):
    manifest = make_triplet_dataset(tmp_path / "data", classes=2, per_class=4, split=False)
    out = tmp_path / "run"
    assert (
        cli.main(
            [
                "train",
                "--data",
                str(manifest),
                "--image",
                "cnn",
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        cli.main(
            ["query", str(out), "--image", str(next((manifest.parent / "images").glob("*.png"))), "--label", "one"]
        )
        == 2
    )
    assert "mmstudio index" in capsys.readouterr().err

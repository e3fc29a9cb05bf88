"""``mmstudio train --task generate``, ``eval`` with the text scores and baselines, ``predict``
writing each item's text with its beam alternatives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth import make_triplet_dataset  # noqa: E402

from mmstudio import cli  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-generate")
    manifest = make_triplet_dataset(root / "data", classes=3, per_class=16)
    out = root / "run"
    argv = ["train", "--data", manifest, "--task", "generate", "--image", "cnn", "--epochs", "8"]
    argv += ["--batch-size", "8", "--lr", "0.003", "--val-split", "test", "--out", out, "--json"]
    assert cli.main([str(a) for a in argv]) == 0
    return manifest, out / "bundle"


def test_eval_prints_the_text_scores_and_baselines(trained, capsys):
    manifest, bundle = trained
    capsys.readouterr()
    assert cli.main(["eval", str(bundle), "--data", str(manifest), "--beam", "2"]) == 0
    out = capsys.readouterr().out
    assert "generated (beam 2): cer" in out
    assert "baseline most frequent: cer" in out and "baseline nearest neighbour: cer" in out
    assert cli.main(["eval", str(bundle), "--data", str(manifest), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["generation"]["exact"] >= 0.9 and len(report["examples"]) == report["items"]


def test_predict_writes_texts_with_alternatives(trained, tmp_path, capsys):
    manifest, bundle = trained
    path = tmp_path / "texts.jsonl"
    argv = ["predict", str(bundle), "--data", str(manifest), "--split", "test", "--beam", "3", "--out", str(path)]
    assert cli.main(argv) == 0
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["generated"].startswith("the number") for r in rows)
    assert all(len(r["alternatives"]) == 2 for r in rows)


def test_a_ctc_decoder_on_images_is_refused_before_training(tmp_path, capsys):
    manifest = make_triplet_dataset(tmp_path / "data", classes=2, per_class=4)
    argv = ["train", "--data", str(manifest), "--task", "generate", "--decoder", "ctc", "--image", "cnn"]
    assert cli.main(argv + ["--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "model.decoder (--decoder)" in err and "audio" in err
    assert not (tmp_path / "run").exists()

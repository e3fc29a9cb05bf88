"""``mmstudio train|eval|index|query|export`` headless, with JSON on stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth import make_triplet_dataset

from mmstudio import cli


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    manifest = make_triplet_dataset(root / "data", classes=3, per_class=12)
    return root, manifest


def _run(capsys, *argv) -> tuple[int, str]:
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().out


def test_train_eval_index_query_export(cli_run, capsys):
    root, manifest = cli_run
    out = root / "run"
    code, text = _run(
        capsys,
        "train",
        "--data",
        manifest,
        "--image",
        "cnn",
        "--audio",
        "mel_cnn",
        "--fusion",
        "weighted_sum",
        "--task",
        "classify+align",
        "--epochs",
        4,
        "--batch-size",
        8,
        "--lr",
        0.003,
        "--device",
        "cpu",
        "--val-split",
        "test",
        "--out",
        out,
        "--json",
    )
    assert code == 0
    events = [json.loads(line) for line in text.splitlines()]
    assert events[0]["event"] == "DataPrepared" and events[-1]["event"] == "RunFinished"
    assert any(e["event"] == "EpochDone" for e in events)
    assert (out / "run.toml").is_file() and (out / "bundle" / "bundle.json").is_file()

    code, text = _run(capsys, "eval", out / "bundle", "--data", manifest, "--split", "test", "--json")
    metrics = json.loads(text)
    assert code == 0 and metrics["items"] == 9 and 0 <= metrics["accuracy"] <= 1
    assert set(metrics["ablation"]) == {"without_image", "without_audio"}

    code, text = _run(capsys, "index", out, "--data", manifest, "--json")
    assert code == 0 and Path(json.loads(text)["index"]).is_file()

    image = next((manifest.parent / "images").glob("s1_*.png"))
    code, text = _run(capsys, "query", out, "--image", image, "--target", "audio", "--top", 4, "--json")
    result = json.loads(text)
    assert code == 0 and result["target"] == "audio" and len(result["results"]) == 4
    assert {"path", "text", "label", "score"} <= set(result["results"][0])

    code, text = _run(capsys, "export", out, "--format", "pt2", "--out", root / "pkg", "--json")
    assert code == 0 and json.loads(text)["max_abs_diff"] < 1e-4


def test_rerun_from_run_toml(cli_run, capsys):
    root, manifest = cli_run
    first = root / "first"
    assert (
        _run(capsys, "train", "--data", manifest, "--text", "gru", "--epochs", 1, "--batch-size", 8, "--out", first)[0]
        == 0
    )
    code, text = _run(
        capsys, "train", "--config", first / "run.toml", "--max-steps", 2, "--out", root / "second", "--json"
    )
    assert code == 0
    started = [json.loads(x) for x in text.splitlines() if '"RunStarted"' in x][0]
    assert started["modalities"] == ["text"]


def test_errors_are_clear(cli_run, capsys):
    root, manifest = cli_run
    code = cli.main(["eval", str(root / "nothing"), "--data", str(manifest)])
    assert code == 2 and "not a model bundle" in capsys.readouterr().err
    code = cli.main(["train", "--data", str(manifest), "--fusion", "nope", "--out", str(root / "x")])
    assert code == 2 and "unknown fusion 'nope'" in capsys.readouterr().err

"""``mmstudio predict``: one row per item in CSV or JSON lines, missing modalities masked as in
the studio, the same accuracy as ``eval``; and the CLI behaves like a Unix tool (quiet on a
closed pipe, progress only on a terminal, ``bench`` from the package)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmstudio import cli
from mmstudio.gui.paths import DEMO_BUNDLE, DEMO_DATASET

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT.parent / "shared" / "datasets" / "digits" / "pairs.csv"


@pytest.fixture(scope="module")
def gappy_demo(tmp_path_factory) -> Path:
    """60 of the demo's real triplets (all ten digits), copied: every 3rd without audio, every
    5th without its image."""
    root = tmp_path_factory.mktemp("gappy")
    rows = list(csv.DictReader(DEMO_DATASET.open(encoding="utf-8")))[::8][:60]
    for i, row in enumerate(rows):
        for key in ("image", "audio"):
            (root / row[key]).parent.mkdir(exist_ok=True)
            shutil.copyfile(DEMO_DATASET.parent / row[key], root / row[key])
        if i % 3 == 0:
            row["audio"] = ""
        if i % 5 == 0:
            row["image"] = ""
    path = root / "manifest.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_predict_writes_one_row_per_item_with_missing_modalities_masked(gappy_demo, tmp_path, capsys):
    from mmstudio import engine

    out = tmp_path / "preds.csv"
    code, text, err = _run(
        capsys, "predict", DEMO_BUNDLE, "--data", gappy_demo, "--out", out, "--batch-size", 16, "--json"
    )
    assert code == 0 and err == ""  # no progress bars when stderr is not a terminal
    summary = json.loads(text)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == summary["items"] == 60
    assert [r["modalities"] for r in rows[:6]] == [
        "text",
        "image+text+audio",
        "image+text+audio",
        "image+text",
        "image+text+audio",
        "text+audio",
    ]
    # each row is what the studio's one-sample prediction says for the same inputs
    for r in rows[:6]:
        one = engine.predict(str(DEMO_BUNDLE), image=r["image"] or None, audio=r["audio"] or None, text=r["text"])
        assert r["predicted"] == one["label"], r
        assert float(r["probability"]) == pytest.approx(one["top"][0]["probability"], abs=1e-4)
    evaluated = engine.evaluate(str(DEMO_BUNDLE), str(gappy_demo), split="all", ablation=False)
    right = sum(r["predicted"] == r["label"] for r in rows)
    assert summary["accuracy"] == pytest.approx(evaluated["accuracy"]) == pytest.approx(right / 60)


def test_predict_jsonl_carries_the_top_classes(gappy_demo, tmp_path, capsys):
    out = tmp_path / "preds.jsonl"
    code, text, _ = _run(capsys, "predict", DEMO_BUNDLE, "--data", gappy_demo, "--out", out, "--top", 3)
    assert code == 0 and "60 predictions" in text
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 60 and len(rows[0]["top"]) == 3
    assert rows[0]["top"][0]["label"] == rows[0]["predicted"]
    assert sum(t["probability"] for t in rows[0]["top"]) <= 1.0 + 1e-6


def test_predict_refuses_an_unknown_output_format_before_decoding(gappy_demo, tmp_path, capsys):
    code, _, err = _run(capsys, "predict", DEMO_BUNDLE, "--data", gappy_demo, "--out", tmp_path / "p.xlsx")
    assert code == 2 and "p.xlsx" in err and ".csv or .jsonl" in err
    assert not (tmp_path / "p.xlsx").exists()


@pytest.mark.slow
@pytest.mark.skipif(not DIGITS.is_file(), reason="needs ../shared/datasets/digits")
def test_predict_on_the_digits_test_split_matches_eval(tmp_path, capsys):
    out = tmp_path / "digits.csv"
    code, text, _ = _run(capsys, "predict", DEMO_BUNDLE, "--data", DIGITS, "--split", "test", "--out", out, "--json")
    assert code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 2000 and {r["split"] for r in rows} == {"test"}
    code, text_eval, _ = _run(
        capsys, "eval", DEMO_BUNDLE, "--data", DIGITS, "--split", "test", "--no-ablation", "--json"
    )
    accuracy = json.loads(text_eval)["accuracy"]
    assert json.loads(text)["accuracy"] == pytest.approx(accuracy)
    assert sum(r["predicted"] == r["label"] for r in rows) / 2000 == pytest.approx(accuracy)


@pytest.mark.parametrize("entry", ["mmstudio", "mmstudio.cli"])  # `mmstudio` and `mmstudio-cli`
def test_a_closed_pipe_ends_quietly_with_status_zero(entry):
    # --top 400 prints ~100 KB, more than a pipe holds, so the writer meets the closed pipe
    command = (
        f"set -o pipefail; {sys.executable} -m {entry} query {DEMO_BUNDLE} --text seven --top 400 --json | head -1"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "{\n" and out.stderr == ""


def test_progress_draws_bars_for_decoding_and_steps_and_erases_them():
    from mmstudio.cli_progress import Progress
    from mmstudio.engine.events import DataPrepared, EpochDone, RunStarted, StepLogged

    stream = io.StringIO()
    progress = Progress(True, stream)
    progress(DataPrepared("image", 0, 40, 0.0))
    progress(DataPrepared("image", 20, 40, 0.5))
    assert "decoding image" in stream.getvalue() and "20/40" in stream.getvalue()
    progress(DataPrepared("image", 40, 40, 1.0))
    progress(RunStarted("o", "cpu", "fp32", ("image",), ("a",), 10, 0, 1, 2, 5))
    progress(StepLogged(1, 3, 0.5, 0.1, 10.0))
    assert "epoch 1" in stream.getvalue() and "3/5" in stream.getvalue()
    progress(EpochDone(1, 5, 0.4, {}, 1.0, 10.0))
    assert progress._bar is None
    quiet = io.StringIO()
    Progress(False, quiet)(DataPrepared("image", 20, 40, 0.5))
    assert quiet.getvalue() == ""


def test_bench_runs_from_the_package_not_a_checkout(capsys):
    from mmstudio import bench

    assert Path(bench.__file__).parent == ROOT / "mmstudio"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bench", "--help"])
    assert exit_.value.code == 0 and "--limit" in capsys.readouterr().out

"""``mmstudio train`` with nothing but the data (issue 13): settings chosen from the data are
printed with their reasons and saved; a label column not named like one is asked for by name."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth import make_triplet_dataset  # noqa: E402

from mmstudio import cli  # noqa: E402
from mmstudio.config import RunConfig  # noqa: E402


def test_train_with_only_data_prints_and_saves_the_chosen_settings(tmp_path, capsys):
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=10)
    code = cli.main(
        [
            "train",
            "--data",
            str(manifest),
            "--modalities",
            "image,text",
            "--out",
            str(tmp_path / "run"),
            "--max-steps",
            "3",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "chosen from the data" in out and "train.batch_size = 16" in out and "steps per epoch" in out
    saved = RunConfig.load(str(tmp_path / "run" / "run.toml"))
    assert saved.train.batch_size == 16 and saved.train.epochs >= 8 and saved.train.lr > 0
    assert saved.model.text.max_tokens > 0 and saved.model.image.size > 0
    assert saved.model.modalities == ("image", "text")


def test_a_label_column_with_another_name_is_asked_for_by_name(tmp_path, capsys):
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=10)
    with open(manifest, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    renamed = tmp_path / "data" / "renamed.csv"
    with open(renamed, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["kind" if c == "label" else c for c in rows[0]])
        writer.writeheader()
        writer.writerows({("kind" if k == "label" else k): v for k, v in r.items()} for r in rows)
    out = tmp_path / "run"
    code = cli.main(["train", "--data", str(renamed), "--task", "classify", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--column kind=label" in err
    assert not out.exists()  # refused before any folder was made
    assert (
        cli.main(
            [
                "train",
                "--data",
                str(renamed),
                "--column",
                "kind=label",
                "--modalities",
                "image",
                "--out",
                str(out),
                "--max-steps",
                "2",
            ]
        )
        == 0
    )

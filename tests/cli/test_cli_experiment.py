"""``mmstudio experiment grid|search|show`` on tiny synthetic data: the table printed, resuming by
running the same command again, the exported table, and clear refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth import make_triplet_dataset

from mmstudio import cli

TINY = ["--epochs", "2", "--batch-size", "8", "--image-size", "16", "--device", "cpu"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return make_triplet_dataset(tmp_path_factory.mktemp("cli-exp") / "data", classes=3, per_class=12)


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_grid_prints_its_table_and_resumes_by_running_again(manifest, tmp_path, capsys):
    out = tmp_path / "grid"
    argv = ["experiment", "grid", "--data", manifest, "--out", out, "--modalities", "image,audio"]
    code, text, _ = _run(capsys, *argv, "--fusions", "concat,late", "--seeds", "0", *TINY)
    assert code == 0, text
    assert "[1/4] image-s0: started" in text and "[4/4] image+audio-late-s0: finished" in text
    assert "| rank | configuration | test accuracy |" in text
    for config in ("| image |", "| audio |", "| image+audio-concat |", "| image+audio-late |"):
        assert config in text
    assert "over " in text and "95% CI" in text and "paired bootstrap" in text

    code, again, _ = _run(capsys, *argv)  # the same folder: the saved plan, nothing trained again
    assert code == 0
    assert again.startswith(f"resuming {out}: 4 runs done")
    assert again.count(": skipped") == 4 and ": started" not in again

    code, shown, err = _run(capsys, "experiment", "show", out, "--table", tmp_path / "t.md")
    assert code == 0 and "table:" in err
    assert (tmp_path / "t.md").read_text().splitlines()[0].startswith("| rank | configuration |")
    code, shown, _ = _run(capsys, "experiment", "show", out, "--json")
    result = json.loads(shown)
    assert len(result["table"]) == 4 and result["gain"]["items"] == 9


def test_search_runs_its_trials_and_reports_as_json(manifest, tmp_path, capsys):
    out = tmp_path / "search"
    code, text, _ = _run(
        capsys, "experiment", "search", "--data", manifest, "--out", out, "--modalities", "text", "--trials", "2", *TINY
    )
    assert code == 0, text
    assert "[1/2] trial-000: finished" in text and "[2/2] trial-001: finished" in text
    assert (out / "search.db").is_file()
    code, shown, _ = _run(capsys, "experiment", "show", out, "--json")
    assert {r["config"] for r in json.loads(shown)["table"]} == {"trial-000", "trial-001"}


def test_refusals_name_the_problem(manifest, tmp_path, capsys):
    code, _, err = _run(
        capsys, "experiment", "grid", "--data", manifest, "--out", tmp_path / "g", "--modalities", "image"
    )
    assert code == 2 and "at least two modalities" in err
    code, _, err = _run(
        capsys, "experiment", "grid", "--data", manifest, "--out", tmp_path / "g", "--fusions", "sum", *TINY
    )
    assert code == 2 and "unknown fusion 'sum'" in err
    code, _, err = _run(capsys, "experiment", "show", tmp_path / "nothing")
    assert code == 2 and "experiment.json" in err

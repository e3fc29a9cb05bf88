"""``mmstudio compress`` and ``export --quantize int8`` on the bundled demo model."""

from __future__ import annotations

import json
import os

import pytest

from mmstudio import cli
from mmstudio.gui.paths import DEMO_BUNDLE, DEMO_DATASET


def test_compress_int8_and_prune(tmp_path, capsys):
    out = tmp_path / "int8"
    assert cli.main(["compress", str(DEMO_BUNDLE), "--int8", "--out", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["method"] == "dynamic_int8" and info["bytes"] < os.path.getsize(DEMO_BUNDLE / "model.safetensors") / 2
    pruned = tmp_path / "pruned"
    args = ["compress", str(DEMO_BUNDLE), "--prune", "0.5", "--finetune", "2", "--data", str(DEMO_DATASET)]
    assert cli.main([*args, "--out", str(pruned)]) == 0
    assert "zero weights: 50.0%" in capsys.readouterr().out
    assert cli.main(["eval", str(out), "--data", str(DEMO_DATASET), "--split", "all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.5


def test_compress_errors_are_plain(tmp_path, capsys):
    assert cli.main(["compress", str(DEMO_BUNDLE), "--int8", "--finetune", "3", "--out", str(tmp_path / "x")]) == 2
    assert "--finetune goes with --prune" in capsys.readouterr().err


def test_export_quantize_int8(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    assert cli.main(["export", str(DEMO_BUNDLE), "--out", str(tmp_path / "pkg"), "--quantize", "int8", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["quantize"] == "int8" and info["checked"]

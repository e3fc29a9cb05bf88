"""``mmstudio weights list|get|import`` and ``train --pretrained``: weights listed with size,
licence and presence; a download with the network blocked fails within 10 s, says what to do
and changes nothing; an import is checked; a frozen run's bundle opens without the file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth import make_triplet_dataset

from mmstudio import cli

REPO = Path(__file__).resolve().parents[2]
NAME = "mobilenet_v3_small.imagenet1k_v1"

#: A sitecustomize that makes every socket connection fail, as on a machine with no network.
NO_NETWORK = """
import socket
def _refuse(self, address):
    raise OSError(101, "Network is unreachable")
socket.socket.connect = _refuse
socket.socket.connect_ex = lambda self, address: 101
"""


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "torch"


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    import torch
    import torchvision

    path = tmp_path_factory.mktemp("w") / "mobilenet_v3_small-047dcff4.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), path)
    return path


def test_list_says_size_licence_and_presence(torch_home, capsys, weights_file):
    code, out, _ = _run(capsys, "weights", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)["weights"]}
    assert code == 0 and not rows[NAME]["present"] and rows[NAME]["mbytes"] == pytest.approx(9.829)
    assert "ImageNet" in rows[NAME]["licence"] and "wav2vec2_base.ls960" in rows
    dest = Path(rows[NAME]["file"])
    assert dest == torch_home / "hub" / "checkpoints" / weights_file.name
    dest.parent.mkdir(parents=True)
    shutil.copy(weights_file, dest)
    code, out, _ = _run(capsys, "weights", "list")
    assert code == 0 and any(NAME in line and "present" in line for line in out.splitlines())


def test_get_without_a_network_fails_fast_and_changes_nothing(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_NETWORK, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "TORCH_HOME": str(tmp_path / "torch")}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mmstudio", "weights", "get", "resnet18.imagenet1k_v1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    seconds = time.monotonic() - start
    assert proc.returncode == 2 and seconds < 10, (seconds, proc.stderr)
    assert "cannot be reached" in proc.stderr and "nothing was changed" in proc.stderr
    assert "mmstudio weights import" in proc.stderr
    assert not (tmp_path / "torch").exists()


def test_import_checks_then_copies(torch_home, capsys, weights_file, tmp_path):
    code, _, err = _run(capsys, "weights", "import", weights_file)
    assert code == 2 and "does not match the published" in err and "--force" in err
    assert not (torch_home / "hub").exists()
    code, out, _ = _run(capsys, "weights", "import", weights_file, "--force", "--json")
    assert code == 0 and json.loads(out)["present"]
    unknown = tmp_path / "mystery.pth"
    shutil.copy(weights_file, unknown)
    code, _, err = _run(capsys, "weights", "import", unknown)
    assert code == 2 and "--name NAME" in err


def test_train_pretrained_frozen_then_open_without_the_weights(torch_home, capsys, weights_file, tmp_path):
    from mmstudio import engine

    dest = torch_home / "hub" / "checkpoints" / weights_file.name
    dest.parent.mkdir(parents=True)
    shutil.copy(weights_file, dest)
    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=8)
    argv = ["train", "--data", manifest, "--image", "mobilenet_v3_small", "--pretrained", "--modalities", "image"]
    code, out, err = _run(
        capsys, *argv, "--image-size", 32, "--epochs", 2, "--batch-size", 8, "--out", tmp_path / "run"
    )
    assert code == 0, err
    assert "decoded 18 image features files" in out
    os.unlink(dest)
    bundle = engine.load_bundle(str(tmp_path / "run" / "bundle"))
    assert bundle.run.model.image.weights == NAME and bundle.meta["pretrained"]["image"]["name"] == NAME
    code, _, err = _run(capsys, *argv, "--epochs", 1, "--out", tmp_path / "run2")
    assert code == 2 and f"mmstudio weights get {NAME}" in err

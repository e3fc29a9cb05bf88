"""``mmstudio train`` with an impossible option fails at once: exit 2, naming the field and the
choices, before any data file is read and without leaving a run folder behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fifo_dataset(tmp_path) -> Path:
    """Class folders whose "images" are named pipes: reading one blocks until the test's timeout,
    so a command that opens any data file cannot finish in time."""
    for label, name in (("a", "1.png"), ("b", "2.png")):
        (tmp_path / "data" / label).mkdir(parents=True)
        os.mkfifo(tmp_path / "data" / label / name)
    return tmp_path / "data"


def _train(*argv: str, timeout: float = 10.0) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mmstudio.cli", "train", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )
    return proc, time.monotonic() - t0


@pytest.mark.parametrize(
    ("flag", "value", "field", "choice"),
    [
        ("--fusion", "nope", "model.fusion (--fusion)", "weighted_sum"),
        ("--image", "resnet99", "model.image.encoder (--image)", "resnet18"),
        ("--device", "gpu", "train.device (--device)", "cuda"),
        ("--lr", "-1", "train.lr (--lr)", "above 0"),
    ],
)
def test_unknown_option_exits_2_at_once_without_reading_data(fifo_dataset, tmp_path, flag, value, field, choice):
    out = tmp_path / "run"
    proc, seconds = _train("--data", str(fifo_dataset), flag, value, "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert seconds < 2.0, f"took {seconds:.2f} s"
    assert f"mmstudio train: error: {field}:" in proc.stderr and choice in proc.stderr
    assert not out.exists()


def test_missing_dataset_is_named_and_no_folder_is_made(tmp_path):
    out = tmp_path / "run"
    proc, _ = _train("--data", str(tmp_path / "nowhere"), "--out", str(out))
    assert proc.returncode == 2
    assert "dataset.path (--data):" in proc.stderr and "nowhere does not exist" in proc.stderr
    assert not out.exists()


def test_problem_that_needs_the_dataset_is_found_from_its_scan(tmp_path):
    """Asking for audio on an image-only dataset: found from the scan, before any run folder."""
    sys.path.insert(0, str(ROOT / "tests"))
    from synth import class_image

    for k in range(2):
        (tmp_path / "data" / f"c{k}").mkdir(parents=True)
        for i in range(3):
            class_image(k, i).save(tmp_path / "data" / f"c{k}" / f"{i}.png")
    out = tmp_path / "run"
    proc, _ = _train("--data", str(tmp_path / "data"), "--audio", "mel_cnn", "--out", str(out))
    assert proc.returncode == 2
    assert "model.modalities (--image/--text/--audio): the dataset has no audio; it has image" in proc.stderr
    assert not out.exists()

"""Smoke test of a PyInstaller one-folder build (packaging/pyinstaller/build.sh runs it after
building; not in CI, where nothing is built): the frozen app starts offscreen, opens the demo and
answers "seven" with sevens, and its headless commands work on the bundled demo.

    MMSTUDIO_FROZEN_DIST=/tmp/mmstudio-dist/mmstudio python -m pytest tests/test_frozen.py
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

DIST = os.environ.get("MMSTUDIO_FROZEN_DIST", "")
pytestmark = pytest.mark.skipif(
    not DIST, reason="set MMSTUDIO_FROZEN_DIST to a PyInstaller build (packaging/pyinstaller/build.sh)"
)


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    exe = Path(DIST) / "mmstudio"
    assert exe.is_file() and os.access(exe, os.X_OK), f"{exe} is not an executable"
    (resources,) = [p for p in Path(DIST).rglob("style.qss") if p.parent.name == "resources"]
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MMSTUDIO_", "QT_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        QT_QPA_PLATFORM="offscreen",
    )
    return exe, resources.parent, env, home


def test_the_build_starts_opens_the_demo_and_answers_offline(frozen):
    exe, resources, env, home = frozen
    probe = home / "probe.json"
    out = subprocess.run(
        [str(exe)],
        env={**env, "MMSTUDIO_DEMO_PROBE": str(probe)},
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    answer = json.loads(probe.read_text())
    assert answer.get("panel") == "Query" and answer["labels"].count("7") >= 9, answer
    assert answer["bundle"] == str(resources / "demo" / "bundles" / "digits")


def test_the_builds_headless_commands_work(frozen):
    exe, resources, env, home = frozen
    version = subprocess.run([str(exe), "--version"], env=env, capture_output=True, text=True, timeout=300)
    assert version.returncode == 0 and version.stdout.startswith("mmstudio ")
    preds = home / "preds.csv"
    out = subprocess.run(
        [
            str(exe),
            "predict",
            str(resources / "demo" / "bundles" / "digits"),
            "--data",
            str(resources / "demo" / "digits" / "manifest.csv"),
            "--out",
            str(preds),
            "--json",
        ],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = list(csv.DictReader(preds.open(encoding="utf-8")))
    assert len(rows) == 500 and json.loads(out.stdout)["accuracy"] > 0.9

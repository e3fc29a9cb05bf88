"""A built wheel is a working install: it carries resources/, and installed into a fresh virtual
environment without the source tree, the app starts offscreen and the demo model answers.

The fresh environment gets the wheel with ``--no-deps``; its dependencies (torch, PySide6, ...)
come from the running environment's site-packages through a ``.pth`` line, so the test does not
download 5 GB again. A plain path line in a ``.pth`` does not run that folder's own ``.pth``
files, so an editable install of mmstudio there stays invisible: the test checks that
``mmstudio`` is imported from the fresh environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the build needs from the repository (copied, so building writes nothing into it).
SOURCES = ("mmstudio", "resources", "pyproject.toml", "README.md", "LICENSE")


def test_pyproject_lists_every_package_folder():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "mmstudio").rglob("__init__.py")}
    assert set(config["packages"]) == on_disk | {"mmstudio.resources"}
    assert config["package-dir"] == {"mmstudio.resources": "resources"}


def _copy_sources(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def build_wheel(tmp: Path) -> Path:
    """The wheel of this checkout, built offline from a copy of its sources."""
    src = _copy_sources(tmp / "src")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = (tmp / "dist").glob("mmstudio-*.whl")
    return wheel


def install_fresh(wheel: Path, venv: Path) -> Path:
    """A new virtual environment holding only the wheel, with this environment's packages
    visible behind it; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    out = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "zz_parent_env.pth").write_text("\n".join(sorted(ours)) + "\n")
    return python


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MMSTUDIO_", "QT_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts}


@pytest.mark.slow
def test_the_wheel_installs_without_the_source_tree_starts_and_answers_the_demo_query(tmp_path):
    t0 = time.monotonic()
    wheel = build_wheel(tmp_path)
    built = time.monotonic() - t0
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "style.qss",
        "icons/mmstudio.svg",
        "demo/digits/manifest.csv",
        "demo/bundles/digits/model.safetensors",
        "demo/bundles/digits/index.safetensors",
        "demo/bundles/clipart/bundle.json",
    ):
        assert f"mmstudio/resources/{needed}" in names, needed
    t1 = time.monotonic()
    python = install_fresh(wheel, tmp_path / "venv")
    env, cwd = _clean_env(tmp_path / "home"), tmp_path / "elsewhere"
    cwd.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import mmstudio, mmstudio.gui.paths as p; print(mmstudio.__file__); print(p.RESOURCES)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    module, resources = where.stdout.split()
    assert module.startswith(str(tmp_path / "venv")) and resources.startswith(str(tmp_path / "venv"))
    installed = Path(resources)
    before = _files(installed)

    t2 = time.monotonic()
    probe = tmp_path / "demo.json"
    app = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "mmstudio")],
        cwd=cwd,
        env={**env, "MMSTUDIO_DEMO_PROBE": str(probe)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    launched = time.monotonic() - t2
    assert app.returncode == 0, app.stderr[-3000:]
    answer = json.loads(probe.read_text())
    assert "error" not in answer, answer
    assert answer["bundle"] == str(installed / "demo" / "bundles" / "digits")
    assert answer["labels"].count("7") >= 9, answer["labels"]

    cli = subprocess.run(
        [
            str(tmp_path / "venv" / "bin" / "mmstudio-cli"),
            "query",
            answer["bundle"],
            "--text",
            "seven",
            "--top",
            "3",
            "--json",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    first = json.loads(cli.stdout)["results"][0]["path"]
    assert first.startswith(str(installed)) and Path(first).is_file()  # paths resolve in the install
    bench = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "mmstudio-cli"), "bench", "--help"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bench.returncode == 0 and "--limit" in bench.stdout, bench.stderr  # bench ships too
    assert _files(installed) == before  # running the app wrote nothing into the installation
    print(
        f"\nwheel {wheel.stat().st_size / 1e6:.1f} MB, built in {built:.0f} s; install "
        f"{t2 - t1:.0f} s; app start + demo query + quit {launched:.0f} s"
    )

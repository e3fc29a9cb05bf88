"""The layers of DESIGN.md hold (import-linter) and the code passes the linter (ruff)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_linter_contracts_are_kept():
    result = _run("lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_is_clean():
    result = _run("ruff", "check", "mmstudio", "tests", "scripts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_window_modules_do_not_import_torch():
    """The window must open before torch loads: importing the GUI must not pull it in."""
    code = ("import sys; import mmstudio.gui.main_window, mmstudio.gui.app; "
            "print(sorted(m for m in ('torch', 'torchvision', 'torchaudio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

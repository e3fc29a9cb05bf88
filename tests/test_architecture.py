"""The layers of DESIGN.md hold (import-linter) and the code passes the linter (ruff)."""

from __future__ import annotations

import os
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
    code = (
        "import sys; import mmstudio.gui.main_window, mmstudio.gui.app; "
        "print(sorted(m for m in ('torch', 'torchvision', 'torchaudio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_types_check():
    """mypy over mmstudio/ (settings in pyproject.toml; no module is exempt). Its cache goes to
    the user cache folder, never into the repository."""
    import platformdirs

    cache = os.path.join(platformdirs.user_cache_dir("mmstudio", appauthor=False), "mypy")
    result = _run("mypy", "--cache-dir", cache)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tree_is_formatted():
    """The whole tree is in ruff's format (`ruff format mmstudio tests scripts` fixes it)."""
    result = _run("ruff", "format", "--check", "mmstudio", "tests", "scripts")
    assert result.returncode == 0, result.stdout + result.stderr


MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 60
#: Functions still longer than that, and why. Each builds a panel's widgets in reading order;
#: they are split with the panels' restyle (issue 15), which owns those files now.
LONG_FUNCTIONS: dict[str, str] = {}
#: Files still longer than that, and why (none today).
LONG_FILES: dict[str, str] = {}


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    """(lines per file, lines per function as ``path::name``) for every module in mmstudio/."""
    import ast

    files, functions = {}, {}
    for path in sorted((ROOT / "mmstudio").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        files[rel] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions[f"{rel}::{node.name}"] = node.end_lineno - node.lineno + 1
    return files, functions


def test_modules_and_functions_stay_small():
    """DESIGN.md: one concept per module and functions short enough to read at once. The
    allow-lists only shrink: an entry that no longer needs to be there fails too."""
    files, functions = _sizes()
    long_files = {f for f, n in files.items() if n > MAX_FILE_LINES}
    long_functions = {f for f, n in functions.items() if n > MAX_FUNCTION_LINES}
    assert long_files == set(LONG_FILES), {f: files.get(f) for f in long_files ^ set(LONG_FILES)}
    assert long_functions == set(LONG_FUNCTIONS), {f: functions.get(f) for f in long_functions ^ set(LONG_FUNCTIONS)}

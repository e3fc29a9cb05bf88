"""README's two commands are the ones the project really runs: CI runs the test command."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```(?:bash|sh)\n(python3 -m venv .venv[^\n]+)\n```", text)


def test_readme_gives_an_install_and_launch_and_an_install_and_test_command():
    commands = readme_commands()
    assert any(c.endswith(".venv/bin/mmstudio") for c in commands), commands
    assert any(c.endswith(".venv/bin/python -m pytest") for c in commands), commands


def test_ci_runs_the_readme_test_command_exactly():
    test_command = next(c for c in readme_commands() if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci

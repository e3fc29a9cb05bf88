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


def test_run_toml_reference_is_current():
    """README's run.toml table is generated from the run dataclasses: a field added, renamed or
    given another default shows up there (refresh with python -m mmstudio.config_doc --write)."""
    from mmstudio.config_doc import BEGIN, README, updated_readme

    with open(README, encoding="utf-8") as fh:
        text = fh.read()
    assert BEGIN in text
    assert updated_readme(text) == text, "run python -m mmstudio.config_doc --write"
    assert "| `model.text.max_tokens` | `0` |" in text  # automatic, and documented as such

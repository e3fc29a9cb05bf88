"""Project files that used to crash the loader show a dialog naming the file (issue 16)."""

from __future__ import annotations

import os

import pytest

from mmstudio.gui import projects as projects_module

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONTENT = {
    "random bytes": os.urandom(4000),
    "non-UTF-8": b'{"format": "mmstudio.project", "name": "caf\xe9"}',
    "a list": b"[1, 2]",
    "datasets a number": b'{"format": "mmstudio.project", "datasets": 3}',
    "deep nesting": b'{"format": "mmstudio.project", "name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "huge number": b'{"format": "mmstudio.project", "schema_version": ' + b"9" * 5000 + b"}",
    "NUL in a path": b'{"format": "mmstudio.project", "runs": ["a\\u0000b"]}',
}


@pytest.mark.parametrize("name", list(CONTENT))
def test_a_hostile_project_shows_a_dialog_and_changes_nothing(window, tmp_path, monkeypatch, name):
    bad = tmp_path / "bad.mmstudio"
    bad.write_bytes(CONTENT[name])
    warned = []
    monkeypatch.setattr(projects_module.QMessageBox, "warning", lambda _p, title, text: warned.append((title, text)))
    assert not window.projects.open(str(bad))
    [(title, text)] = warned
    assert title == "Cannot open the project" and text.startswith(f"{bad}: ")
    assert window.projects.path == ""

"""docs/faults.md is generated from the tests' fault markers and must be current (issue 16)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("faults_doc", ROOT / "scripts" / "faults_doc.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["faults_doc"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_docs_faults_md_is_generated_from_the_tests_and_current():
    doc = _script()
    faults = doc.collect()
    assert len(faults) >= 25 and all(f.case.strip() and f.behaviour.strip() for f in faults)
    current = (ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    assert current == doc.render(faults), "docs/faults.md is stale: run python scripts/faults_doc.py --write"


def test_a_new_marker_becomes_a_row(tmp_path):
    doc = _script()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        'import pytest\nCASES = {"a": 1, "b": 2}\n\n'
        '@pytest.mark.fault(case="Disk | gone: " + ", ".join(CASES), how="pulled", behaviour="said so")\n'
        "def test_it():\n    pass\n"
    )
    [fault] = doc.collect(tmp_path)
    assert fault == doc.Fault("Disk | gone: a, b", "pulled", "said so", "tests/test_x.py::test_it")
    assert "| Disk \\| gone: a, b | pulled | said so | `tests/test_x.py::test_it` |" in doc.render([fault])

"""Numeric targets (the ``target`` role): parsed once, refused with a row number when not a
number, and offered as "predict this number" when a numeric column has no role."""

from __future__ import annotations

from mmstudio.config import DatasetSpec
from mmstudio.data import open_dataset
from mmstudio.data.targets import numeric_column, parse_target


def _manifest(tmp_path, rows: list[str]) -> str:
    path = tmp_path / "m.csv"
    path.write_text("text,rating,stars\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_parse_target():
    assert parse_target("3.25") == (3.25, "")
    assert parse_target(" -1e2 ") == (-100.0, "")
    assert parse_target("") == (None, "")
    assert parse_target(None) == (None, "")
    assert parse_target("abc")[1] == "target 'abc' is not a number"
    assert "finite" in parse_target("nan")[1] and "finite" in parse_target("inf")[1]


def test_numeric_columns_with_many_values_look_like_targets():
    assert numeric_column([f"{i * 0.37:.2f}" for i in range(40)])
    assert not numeric_column([str(i % 10) for i in range(40)])  # digit classes
    assert not numeric_column(["1.5", "x", "2"])


def test_target_role_loads_numbers_and_reports_bad_rows(tmp_path):
    rows = [f"sample text {i},{i * 0.5},{i % 3}" for i in range(30)] + ["odd one,n/a,1"]
    spec = DatasetSpec(_manifest(tmp_path, rows), columns={"rating": "target"})
    ds = open_dataset(spec)
    assert ds.summary()["targets"] == 30
    assert ds.items[3].target == 1.5
    bad = [p for p in ds.problems if "not a number" in p.reason]
    assert len(bad) == 1 and bad[0].row == 32 and bad[0].severity == "warning"
    assert ds.target_candidate() is None


def test_a_numeric_column_without_a_role_is_offered(tmp_path):
    rows = [f"sample text {i},{i * 0.5},{i % 3}" for i in range(30)]
    ds = open_dataset(DatasetSpec(_manifest(tmp_path, rows)))
    assert ds.summary()["targets"] == 0
    assert ds.target_candidate() == "rating"  # "stars" has three values: a label, not a number
    assert any("predict this number" in p.reason for p in ds.problems)

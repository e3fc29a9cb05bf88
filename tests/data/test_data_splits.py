"""Splits (issue 2, item 7): stratified from ratios and a seed when the data has none; the data's
own split column respected, with its usual spellings understood."""

from __future__ import annotations

from collections import Counter

import pytest
from data_makers import read_rows, write_csv, write_text

from mmstudio.config import DatasetSpec, SplitSpec
from mmstudio.data import Item, assign_splits, open_dataset


def _items(per_class: dict[str, int]) -> list[Item]:
    return [Item(id=f"{label}-{i}", text="x", label=label) for label, n in per_class.items() for i in range(n)]


def _per_class(items: list[Item]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for it in items:
        out.setdefault(it.label, Counter())[it.split] += 1
    return out


def test_stratified_proportions_per_class():
    items, from_data = assign_splits(_items({"a": 50, "b": 100, "c": 20}), SplitSpec(0.8, 0.1, 0.1))
    assert not from_data
    per_class = _per_class(items)
    assert per_class["a"] == Counter(train=40, val=5, test=5)
    assert per_class["b"] == Counter(train=80, val=10, test=10)
    assert per_class["c"] == Counter(train=16, val=2, test=2)


def test_ratios_need_not_sum_to_one():
    items, _ = assign_splits(_items({"a": 30, "b": 30}), SplitSpec(2, 1, 0))
    assert Counter(it.split for it in items) == Counter(train=40, val=20)


def test_small_classes_do_not_starve_a_split():
    # ten classes of five: every class rounds 4 / 0.5 / 0.5; the halves must not all go to val
    items, _ = assign_splits(_items({str(k): 5 for k in range(10)}), SplitSpec(0.8, 0.1, 0.1))
    assert Counter(it.split for it in items) == Counter(train=40, val=5, test=5)
    for counts in _per_class(items).values():
        assert counts["train"] == 4


def test_same_seed_same_split_other_seed_other_split():
    items = _items({"a": 40, "b": 40})
    first, _ = assign_splits(items, SplitSpec(seed=7))
    again, _ = assign_splits(list(reversed(items)), SplitSpec(seed=7))  # order does not matter
    other, _ = assign_splits(items, SplitSpec(seed=8))

    def by_id(its):
        return {it.id: it.split for it in its}

    assert by_id(first) == by_id(again)
    assert by_id(first) != by_id(other)
    assert _per_class(first) == _per_class(other)  # both still stratified


def test_unlabelled_items_are_split_too():
    items = [Item(id=f"u{i}", text="x") for i in range(10)]
    out, _ = assign_splits(items, SplitSpec(0.8, 0.1, 0.1))
    assert Counter(it.split for it in out) == Counter(train=8, val=1, test=1)


def test_a_split_column_is_respected(triplets):
    ds = open_dataset(str(triplets))
    assert ds.split_from_data
    expected = {r["id"]: r["split"] for r in read_rows(triplets)}
    assert {it.id: it.split for it in ds.items} == expected
    assert ds.splits() == {"train": 9, "test": 3}


@pytest.mark.parametrize("spelling", ["valid", "validation", "dev", "Val", " VALIDATION "])
def test_split_names_are_normalised(triplets, spelling):
    rows = read_rows(triplets)
    for r in rows[:3]:
        r["split"] = spelling
    for r in rows[3:5]:
        r["split"] = "Training"
    write_csv(triplets, rows)
    ds = open_dataset(str(triplets))
    assert ds.splits() == {"train": 7, "val": 3, "test": 2}


def test_blank_split_cells_are_filled_from_the_seed(triplets):
    rows = read_rows(triplets)
    for r in rows[:6]:
        r["split"] = ""
    write_csv(triplets, rows)
    ds = open_dataset(str(triplets))
    given = {r["id"]: r["split"] for r in rows[6:]}
    assert all(it.split == given[it.id] for it in ds.items if it.id in given)
    assert all(it.split in ("train", "val", "test") for it in ds.items)


def test_a_dataset_without_a_split_column_gets_the_spec_split(tmp_path):
    for label in ("pos", "neg"):
        for i in range(10):
            write_text(tmp_path / label / f"{i}.txt", f"{label} words {i}")
    ds = open_dataset(DatasetSpec(str(tmp_path), split=SplitSpec(0.6, 0.2, 0.2, seed=3)))
    assert not ds.split_from_data
    assert ds.splits() == {"train": 12, "val": 4, "test": 4}
    assert {label: dict(c) for label, c in _per_class(ds.items).items()} == {
        "pos": {"train": 6, "val": 2, "test": 2},
        "neg": {"train": 6, "val": 2, "test": 2},
    }
    again = open_dataset(DatasetSpec(str(tmp_path), split=SplitSpec(0.6, 0.2, 0.2, seed=3)))
    assert [it.split for it in again.items] == [it.split for it in ds.items]
    other = open_dataset(DatasetSpec(str(tmp_path), split=SplitSpec(0.6, 0.2, 0.2, seed=4)))
    assert [it.split for it in other.items] != [it.split for it in ds.items]


def test_bad_ratios_are_refused():
    with pytest.raises(ValueError, match="split ratios"):
        SplitSpec(0, 0, 0)
    with pytest.raises(ValueError, match="split ratios"):
        SplitSpec(1, -0.1, 0.1)


def test_a_split_column_with_an_extra_split_name(triplets):
    rows = read_rows(triplets)
    rows[0]["split"] = "holdout"
    write_csv(triplets, rows)
    ds = open_dataset(str(triplets))
    assert ds.columns["split"] == "split"
    assert ds.splits() == {"train": 8, "test": 3, "holdout": 1}

"""Datasets as strangers make them (issue 16): legacy encodings, no label column, and symbolic
links (loops, dangling, out of the dataset). Real files and real links; nothing on disk changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from data_makers import fingerprint, read_rows, write_image

from mmstudio.data import open_dataset

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")


@pytest.mark.fault(
    case="A CSV manifest saved in Latin-1 (Windows-1252) with accented captions",
    how='the triplet manifest rewritten with `encoding="latin-1"` (`tests/data/test_data_hostile.py`)',
    behaviour="Every row loads with its accents; one warning names the file, the first "
    "non-UTF-8 line and the encoding: `manifest is not UTF-8 (first at line 2): "
    "read as cp1252 (detected)…`; the file is not changed",
)
def test_a_latin1_manifest_loads_with_a_warning_naming_the_encoding(triplets):
    rows = read_rows(triplets)
    for i, row in enumerate(rows):
        row["text"] = f"café crème numéro {i} à côté de la forêt"
    header = ",".join(rows[0])
    body = "\n".join(",".join(r.values()) for r in rows)
    triplets.write_bytes((header + "\n" + body + "\n").encode("latin-1"))
    before = fingerprint(triplets.parent)
    ds = open_dataset(str(triplets))
    [warning] = ds.problems
    assert warning.severity == "warning" and warning.path == str(triplets)
    assert "not UTF-8 (first at line 2): read as cp1252" in warning.reason
    assert len(ds.items) == len(rows)
    assert {it.text for it in ds.items} == {r["text"] for r in rows}
    assert fingerprint(triplets.parent) == before


@pytest.mark.fault(
    case="A JSONL manifest written whole in a legacy encoding",
    how="rows of accented Russian text saved as cp1251",
    behaviour="Detected and decoded (`read as cp1251`), every row loads; a single stray "
    "non-UTF-8 line in a UTF-8 file stays that row's problem",
)
def test_a_cp1251_jsonl_is_detected(tmp_path):
    words = ["привет", "мир", "как", "дела", "хорошо", "спасибо", "кошка", "собака", "дом", "улица"]
    lines = [f'{{"text": "{" ".join(words[(i + j) % 10] for j in range(6))}", "label": "{i % 2}"}}' for i in range(40)]
    path = tmp_path / "m.jsonl"
    path.write_bytes("\n".join(lines).encode("cp1251") + b"\n")
    ds = open_dataset(str(path))
    assert [p.severity for p in ds.problems] == ["warning"] and "read as cp1251" in ds.problems[0].reason
    assert len(ds.items) == 40 and ds.items[0].text.startswith("привет")


@pytest.mark.fault(
    case="A manifest with no label column (image, caption, speaker)",
    how="`label` column removed; `speaker` has few distinct values, like labels",
    behaviour="Items load unlabelled (no column is taken as the label from its content); "
    "a warning says so and names the column that looks like labels; training "
    "`classify` says `the classify task needs labels…; give the dataset a label "
    "column (role 'label'), or train the align task`",
)
def test_a_manifest_without_a_label_column_loads_unlabelled_and_says_so(triplets):
    rows = read_rows(triplets)
    keep = [c for c in rows[0] if c not in ("label", "split")]
    lines = [",".join(keep + ["speaker"])]
    lines += [",".join([r[c] for c in keep] + [["ann", "bob"][i % 2]]) for i, r in enumerate(rows)]
    triplets.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds = open_dataset(str(triplets))
    assert ds.columns["speaker"] == "ignore" and ds.labels() == {} and ds.class_names == []
    [note] = ds.problems
    assert "no label column: items load unlabelled" in note.reason and "'speaker'" in note.reason


def _class_folders(root: Path) -> Path:
    for label in ("cat", "dog"):
        for i in range(3):
            write_image(root / label / f"{i}.png", 0 if label == "cat" else 1, i)
    return root


@pytest.mark.fault(
    case="Symbolic links in a class-folder dataset: two links pointing at each other, "
    "a dangling link, a link to a file outside the dataset, a link to a folder "
    "outside, a link to the dataset's own folder",
    how="real links made with `os.symlink` (`tests/data/test_data_hostile.py`)",
    behaviour="The rest of the folder loads; each refused link is listed with its reason "
    "(`symbolic link loop…`, `broken symbolic link (points to …)`, `symbolic link "
    "to …, outside the dataset folder; not followed`); a link inside the dataset "
    "is followed; the loop back to the root is walked once",
)
def test_symlinks_are_followed_only_inside_the_dataset_and_listed(tmp_path):
    root = _class_folders(tmp_path / "set")
    secret = tmp_path / "private" / "secret.png"
    write_image(secret, 1, 9)
    os.symlink(root / "cat" / "b.png", root / "cat" / "a.png")  # a <-> b
    os.symlink(root / "cat" / "a.png", root / "cat" / "b.png")
    os.symlink(root / "cat" / "gone.png", root / "cat" / "dangling.png")
    os.symlink(secret, root / "dog" / "stolen.png")
    os.symlink(secret.parent, root / "dog" / "elsewhere")
    os.symlink(root, root / "dog" / "again")  # a loop through the dataset's own folder
    os.symlink(root / "cat" / "0.png", root / "dog" / "alias.png")  # inside: fine
    ds = open_dataset(str(root))
    reasons = {os.path.basename(p.path): p.reason for p in ds.problems}
    assert "symbolic link loop" in reasons["a.png"] and "symbolic link loop" in reasons["b.png"]
    assert "broken symbolic link" in reasons["dangling.png"] and "gone.png" in reasons["dangling.png"]
    assert "outside the dataset folder; not followed" in reasons["stolen.png"]
    assert "outside the dataset folder; not followed" in reasons["elsewhere"]
    paths = {it.image for it in ds.items}
    assert not any("private" in os.path.realpath(p) for p in paths)
    assert str(root / "dog" / "alias.png") in paths
    assert sorted(ds.labels().items()) == [("cat", 3), ("dog", 4)]


@pytest.mark.fault(
    case="A manifest row naming a symbolic link that points out of the dataset",
    how="`images/x.png` is a link to a file in another folder; the path itself stays inside",
    behaviour="That row's image is refused: `symbolic link to …, outside the dataset folder; "
    "not followed` with its row number; the link's target is never opened",
)
def test_a_manifest_path_through_a_link_out_of_the_dataset_is_refused(triplets, tmp_path):
    secret = tmp_path / "secret.png"
    write_image(secret, 0, 0)
    rows = read_rows(triplets)
    target = triplets.parent / rows[0]["image"]
    target.unlink()
    os.symlink(secret, target)
    ds = open_dataset(str(triplets))
    [problem] = [p for p in ds.problems if "symbolic link" in p.reason]
    assert problem.path == str(target) and problem.row == 2
    assert "outside the dataset folder; not followed" in problem.reason
    assert not any(it.image == str(target) for it in ds.items)

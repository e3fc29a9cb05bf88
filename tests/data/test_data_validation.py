"""Every unusable or suspicious input is listed with its path and a plain reason; the rest loads;
nothing on disk is touched (issue 2, item 6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from data_makers import (
    bomb_png,
    fingerprint,
    noisy_image,
    read_rows,
    truncate,
    write_csv,
    write_image,
    write_jsonl,
    write_text,
)

from mmstudio.config import DatasetSpec
from mmstudio.data import open_dataset

FIRST = "s0_000"  # the row the damages below spoil (label "zero", split "train")


def _edit_rows(manifest: Path, **changes) -> None:
    """Rewrite the manifest with ``changes`` applied to the first row."""
    rows = read_rows(manifest)
    rows[0].update(changes)
    write_csv(manifest, rows)


def _garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 8)


# Each damage: (spoil(root, manifest) -> the path a problem must name, reason fragment,
#               severity, the modalities the first item keeps; None when the row is dropped).
DAMAGES = {
    "missing image": (
        lambda r, m: _unlink(r / "images" / f"{FIRST}.png"),
        "file not found",
        "error",
        ("text", "audio"),
    ),
    "zero-byte image": (
        lambda r, m: _empty(r / "images" / f"{FIRST}.png"),
        "file is empty (0 bytes)",
        "error",
        ("text", "audio"),
    ),
    "truncated PNG": (
        lambda r, m: truncate(noisy_image(r / "images" / f"{FIRST}.png")),
        "image is truncated",
        "error",
        ("text", "audio"),
    ),
    "truncated JPEG": (lambda r, m: _as_jpeg(r, m), "image is truncated", "error", ("text", "audio")),
    "undecodable image": (
        lambda r, m: _spoil(r / "images" / f"{FIRST}.png", _garbage),
        "not a readable image",
        "error",
        ("text", "audio"),
    ),
    "zero-byte audio": (
        lambda r, m: _empty(r / "audio" / f"{FIRST}.wav"),
        "file is empty (0 bytes)",
        "error",
        ("image", "text"),
    ),
    "truncated WAV": (
        lambda r, m: truncate(r / "audio" / f"{FIRST}.wav", 0.6),
        "audio is truncated",
        "error",
        ("image", "text"),
    ),
    "undecodable audio": (
        lambda r, m: _spoil(r / "audio" / f"{FIRST}.wav", _garbage),
        "not a readable audio file",
        "error",
        ("image", "text"),
    ),
    "decompression bomb": (
        lambda r, m: bomb_png(r / "images" / f"{FIRST}.png", side=20_000),
        "possible decompression bomb",
        "error",
        ("text", "audio"),
    ),
    "path up out of the folder": (
        lambda r, m: _outside(r, m, relative=True),
        "escapes the dataset folder",
        "error",
        ("text", "audio"),
    ),
    "absolute path elsewhere": (
        lambda r, m: _outside(r, m, relative=False),
        "escapes the dataset folder",
        "error",
        ("text", "audio"),
    ),
    "empty text": (lambda r, m: _edit_rows(m, text="   ") or m, "text is empty", "warning", ("image", "audio")),
    "label with one sample": (
        lambda r, m: _edit_rows(m, label="lonely") or r / "images" / f"{FIRST}.png",
        "only one sample",
        "warning",
        ("image", "text", "audio"),
    ),
}


def _unlink(path: Path) -> Path:
    path.unlink()
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _spoil(path: Path, how) -> Path:
    how(path)
    return path


def _as_jpeg(root: Path, manifest: Path) -> Path:
    path = truncate(noisy_image(root / "images" / f"{FIRST}.jpg"))
    _edit_rows(manifest, image=f"images/{FIRST}.jpg")
    return path


def _outside(root: Path, manifest: Path, relative: bool) -> Path:
    outside = write_image(root.parent / "outside.png")
    _edit_rows(manifest, image="../outside.png" if relative else str(outside))
    return Path(os.path.normpath(root / "../outside.png")) if relative else outside


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_each_damage_is_reported_alone_and_the_rest_loads(triplets, damage):
    spoil, reason, severity, kept = DAMAGES[damage]
    root = triplets.parent
    expected_path = spoil(root, triplets)
    ds = open_dataset(str(triplets))
    [problem] = ds.problems
    assert problem.path == str(expected_path)
    assert reason in problem.reason
    assert problem.severity == severity
    assert len(ds.items) == 12  # a row keeps what is still usable in it
    first = next(it for it in ds.items if it.id == FIRST)
    assert first.modalities == kept
    # the other rows are untouched
    assert all(it.modalities == ("image", "text", "audio") for it in ds.items if it.id != FIRST)


def test_image_over_a_lowered_pixel_limit(triplets):
    root = triplets.parent
    bomb_png(root / "images" / f"{FIRST}.png", side=2_000)  # 4 M pixels in a few kilobytes
    assert os.path.getsize(root / "images" / f"{FIRST}.png") < 20_000
    assert open_dataset(str(triplets)).problems == []  # under the default limit
    ds = open_dataset(DatasetSpec(str(triplets), max_image_pixels=1_000_000))
    [problem] = ds.problems
    assert problem.path == str(root / "images" / f"{FIRST}.png")
    assert "2000x2000" in problem.reason and "over the limit of 1,000,000" in problem.reason


def test_an_absolute_path_inside_the_folder_is_fine(triplets):
    _edit_rows(triplets, image=str(triplets.parent / "images" / f"{FIRST}.png"))
    assert open_dataset(str(triplets)).problems == []


def test_a_row_whose_only_file_escapes_is_reported_once(tmp_path):
    write_image(tmp_path / "outside.png")
    for i in range(2):
        write_image(tmp_path / "set" / f"{i}.png", 0, i)
    manifest = write_csv(
        tmp_path / "set" / "m.csv", [{"image": "0.png"}, {"image": "1.png"}, {"image": "../outside.png"}]
    )
    ds = open_dataset(str(manifest))
    [problem] = ds.problems
    assert "escapes the dataset folder" in problem.reason and problem.row == 4
    assert len(ds.items) == 2


def test_duplicate_ids(triplets):
    rows = read_rows(triplets)
    rows[5]["id"] = rows[2]["id"]
    write_csv(triplets, rows)
    ds = open_dataset(str(triplets))
    [problem] = ds.problems
    assert problem.path == str(triplets) and problem.row == 7  # header is line 1
    assert f"duplicate id {rows[2]['id']!r}" in problem.reason and "row 4" in problem.reason
    assert len(ds.items) == 11


def test_a_folder_with_two_files_of_one_modality_and_name(tmp_path):
    for label in ("a", "b"):
        for i in range(2):
            write_image(tmp_path / label / f"{i}.png", 0, i)
    write_image(tmp_path / "a" / "0.jpg")
    ds = open_dataset(str(tmp_path))
    [problem] = ds.problems
    assert "duplicate id 'a/0'" in problem.reason
    assert len(ds.items) == 4


def test_wrong_field_count_in_csv(triplets):
    with open(triplets, "a", encoding="utf-8") as fh:
        fh.write("extra,zero,images/s0_001.png,audio/s0_001.wav,too,many,fields\n")
        fh.write("short,row\n")
    ds = open_dataset(str(triplets))
    assert [(p.path, p.row) for p in ds.problems] == [(str(triplets), 14), (str(triplets), 15)]
    assert "7 fields where the header has 6" in ds.problems[0].reason
    assert all(p.reason.startswith("malformed row") for p in ds.problems)
    assert len(ds.items) == 12


def test_malformed_jsonl_rows(triplets):
    rows = read_rows(triplets)
    manifest = triplets.with_suffix(".jsonl")
    write_jsonl(manifest, rows[:6])
    with open(manifest, "a", encoding="utf-8") as fh:
        fh.write('{"id": "broken", "image": \n')  # line 7
        fh.write('["a", "list"]\n')  # line 8
        fh.write('"just a string"\n')  # line 9
        fh.write("\n")  # blank lines are fine
    with open(manifest, "ab") as fh:
        fh.write(b'{"id": "latin1", "text": "caf\xe9"}\n')  # line 11
    ds = open_dataset(str(manifest))
    assert [(p.row, p.path) for p in ds.problems] == [(n, str(manifest)) for n in (7, 8, 9, 11)]
    reasons = [p.reason for p in ds.problems]
    assert "invalid JSON" in reasons[0]
    assert "expected a JSON object, got list" in reasons[1]
    assert "expected a JSON object, got str" in reasons[2]
    assert "not UTF-8" in reasons[3]
    assert len(ds.items) == 6


@pytest.mark.parametrize(
    "content, reason",
    [(b"\xff\xfebad \x80 bytes", "text is not UTF-8"), (b"", "file is empty"), (b"  \n\t ", "text is empty")],
)
def test_unusable_text_files(tmp_path, content, reason):
    for label in ("a", "b"):
        for i in range(2):
            write_text(tmp_path / label / f"{i}.txt", f"words {label} {i}")
    bad = tmp_path / "a" / "bad.txt"
    bad.write_bytes(content)
    ds = open_dataset(str(tmp_path))
    [problem] = ds.problems
    assert problem.path == str(bad) and reason in problem.reason and problem.severity == "error"
    assert len(ds.items) == 4


def test_everything_at_once_touches_nothing_on_disk(tmp_path):
    """All the damages in one dataset: each reported, the good rows loaded, no byte changed."""
    from synth import make_triplet_dataset

    manifest = make_triplet_dataset(tmp_path / "set", classes=3, per_class=8)
    root = manifest.parent
    rows = read_rows(manifest)
    images, audio = root / "images", root / "audio"
    (images / f"{rows[0]['id']}.png").unlink()
    (images / f"{rows[1]['id']}.png").write_bytes(b"")
    truncate(noisy_image(images / f"{rows[2]['id']}.png"))
    _garbage(images / f"{rows[3]['id']}.png")
    (audio / f"{rows[4]['id']}.wav").write_bytes(b"")
    truncate(audio / f"{rows[5]['id']}.wav", 0.6)
    _garbage(audio / f"{rows[6]['id']}.wav")
    bomb_png(images / f"{rows[7]['id']}.png", side=20_000)
    write_image(tmp_path / "outside.png")
    rows[8]["image"] = "../outside.png"
    rows[9]["id"] = rows[10]["id"]
    rows[11]["text"] = ""
    write_csv(manifest, rows)
    with open(manifest, "a", encoding="utf-8") as fh:
        fh.write("a,b,c\n")
    before = fingerprint(tmp_path)
    ds = open_dataset(str(manifest))
    assert fingerprint(tmp_path) == before
    assert len(ds.problems) == 12
    named = {os.path.basename(p.path) for p in ds.problems}
    assert {f"{rows[i]['id']}.png" for i in (0, 1, 2, 3, 7)} <= named
    assert {f"{rows[i]['id']}.wav" for i in (4, 5, 6)} <= named
    assert "outside.png" in named and "manifest.csv" in named
    assert all(p.reason and p.path for p in ds.problems)
    assert len(ds.items) == 23  # 24 rows, one duplicate id dropped
    assert ds.modality_counts() == {"image": 23 - 6, "text": 22, "audio": 23 - 3}


def test_a_lone_label_names_its_file(tmp_path):
    for i in range(2):
        write_text(tmp_path / "common" / f"{i}.txt", f"words {i}")
    write_text(tmp_path / "rare" / "only.txt", "alone")
    ds = open_dataset(str(tmp_path))
    [problem] = ds.problems
    assert problem.path == str(tmp_path / "rare" / "only.txt")
    assert problem.severity == "warning" and "'rare' has only one sample" in problem.reason


def test_an_unclosed_quote_is_named_with_the_lines_it_swallowed(triplets):
    rows = read_rows(triplets)
    rows[3]["text"] = "PLACEHOLDER"
    write_csv(triplets, rows)
    text = triplets.read_text(encoding="utf-8").replace("PLACEHOLDER", '"the number zero')
    triplets.write_text(text, encoding="utf-8")
    ds = open_dataset(str(triplets))
    [problem] = [p for p in ds.problems if p.path == str(triplets)]
    assert problem.row == 5
    assert "quote opened on line 5 is not closed" in problem.reason


def test_a_manifest_that_is_not_utf8_is_decoded_and_names_the_line(triplets):
    # issue 16: a Latin-1 byte no longer loses the whole file; the warning says what was assumed
    data = triplets.read_bytes().replace(b"the number two", b"the n\xfamber two", 1)
    triplets.write_bytes(data)
    ds = open_dataset(str(triplets))
    [problem] = ds.problems
    assert problem.path == str(triplets) and problem.severity == "warning"
    assert "not UTF-8 (first at line 10): read as cp1252" in problem.reason
    assert len(ds.items) == 12 and any(it.text == "the n\u00famber two" for it in ds.items)


def test_a_folder_whose_manifest_files_are_all_missing_says_so(triplets):
    root = triplets.parent
    for sub in ("images", "audio"):
        for f in (root / sub).iterdir():
            f.unlink()
        (root / sub).rmdir()
    ds = open_dataset(str(root))
    assert ds.layout == "manifest"
    assert len(ds.errors()) == 24 and {p.reason for p in ds.errors()} == {"file not found"}
    assert len(ds.items) == 12 and ds.modalities == ["text"]


def test_progress_is_reported_up_to_done(triplets):
    seen = []
    open_dataset(str(triplets), progress=lambda fraction, message: seen.append((fraction, message)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(isinstance(m, str) and m for _, m in seen)

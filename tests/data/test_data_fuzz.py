"""Hostile manifests (issues 2 and 8): random bytes, huge lines, wrong JSON types, deep nesting,
mutated rows and many rows either load or give clear problems; no other exception escapes
open_dataset, and memory stays bounded.

A million rows (issue 8's figure) take 15-30 s and about 700 MB peak memory on this 2-core
machine: that test is marked slow (it still runs in CI); the 100,000-row test runs the same code
quickly with a tighter bound.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from data_makers import read_rows, write_csv

from mmstudio.config import DatasetSpec
from mmstudio.data import open_dataset

EXTS = (".csv", ".tsv", ".jsonl", ".txt")


def _open_or_clear_error(path):
    """open_dataset's result, or None when it refused the path with a plain ValueError."""
    try:
        ds = open_dataset(str(path))
    except ValueError as exc:
        assert str(path) in str(exc)
        return None
    for p in ds.problems:
        assert p.path and isinstance(p.reason, str) and p.reason.strip()
    return ds


@pytest.mark.parametrize("ext", EXTS)
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.fault(
    case="Manifest of random bytes",
    how="20 KB of random bytes as `.csv/.tsv/.jsonl/.txt`",
    behaviour='One clear problem ("not … text") or a `ValueError` naming the file.',
)
def test_random_bytes(tmp_path, ext, seed):
    path = tmp_path / f"noise{ext}"
    path.write_bytes(random.Random(seed).randbytes(20_000 + seed))
    ds = _open_or_clear_error(path)
    assert ds is None or (ds.items == [] and len(ds.problems) == 1)
    if ds is not None:
        assert "not" in ds.problems[0].reason and "text" in ds.problems[0].reason


@pytest.mark.parametrize("ext", EXTS)
@pytest.mark.fault(
    case="A 10 MB line",
    how="one 10,000,000-character row",
    behaviour="The row is reported as malformed with its row number; the rest loads; peak traced memory < 120 MB.",
)
def test_a_10_mb_single_line(tmp_path, ext):
    path = tmp_path / f"long{ext}"
    good = '{"text": "fine words", "label": "a"}\n' if ext == ".jsonl" else "text,label\n"
    body = '{"text": "' + "x" * 10_000_000 + '", "label": "b"}\n' if ext == ".jsonl" else "x" * 10_000_000 + ",b\n"
    path.write_text(good + body + good.splitlines()[-1] if ext == ".jsonl" else good + body, encoding="utf-8")
    tracemalloc.start()
    try:
        ds = _open_or_clear_error(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 120_000_000  # a few copies of the file at most, never a runaway
    assert ds is not None
    if ext in (".csv", ".jsonl"):
        [problem] = [p for p in ds.problems if p.row == 2]
        assert "malformed row" in problem.reason
        assert all(len(it.text or "") < 1000 for it in ds.items)


@pytest.mark.fault(
    case="Wrong types",
    how="JSONL numbers/booleans/objects/nulls for text and labels; CSV numbers, booleans, JSON "
    "and control characters in path columns (`test_wrong_types_in_csv_cells`)",
    behaviour='Values become text where text is allowed; each bad path is a "file not found" problem '
    "with its row; nothing raises.",
)
def test_wrong_types_in_jsonl(tmp_path):
    rows = [
        {"text": 12, "label": 3},
        {"text": None, "label": "b", "image": None},
        {"text": {"nested": ["a", 1]}, "label": [1, 2]},
        {"text": True, "label": 1.5},
        {"text": "plain words here", "label": None},
        {"text": "more words here", "label": {"a": None}},
    ]
    path = tmp_path / "types.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ds = _open_or_clear_error(path)
    texts = sorted(it.text for it in ds.items)
    assert texts == sorted(["12", '{"nested": ["a", 1]}', "True", "plain words here", "more words here"])
    # the null text is an empty text, named with its row
    assert [(p.row, "text is empty" in p.reason) for p in ds.problems if p.severity == "error"] == [(2, True)]


def test_json_nested_too_deeply(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(
        '{"text": "ok words", "label": "a"}\n' + "[" * 200_000 + "\n" + '{"text": "x": ' + "{" * 50_000 + "\n",
        encoding="utf-8",
    )
    ds = _open_or_clear_error(path)
    assert len(ds.items) == 1
    assert {p.row for p in ds.problems if p.reason.startswith("malformed row")} == {2, 3}


def test_nul_and_odd_characters_in_paths(tmp_path):
    path = tmp_path / "odd.jsonl"
    rows = [
        {"image": "a\u0000.png", "text": "one thing"},
        {"image": "x" * 5000 + ".png"},
        {"image": "/", "text": "slash"},
        {"image": "sub/", "text": "folder"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    ds = open_dataset(DatasetSpec(str(path), columns={"image": "image"}))
    reasons = sorted(p.reason for p in ds.problems)
    assert reasons == [
        "file cannot be read: File name too long",
        "is a folder, not a file",
        "not a valid file name",
        "path escapes the dataset folder; skipped",
        "row 2: text is empty",
    ]
    assert sorted(it.text for it in ds.items) == ["folder", "one thing", "slash"]


@pytest.mark.parametrize("seed", range(12))
def test_mutated_manifests(triplets, seed):
    """A real manifest with random edits: cut, duplicated or swapped bytes, stray quotes and
    delimiters, changed encodings."""
    rng = random.Random(seed)
    data = bytearray(triplets.read_bytes())
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data))
        action = rng.choice(["cut", "dup", "insert", "flip", "truncate"])
        if action == "cut":
            del data[at : at + rng.randint(1, 40)]
        elif action == "dup":
            data[at:at] = data[at : at + rng.randint(1, 200)]
        elif action == "insert":
            data[at:at] = rng.choice([b'"', b",", b"\t", b"\n", b"\r", b"\x00", b"\xff", b"{", b"\\"])
        elif action == "flip":
            data[at] = rng.randrange(256)
        else:
            del data[at:]
    for ext in (".csv", ".jsonl"):
        path = triplets.with_suffix(ext)
        path.write_bytes(bytes(data))
        ds = _open_or_clear_error(path)
        if ds is not None:
            assert all(it.modalities for it in ds.items)


def _scan_in_a_fresh_process(path) -> dict:
    # a fresh process, so its peak resident memory is this scan's alone
    # VmHWM is the peak of this process's own address space; ru_maxrss would include the peak
    # inherited across fork+exec from the (large, torch-loaded) pytest process.
    script = (
        "import json, sys, time; from mmstudio.data import open_dataset; "
        "t = time.perf_counter(); ds = open_dataset(sys.argv[1]); "
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')]; "
        "import resource; peak = int(hwm[0].split()[1]) / 1024 if hwm else "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
        "print(json.dumps({'s': time.perf_counter() - t, 'items': len(ds.items), "
        "'problems': len(ds.problems), 'splits': ds.splits(), 'rss_mb': peak}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout)


def _many_rows(path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,text,label\n")
        fh.writelines(f"r{i},sample number {i} of many,{i % 10}\n" for i in range(n))


def test_100k_rows_load_in_bounded_memory(tmp_path):
    path = tmp_path / "many.csv"
    _many_rows(path, 100_000)
    result = _scan_in_a_fresh_process(path)
    assert result["items"] == 100_000 and result["problems"] == 0
    assert result["splits"] == {"train": 80_000, "val": 10_000, "test": 10_000}
    assert result["rss_mb"] < 400  # about 100 MB here (a million rows: 700 MB)
    # Its time (about 1 s here) is printed by scripts/bench_startup.py-style benchmarks, not asserted:
    # timings on a shared CI machine are not a pass/fail signal.


def test_a_manifest_of_many_broken_rows_reports_each(triplets):
    rows = read_rows(triplets)
    write_csv(triplets, rows)
    with open(triplets, "a", encoding="utf-8") as fh:
        fh.writelines(f"bad{i},only,three\n" for i in range(500))
    ds = open_dataset(str(triplets))
    assert len(ds.items) == 12
    assert len(ds.problems) == 500 and {p.row for p in ds.problems} == set(range(14, 514))


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out))
        action = rng.choice(["flip", "cut", "dup", "truncate"])
        if action == "flip":
            out[at] = rng.randrange(256)
        elif action == "cut":
            del out[at : at + rng.randint(1, 50)]
        elif action == "dup":
            out[at:at] = out[at : at + rng.randint(1, 100)]
        else:
            del out[max(at, 1) :]
    return bytes(out)


def test_damaged_media_files_never_break_the_scan(tmp_path):
    """Randomly damaged files of every format: the scan finishes, and whatever it accepts the
    readers training uses can decode."""
    from data_makers import AUDIO_FORMATS, IMAGE_FORMATS, noisy_image, write_audio

    from mmstudio.data import read_audio, read_image

    rng = random.Random(0)
    sources = tmp_path / "sources"
    exts = sorted(set(IMAGE_FORMATS) | set(AUDIO_FORMATS))
    for ext in exts:
        src = sources / f"src{ext}"
        noisy_image(src) if ext in IMAGE_FORMATS else write_audio(src, 1, 0, 0.3)
        for i in range(8):
            target = tmp_path / "set" / ext[1:] / f"{i}{ext}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_mutate(src.read_bytes(), rng))
    ds = open_dataset(str(tmp_path / "set"))
    assert ds.layout == "class_folders"
    assert len(ds.items) + len(ds.errors()) == 8 * len(exts)
    assert len(ds.errors()) > 8 * len(exts) // 3  # damage is mostly noticed
    for it in ds.items:
        if it.image:
            read_image(it.image)
        if it.audio:
            wave, _ = read_audio(it.audio)
            assert len(wave) and np.isfinite(wave).all()


@pytest.mark.slow
@pytest.mark.fault(
    case="A million rows",
    how="1,000,000-row CSV, scanned in a fresh process (slow)",
    behaviour="All rows load; peak resident memory about 700 MB (bound 1.5 GB), 15–35 s on 2 cores. The "
    "100,000-row test bounds it at 400 MB (about 100 MB measured).",
)
def test_a_million_rows_load_in_bounded_memory(tmp_path):
    path = tmp_path / "million.csv"
    _many_rows(path, 1_000_000)
    result = _scan_in_a_fresh_process(path)
    assert result["items"] == 1_000_000 and result["problems"] == 0
    assert result["splits"]["train"] == 800_000
    # about 700 MB here (0.7 KB per row, linear); a bug that copied the rows again would show
    assert result["rss_mb"] < 1500


def test_wrong_types_in_csv_cells(tmp_path):
    """Numbers, booleans, JSON and control characters where paths and labels belong."""
    path = tmp_path / "types.csv"
    path.write_text(
        'id,image,audio,text,label\n1,12,true,3.5,7\n2,"[1, 2]","{""a"": 1}",,\n3,-1e309,nan,ok words,\x01\n',
        encoding="utf-8",
    )
    ds = open_dataset(
        DatasetSpec(str(path), columns={"image": "image", "audio": "audio", "text": "text", "label": "label"})
    )
    errors = {(p.row, os.path.basename(p.path), p.reason) for p in ds.errors()}
    assert errors == {
        (2, "12", "file not found"),
        (2, "true", "file not found"),
        (3, "[1, 2]", "file not found"),
        (3, '{"a": 1}', "file not found"),
        (4, "-1e309", "file not found"),
        (4, "nan", "file not found"),
    }
    assert sorted(it.text or "" for it in ds.items) == ["3.5", "ok words"]

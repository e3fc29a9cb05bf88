"""Re-opening a dataset reuses the file checks of unchanged files, and only of those."""

from __future__ import annotations

import os

from data_makers import write_audio, write_csv, write_image

from mmstudio.data import formats, open_dataset, validate


def _dataset(root):
    rows = []
    for i in range(6):
        rows.append(
            {
                "id": f"s{i}",
                "label": str(i % 2),
                "image": write_image(root / f"i{i}.png", i % 2, i).name,
                "audio": write_audio(root / f"a{i}.wav", i % 2, i).name,
            }
        )
    return write_csv(root / "manifest.csv", rows)


def test_second_scan_checks_nothing_and_a_file_damaged_since_is_caught(tmp_path, monkeypatch):
    manifest = _dataset(tmp_path)
    calls = []
    for name in ("check_image", "check_audio"):
        real = getattr(formats, name)
        monkeypatch.setattr(validate, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    first = open_dataset(str(manifest))
    assert len(first.items) == 6 and not first.problems and len(calls) == 12
    calls.clear()
    again = open_dataset(str(manifest))
    assert len(again.items) == 6 and calls == [], "unchanged files are not decoded again"

    damaged = tmp_path / "i3.png"
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # truncated after the first scans
    os.utime(damaged, ns=(1, 1))  # even with an old modification time the size differs
    third = open_dataset(str(manifest))
    assert calls == ["check_image"]
    assert [p.path for p in third.problems] == [str(damaged)] and len(third.items) == 6
    assert third.problems[0].reason == "image is truncated"

"""Splits grouped by the underlying file (issue 13): an image with several captions, or a clip
with several transcripts, lies in one split only, so a test image was never trained on; and a
captions file beside an image folder (Flickr8k style) is found from the folder and the file."""

from __future__ import annotations

from collections import defaultdict

from PIL import Image

from mmstudio.config import DatasetSpec, SplitSpec
from mmstudio.data import Item, assign_splits, open_dataset


def _splits_per_file(items, modality: str) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for it in items:
        if getattr(it, modality):
            seen[getattr(it, modality)].add(it.split)
    return seen


def test_items_sharing_a_file_share_a_split():
    items = [
        Item(id=f"{i}#{k}", image=f"/img/{i}.png", text=f"caption {k} of {i}") for i in range(60) for k in range(5)
    ]
    items += [Item(id=f"a{i}#{k}", audio=f"/aud/{i}.wav", text=f"t{k}", label="x") for i in range(30) for k in range(3)]
    out, _ = assign_splits(items, SplitSpec(0.6, 0.2, 0.2, seed=3))
    assert all(len(s) == 1 for s in _splits_per_file(out, "image").values())
    assert all(len(s) == 1 for s in _splits_per_file(out, "audio").values())
    images = {s.pop() for s in _splits_per_file(out, "image").values()}
    assert images == {"train", "val", "test"}  # the groups are still spread over the splits


def test_groups_keep_the_requested_proportions():
    items = [
        Item(id=f"{i}#{k}", image=f"/img/{i}.png", text="c", label=str(i % 2)) for i in range(100) for k in range(3)
    ]
    out, _ = assign_splits(items, SplitSpec(0.8, 0.1, 0.1, seed=0))
    per_split = defaultdict(set)
    for it in out:
        per_split[it.split].add(it.image)
    assert {s: len(v) for s, v in per_split.items()} == {"train": 80, "val": 10, "test": 10}


def _flickr_style(root, captions_per_image: int = 3, images: int = 30):
    (root / "Images").mkdir(parents=True)
    lines = []
    for i in range(images):
        Image.new("RGB", (8, 8), (i * 8, 0, 0)).save(root / "Images" / f"{i:03d}.png")
        lines += [f"{i:03d}.png#{k}\t红色的图片 {i} 号，第{k}句" for k in range(captions_per_image)]
    (root / "captions.token.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_captions_file_beside_an_image_folder_is_found(tmp_path):
    _flickr_style(tmp_path)
    for path in (tmp_path, tmp_path / "captions.token.txt"):
        ds = open_dataset(DatasetSpec(str(path)))
        assert ds.layout == "captions"
        assert not ds.errors()
        assert len(ds.items) == 90 and all(it.image and it.text for it in ds.items)
        assert all(it.image.startswith(str(tmp_path / "Images")) for it in ds.items)
        assert all(len(s) == 1 for s in _splits_per_file(ds.items, "image").values())


def test_a_missing_image_is_reported_where_it_was_expected(tmp_path):
    _flickr_style(tmp_path, images=3)
    with open(tmp_path / "captions.token.txt", "a", encoding="utf-8") as fh:
        fh.write("999.png#0\tnot there\n")
    ds = open_dataset(DatasetSpec(str(tmp_path / "captions.token.txt")))
    assert any("999.png" in p.path for p in ds.errors())

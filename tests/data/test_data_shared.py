"""The real shared datasets load as issue 2 says (skipped when ../shared is absent)."""

from __future__ import annotations

import os
import re
from collections import Counter

from data_makers import SHARED, needs_shared

from mmstudio.config import DatasetSpec
from mmstudio.data import open_dataset, read_audio, read_image


@needs_shared("digits", "pairs.csv")
def test_digits_pairs_agree_with_their_files():
    ds = open_dataset(str(SHARED / "digits" / "pairs.csv"))
    assert len(ds.items) == 10_000 and ds.problems == []
    assert ds.splits() == {"train": 8_000, "test": 2_000}
    assert ds.split_from_data
    # every spoken digit is of the item's class: the audio name starts with the label
    assert all(os.path.basename(it.audio).split("_")[0] == it.label for it in ds.items)
    # FSDD's convention: takes 0-4 are test audio
    for it in ds.items[:500]:
        take = int(os.path.splitext(it.audio)[0].rsplit("_", 1)[1])
        assert (it.split == "test") == (take <= 4)
    first = ds.items[0]
    assert read_image(first.image).size == (28, 28)
    wave, rate = read_audio(first.audio)
    assert rate == 8000 and 0.1 < len(wave) / rate < 2.5


@needs_shared("digits", "audio")
def test_digits_audio_labels_from_names_and_speaker_pattern():
    folder = str(SHARED / "digits" / "audio")
    ds = open_dataset(folder)
    assert ds.layout == "filename_labels" and ds.modalities == ["audio"]
    assert ds.labels() == {str(d): 300 for d in range(10)}
    by_speaker = open_dataset(DatasetSpec(folder, label_pattern=r"^\d_(?P<label>[a-z]+)_"))
    assert len(by_speaker.labels()) == 6
    assert set(by_speaker.labels().values()) == {500}
    # stratified: each speaker keeps about 80/10/10
    for counts in _per_label(by_speaker.items).values():
        assert counts == Counter(train=400, val=50, test=50)


@needs_shared("clipart", "captions.csv")
def test_clipart_captions():
    ds = open_dataset(str(SHARED / "clipart"))
    assert ds.layout == "captions" and ds.modalities == ["image", "text"]
    assert len(ds.items) == 6_923
    assert ds.columns["image"] == "image" and ds.columns["category"] == "label"
    # the only problems are warnings: empty titles and categories with one drawing
    assert ds.errors() == []
    assert all(re.search(r"text is empty|only one sample", p.reason) for p in ds.problems)


@needs_shared("prompts", "transcripts.csv")
def test_prompts_transcripts():
    ds = open_dataset(str(SHARED / "prompts" / "transcripts.csv"))
    assert ds.layout == "transcripts"
    assert ds.modality_counts() == {"image": 0, "text": 568, "audio": 568}
    note, number = ds.problems  # unlabelled, and the report says so (issue 16)
    assert "column 'group' looks like labels" in note.reason and ds.labels() == {}
    assert "column 'seconds' holds numbers" in number.reason and ds.target_candidate() == "seconds"  # issue 19
    activated = next(it for it in ds.items if it.audio.endswith("activated.flac"))
    assert activated.text == "Activated."


@needs_shared("demo", "manifest.csv")
def test_demo_folder_and_manifest_agree():
    by_folder = open_dataset(str(SHARED / "demo"))
    by_file = open_dataset(str(SHARED / "demo" / "manifest.csv"))
    assert by_folder.items == by_file.items
    assert by_folder.labels() == {str(d): 50 for d in range(10)}
    assert by_folder.splits() == {"train": 400, "val": 50, "test": 50}


def _per_label(items):
    out: dict[str, Counter] = {}
    for it in items:
        out.setdefault(it.label, Counter())[it.split] += 1
    return out

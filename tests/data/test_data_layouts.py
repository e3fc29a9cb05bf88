"""Every layout of issue 2 is recognised from what is on disk, and the user can override it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from data_makers import (
    read_rows,
    write_audio,
    write_csv,
    write_image,
    write_jsonl,
    write_text,
)
from synth import make_triplet_dataset

from mmstudio.config import DatasetSpec
from mmstudio.data import detect_layout, open_dataset

# ---------------------------------------------------------------------------------------------
# class folders


def test_class_folders_of_images(tmp_path):
    for k, label in enumerate(("cat", "dog", "owl")):
        for i in range(3):
            write_image(tmp_path / label / f"{i}.png", k, i)
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "class_folders"
    assert ds.modalities == ["image"]
    assert ds.labels() == {"cat": 3, "dog": 3, "owl": 3}
    assert ds.problems == []
    item = next(it for it in ds.items if it.id == "dog/1")
    assert item.label == "dog" and item.image == str(tmp_path / "dog" / "1.png")


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3"])
def test_class_folders_of_audio(tmp_path, ext):
    for k, label in enumerate(("yes", "no")):
        for i in range(2):
            write_audio(tmp_path / label / f"clip{i}{ext}", k, i)
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "class_folders"
    assert ds.modalities == ["audio"]
    assert ds.labels() == {"no": 2, "yes": 2}
    assert ds.problems == []


def test_class_folders_of_text(tmp_path):
    write_text(tmp_path / "pos" / "a.txt", "what a lovely day")
    write_text(tmp_path / "pos" / "b.txt", "great fun")
    write_text(tmp_path / "neg" / "a.txt", "dreadful weather")
    write_text(tmp_path / "neg" / "b.txt", "awful")
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "class_folders"
    assert ds.modalities == ["text"]
    # the same file name in two classes is two items
    assert sorted(it.id for it in ds.items) == ["neg/a", "neg/b", "pos/a", "pos/b"]
    assert next(it for it in ds.items if it.id == "pos/a").text == "what a lovely day"


def test_class_names_that_sound_like_modality_folders_are_classes(tmp_path):
    # "speech" is also a name paired folders use for audio; beside "music" and "noise" it is a class
    for k, label in enumerate(("music", "noise", "speech")):
        for i in range(2):
            write_audio(tmp_path / label / f"{i}.wav", k, i)
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "class_folders"
    assert ds.labels() == {"music": 2, "noise": 2, "speech": 2}


def test_files_with_one_base_name_in_a_class_folder_are_one_item(tmp_path):
    write_image(tmp_path / "cat" / "a.png")
    write_audio(tmp_path / "cat" / "a.wav")
    write_text(tmp_path / "cat" / "a.txt", "meow")
    write_image(tmp_path / "dog" / "b.png", 1)
    ds = open_dataset(str(tmp_path))
    cat = next(it for it in ds.items if it.label == "cat")
    assert cat.modalities == ("image", "text", "audio")
    assert len(ds.items) == 2


# ---------------------------------------------------------------------------------------------
# manifests: CSV, TSV, JSONL, roles guessed from content


def _odd_named_rows(root: Path, n: int = 12) -> list[dict]:
    """Rows whose column names say nothing: roles can only come from the content."""
    rows = []
    for i in range(n):
        k = i % 3
        write_image(root / "pics" / f"p{i}.png", k, i)
        write_audio(root / "snd" / f"s{i}.wav", k, i)
        rows.append(
            {
                "c1": f"pics/p{i}.png",
                "c2": f"snd/s{i}.wav",
                "c3": f"a short sentence about thing {i}",
                "c4": ["red", "green", "blue"][k],
                "c5": "train" if i % 4 else "test",
            }
        )
    return rows


def _assert_guessed(ds, n: int = 12) -> None:
    # A label is never taken from content alone (issue 16): c4 looks like one, and is named in
    # a warning, but the items load unlabelled until the user gives it the role.
    assert ds.columns == {"c1": "image", "c2": "audio", "c3": "text", "c4": "ignore", "c5": "split"}
    assert ds.modalities == ["image", "text", "audio"]
    [note] = ds.problems
    assert note.severity == "warning" and "no label column: items load unlabelled" in note.reason
    assert "column 'c4' looks like labels" in note.reason
    assert len(ds.items) == n and ds.labels() == {}
    labelled = open_dataset(ds.spec.replace(columns={"c4": "label"}))
    assert labelled.problems == [] and labelled.labels() == {"blue": 4, "green": 4, "red": 4}
    assert ds.splits() == {"train": 9, "test": 3}
    assert ds.split_from_data
    first = next(it for it in ds.items if it.image.endswith(os.sep + "p0.png"))
    assert first.text == "a short sentence about thing 0"
    assert os.path.isabs(first.image) and os.path.isfile(first.audio)


def test_csv_manifest_roles_guessed_from_content(tmp_path):
    manifest = write_csv(tmp_path / "m.csv", _odd_named_rows(tmp_path))
    ds = open_dataset(str(manifest))
    assert ds.layout == "manifest"
    assert ds.column_names == ["c1", "c2", "c3", "c4", "c5"]
    _assert_guessed(ds)


def test_tsv_manifest_roles_guessed_from_content(tmp_path):
    manifest = write_csv(tmp_path / "m.tsv", _odd_named_rows(tmp_path), delimiter="\t")
    _assert_guessed(open_dataset(str(manifest)))


def test_jsonl_manifest_roles_guessed_from_content(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", _odd_named_rows(tmp_path))
    _assert_guessed(open_dataset(str(manifest)))


def test_dropping_the_folder_finds_its_manifest(tmp_path):
    write_csv(tmp_path / "m.csv", _odd_named_rows(tmp_path))
    write_csv(tmp_path / "notes.csv", [{"who": "me", "what": "nothing to see"}])
    assert detect_layout(str(tmp_path)) == ("manifest", str(tmp_path / "m.csv"))
    _assert_guessed(open_dataset(str(tmp_path)))


def test_column_roles_can_be_overridden(tmp_path):
    manifest = write_csv(tmp_path / "m.csv", _odd_named_rows(tmp_path))
    # the colour becomes the text, the sentence is dropped, the split column is ignored
    spec = DatasetSpec(str(manifest), columns={"c4": "text", "c3": "ignore", "c5": "ignore"})
    ds = open_dataset(spec)
    assert ds.columns["c4"] == "text" and ds.columns["c3"] == "ignore" and ds.columns["c5"] == "ignore"
    assert {it.text for it in ds.items} == {"red", "green", "blue"}
    assert not ds.split_from_data  # with the split column ignored, the seed splits it
    assert set(ds.splits()) <= {"train", "val", "test"}


def test_several_text_columns_given_are_joined(tmp_path):
    rows = [{"image": f"{i}.png", "title": f"title {i}", "body": f"body {i}"} for i in range(3)]
    for i in range(3):
        write_image(tmp_path / f"{i}.png", i)
    manifest = write_csv(tmp_path / "m.csv", rows)
    ds = open_dataset(DatasetSpec(str(manifest), columns={"title": "text", "body": "text"}))
    assert sorted(it.text for it in ds.items) == ["title 0 body 0", "title 1 body 1", "title 2 body 2"]


def test_a_column_role_for_a_missing_column_is_reported(tmp_path):
    manifest = write_csv(tmp_path / "m.csv", _odd_named_rows(tmp_path))
    ds = open_dataset(DatasetSpec(str(manifest), columns={"nosuch": "label", "c4": "label"}))
    [problem] = ds.problems
    assert "'nosuch'" in problem.reason and "not in this manifest" in problem.reason


def test_manifest_paths_are_relative_to_the_manifest(tmp_path, monkeypatch):
    manifest = make_triplet_dataset(tmp_path / "deep" / "set", classes=2, per_class=2)
    monkeypatch.chdir(tmp_path)  # the working folder must not matter
    ds = open_dataset(os.path.relpath(manifest, tmp_path))
    assert ds.problems == []
    assert all(it.image.startswith(str(manifest.parent)) for it in ds.items)


def test_inline_text_manifest_in_a_folder(tmp_path):
    write_jsonl(
        tmp_path / "reviews.jsonl",
        [
            {"text": "good stuff here", "label": "pos"},
            {"text": "bad stuff here", "label": "neg"},
            {"text": "fine stuff there", "label": "pos"},
            {"text": "poor stuff there", "label": "neg"},
        ],
    )
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "manifest" and ds.modalities == ["text"]
    assert ds.labels() == {"neg": 2, "pos": 2}


# ---------------------------------------------------------------------------------------------
# captions and transcripts


def test_captions_csv_with_several_captions_per_image(tmp_path):
    write_image(tmp_path / "img" / "a.jpg", 0)
    write_image(tmp_path / "img" / "b.jpg", 1)
    manifest = write_csv(
        tmp_path / "captions.csv",
        [
            {"image": "img/a.jpg", "caption": "a dark square"},
            {"image": "img/a.jpg", "caption": "something dark and square"},
            {"image": "img/b.jpg", "caption": "a striped thing"},
        ],
    )
    ds = open_dataset(str(manifest))
    assert ds.layout == "captions"
    assert ds.problems == []
    assert len(ds.items) == 3 and len({it.id for it in ds.items}) == 3
    captions_of_a = sorted(it.text for it in ds.items if it.image.endswith("a.jpg"))
    assert captions_of_a == ["a dark square", "something dark and square"]


@pytest.mark.parametrize("name", ["captions.txt", "captions.tsv"])
def test_headerless_tab_separated_captions(tmp_path, name):
    write_image(tmp_path / "a.png", 0)
    write_image(tmp_path / "b.png", 1)
    (tmp_path / name).write_text("a.png\ta red thing\na.png\tred, and a thing\nb.png\ta blue thing\n", encoding="utf-8")
    ds = open_dataset(str(tmp_path / name))
    assert ds.layout == "captions"
    assert ds.problems == []
    assert sorted(it.text for it in ds.items) == ["a blue thing", "a red thing", "red, and a thing"]
    # the folder alone is enough: the tab-separated file is found as its manifest
    assert open_dataset(str(tmp_path)).layout == "captions"


def test_audio_with_transcripts_csv(tmp_path):
    rows = []
    for i, words in enumerate(["hello there", "good morning", "please hold", "thank you"]):
        write_audio(tmp_path / "clips" / f"{i}.flac", i)
        rows.append({"audio": f"clips/{i}.flac", "text": words})
    manifest = write_csv(tmp_path / "transcripts.csv", rows)
    ds = open_dataset(str(manifest))
    assert ds.layout == "transcripts"
    assert ds.modalities == ["text", "audio"]
    assert ds.problems == []
    assert sorted(it.text for it in ds.items) == ["good morning", "hello there", "please hold", "thank you"]


def test_a_guessed_manifest_kind_can_be_overridden(tmp_path):
    write_image(tmp_path / "a.png")
    manifest = write_csv(tmp_path / "c.csv", [{"image": "a.png", "caption": "a thing"}])
    assert open_dataset(str(manifest)).layout == "captions"
    assert open_dataset(DatasetSpec(str(manifest), layout="manifest")).layout == "manifest"


# ---------------------------------------------------------------------------------------------
# label in the file name


def _spoken_digits(root: Path) -> None:
    for digit in (3, 7):
        for speaker in ("jackson", "theo"):
            for take in (0, 32):
                write_audio(root / f"{digit}_{speaker}_{take}.wav", digit, take)


def test_label_from_the_file_name(tmp_path):
    _spoken_digits(tmp_path)
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "filename_labels"
    assert ds.labels() == {"3": 4, "7": 4}
    assert next(it for it in ds.items if it.id == "7_jackson_32").label == "7"
    assert ds.problems == []


def test_label_pattern_can_be_changed(tmp_path):
    _spoken_digits(tmp_path)
    ds = open_dataset(DatasetSpec(str(tmp_path), label_pattern=r"^\d+_(?P<label>[a-z]+)_"))
    assert ds.labels() == {"jackson": 4, "theo": 4}


def test_file_names_the_pattern_misses_are_flagged(tmp_path):
    _spoken_digits(tmp_path)
    write_audio(tmp_path / "untitled.wav")
    ds = open_dataset(str(tmp_path))
    [problem] = ds.problems
    assert problem.path.endswith("untitled.wav") and problem.severity == "warning"
    assert "does not match the label pattern" in problem.reason
    assert next(it for it in ds.items if it.id == "untitled").label is None


@pytest.mark.parametrize(
    "pattern, message", [(r"(?P<label>[a-z", "not a valid regular expression"), (r"^(\d+)_", "named group")]
)
def test_a_bad_label_pattern_is_a_clear_error(tmp_path, pattern, message):
    _spoken_digits(tmp_path)
    with pytest.raises(ValueError, match=message):
        open_dataset(DatasetSpec(str(tmp_path), label_pattern=pattern))


# ---------------------------------------------------------------------------------------------
# paired folders


def test_paired_folders_keep_items_missing_a_modality(tmp_path):
    for stem in ("a", "b", "c"):
        write_image(tmp_path / "images" / f"{stem}.png")
    write_text(tmp_path / "texts" / "a.txt", "caption a")
    write_text(tmp_path / "texts" / "b.txt", "caption b")
    write_audio(tmp_path / "audio" / "a.wav")
    write_audio(tmp_path / "audio" / "d.wav")  # no image, no text
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "paired_folders"
    assert ds.problems == []
    by_id = {it.id: it for it in ds.items}
    assert set(by_id) == {"a", "b", "c", "d"}
    assert by_id["a"].modalities == ("image", "text", "audio")
    assert by_id["b"].audio is None and by_id["b"].text == "caption b"
    assert by_id["c"].modalities == ("image",)
    assert by_id["d"].modalities == ("audio",)
    assert ds.modality_counts() == {"image": 3, "text": 2, "audio": 2}


@pytest.mark.parametrize(
    "folders", [("images", "texts"), ("images", "audio"), ("texts", "audio"), ("images",), ("audio",)]
)
def test_paired_folders_any_subset(tmp_path, folders):
    writers = {
        "images": lambda p: write_image(p.with_suffix(".png")),
        "texts": lambda p: write_text(p.with_suffix(".txt"), "some words"),
        "audio": lambda p: write_audio(p.with_suffix(".wav")),
    }
    for folder in folders:
        for stem in ("x", "y"):
            writers[folder](tmp_path / folder / stem)
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "paired_folders"
    assert len(ds.items) == 2
    expected = {"images": "image", "texts": "text", "audio": "audio"}
    assert set(ds.modalities) == {expected[f] for f in folders}


def test_paired_folders_with_class_subfolders(tmp_path):
    # per-class numbering: cat/0 and dog/0 are different samples
    for k, label in enumerate(("cat", "dog")):
        for i in range(2):
            write_image(tmp_path / "images" / label / f"{i}.png", k, i)
            write_text(tmp_path / "texts" / label / f"{i}.txt", f"a {label} number {i}")
    write_image(tmp_path / "images" / "dog" / "2.png", 1, 2)  # no text
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "paired_folders"
    assert ds.problems == []
    assert ds.labels() == {"cat": 2, "dog": 3}
    for it in ds.items:
        assert os.path.basename(os.path.dirname(it.image)) == it.label
        if it.text is not None:
            assert it.text.startswith(f"a {it.label} number")
    assert next(it for it in ds.items if it.id == "dog/2").text is None


def test_paired_folders_class_subfolders_under_one_modality_only(tmp_path):
    for i in (1, 2):
        write_image(tmp_path / "images" / "cat" / f"c{i}.png", 0, i)
        write_image(tmp_path / "images" / "dog" / f"d{i}.png", 1, i)
        write_text(tmp_path / "texts" / f"c{i}.txt", f"cat {i}")
        write_text(tmp_path / "texts" / f"d{i}.txt", f"dog {i}")
    ds = open_dataset(str(tmp_path))
    assert ds.problems == []
    assert {(it.label, it.text) for it in ds.items} == {
        ("cat", "cat 1"),
        ("cat", "cat 2"),
        ("dog", "dog 1"),
        ("dog", "dog 2"),
    }


# ---------------------------------------------------------------------------------------------
# detection and overrides


def test_a_manifest_beside_class_folders_wins_and_can_be_overridden(tmp_path):
    rows = []
    for k, label in enumerate(("cat", "dog")):
        for i in range(2):
            write_image(tmp_path / label / f"{i}.png", k, i)
            rows.append({"image": f"{label}/{i}.png", "label": "odd" if i % 2 else "even"})
    write_csv(tmp_path / "labels.csv", rows)
    assert open_dataset(str(tmp_path)).labels() == {"even": 2, "odd": 2}
    forced = open_dataset(DatasetSpec(str(tmp_path), layout="class_folders"))
    assert forced.layout == "class_folders"
    assert forced.labels() == {"cat": 2, "dog": 2}


def test_paired_folders_can_be_read_as_class_folders(tmp_path):
    write_image(tmp_path / "images" / "a.png")
    write_image(tmp_path / "images" / "b.png")
    write_audio(tmp_path / "audio" / "a.wav")
    ds = open_dataset(DatasetSpec(str(tmp_path), layout="class_folders"))
    assert ds.layout == "class_folders"
    assert ds.labels() == {"audio": 1, "images": 2}


def test_the_synthetic_demo_is_a_manifest(triplets):
    ds = open_dataset(str(triplets.parent))
    assert ds.layout == "manifest"
    assert ds.columns == {
        "id": "id",
        "label": "label",
        "image": "image",
        "audio": "audio",
        "text": "text",
        "split": "split",
    }
    assert len(ds.items) == len(read_rows(triplets)) == 12
    assert ds.problems == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "nothing-here", "no such file or folder"),
        (lambda p: write_image(p / "lonely.png"), "not a dataset"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "not a dataset"),
        (lambda p: write_text(p / "docs" / "notes.md", "# hi").parent, "not a dataset"),
    ],
)
def test_a_path_that_is_not_a_dataset_is_a_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises((ValueError, FileNotFoundError), match=message) as info:
        open_dataset(str(path))
    assert str(path) in str(info.value)


def test_the_layout_a_folder_needs(tmp_path):
    manifest = write_csv(tmp_path / "m.csv", [{"text": "some words", "label": "a"}])
    with pytest.raises(ValueError, match="needs a folder"):
        open_dataset(DatasetSpec(str(manifest), layout="class_folders"))


def test_headerless_captions_csv_with_semicolons_in_captions(tmp_path):
    write_image(tmp_path / "a.png", 0)
    write_image(tmp_path / "b.png", 1)
    (tmp_path / "captions.csv").write_text("a.png,dark; square; small\nb.png,striped; bright\n", encoding="utf-8")
    ds = open_dataset(str(tmp_path / "captions.csv"))
    assert ds.problems == []
    assert sorted(it.text for it in ds.items) == ["dark; square; small", "striped; bright"]


def test_windows_separators_in_a_manifest(tmp_path):
    write_image(tmp_path / "imgs" / "a.png", 0)
    write_image(tmp_path / "imgs" / "b.png", 1)
    manifest = write_csv(
        tmp_path / "m.csv", [{"image": "imgs\\a.png", "label": "x"}, {"image": "imgs\\b.png", "label": "x"}]
    )
    ds = open_dataset(str(manifest))
    assert ds.problems == []
    assert sorted(it.image for it in ds.items) == [str(tmp_path / "imgs" / "a.png"), str(tmp_path / "imgs" / "b.png")]
    assert detect_layout(str(tmp_path)) == ("manifest", str(manifest))


def test_roles_are_guessed_from_the_whole_manifest_not_its_top(tmp_path):
    # sorted by class: the first 200 rows hold one colour only
    rows = [{"c1": f"short note {i}", "c2": colour} for colour in ("red", "green", "blue") for i in range(300)]
    manifest = write_csv(tmp_path / "sorted.csv", rows)
    ds = open_dataset(str(manifest))
    assert ds.columns == {"c1": "text", "c2": "ignore"}  # a label only by name (issue 16)...
    assert "column 'c2' looks like labels" in ds.problems[0].reason  # ...seen in every colour
    ds = open_dataset(ds.spec.replace(columns={"c2": "label"}))
    assert ds.labels() == {"blue": 300, "green": 300, "red": 300}


def test_flickr_style_numbered_captions(tmp_path):
    """Flickr8k's token file: ``name.jpg#0<TAB>caption``, five numbered captions per image."""
    write_image(tmp_path / "Images" / "1000268201_693b08cb0e.jpg", 0)
    write_image(tmp_path / "Images" / "1001773457_577c3a7d70.jpg", 1)
    lines = [
        f"{name}#{n}\tcaption {n} of {name[:4]}"
        for name in ("1000268201_693b08cb0e.jpg", "1001773457_577c3a7d70.jpg")
        for n in range(5)
    ]
    (tmp_path / "Images" / "captions.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds = open_dataset(str(tmp_path / "Images" / "captions.txt"))
    assert ds.layout == "captions" and ds.problems == []
    assert len(ds.items) == 10 and len({it.id for it in ds.items}) == 10
    assert {os.path.basename(it.image) for it in ds.items} == {"1000268201_693b08cb0e.jpg", "1001773457_577c3a7d70.jpg"}


def test_a_trailing_delimiter_is_not_a_malformed_row(tmp_path):
    write_image(tmp_path / "a.png", 0)
    write_image(tmp_path / "b.png", 1)
    (tmp_path / "c.tsv").write_text("image\tcaption\na.png\tone thing\t\nb.png\tanother\t\n", encoding="utf-8")
    ds = open_dataset(str(tmp_path / "c.tsv"))
    assert ds.problems == []
    assert sorted(it.text for it in ds.items) == ["another", "one thing"]


def test_split_folders_holding_class_folders(tmp_path):
    """The common train/ val/ test/ -> class/ tree: labels from the class, splits from the top."""
    for split, n in (("train", 3), ("valid", 1), ("test", 2)):
        for k, label in enumerate(("cat", "dog")):
            for i in range(n):
                write_image(tmp_path / split / label / f"{i}.png", k, i)
    ds = open_dataset(str(tmp_path))
    assert ds.layout == "class_folders"
    assert ds.labels() == {"cat": 6, "dog": 6}
    assert ds.splits() == {"train": 6, "val": 2, "test": 4}
    assert ds.split_from_data and ds.problems == []
    item = next(it for it in ds.items if it.id == "valid/dog/0")
    assert item.label == "dog" and item.split == "val"


def test_split_folders_of_unlabelled_files(tmp_path):
    for split in ("train", "test"):
        for i in range(3):
            write_image(tmp_path / split / f"{i}.png", 0, i)
    ds = open_dataset(str(tmp_path))
    assert ds.splits() == {"train": 3, "test": 3}
    assert ds.labels() == {} and ds.problems == []

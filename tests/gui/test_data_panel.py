"""The Data panel as a user meets it: drop a dataset anywhere, see it previewed and checked."""

from __future__ import annotations

import os

import numpy as np
from gui_helpers import drop_and_wait, drop_paths
from PIL import Image
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QComboBox
from synth import class_image, make_triplet_dataset


def make_class_folders(root, classes=("cat", "dog", "owl"), per_class=4):
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            class_image(classes.index(name), i).save(root / name / f"{i}.png")
    return root


def test_dropping_a_folder_on_the_table_fills_the_preview(qtbot, window, tmp_path):
    folder = make_class_folders(tmp_path / "pets")
    ds = drop_and_wait(qtbot, window, window.data_panel.table.viewport(), [folder])
    panel = window.data_panel
    assert ds.layout == "class_folders"
    assert panel.model.rowCount() == 12
    assert panel.class_chart.values == {"cat": 4, "dog": 4, "owl": 4}
    assert "12 items" in panel.source_label.text()
    assert panel.table.isColumnHidden(5)  # no audio column for an image-only dataset
    # Thumbnails arrive lazily, off the GUI thread, for the rows on screen.
    first = panel.model.item(0).image
    qtbot.waitUntil(lambda: panel.thumbnails.get(first) is not None, timeout=10000)
    assert not panel.thumbnails.get(first).isNull()


def test_dropping_a_manifest_on_a_text_field_opens_it_too(qtbot, window, tmp_path):
    manifest = make_triplet_dataset(tmp_path / "trip", classes=3, per_class=8)
    # A line edit would normally swallow a drop as text: the window takes it instead.
    ds = drop_and_wait(qtbot, window, window.data_panel.filter_edit, [manifest])
    panel = window.data_panel
    assert window.data_panel.filter_edit.text() == ""
    assert set(ds.modalities) == {"image", "audio", "text"}
    assert panel.model.rowCount() == 24
    counts = panel.counts_table
    headers = [counts.verticalHeaderItem(r).text() for r in range(counts.rowCount())]
    assert headers == ["train", "test", "total"]
    assert counts.item(2, 0).text() == "24"
    # The selected item shows its caption and its audio clip, with a working play button.
    qtbot.waitUntil(lambda: panel.current_item() is not None)
    item = panel.current_item()
    assert panel.text_view.toPlainText() == item.text
    assert panel.audio_view.path == item.audio
    assert panel.audio_view.play_button.isEnabled()
    qtbot.waitUntil(lambda: "Hz" in panel.audio_view.caption.text(), timeout=10000)
    assert "window" not in window.windowTitle().lower() and "manifest.csv" in window.windowTitle()


def test_broken_files_are_listed_and_the_rest_loads(qtbot, window, tmp_path):
    manifest = make_triplet_dataset(tmp_path / "trip", classes=2, per_class=6)
    root = manifest.parent
    (root / "images" / "s0_001.png").unlink()
    (root / "audio" / "s1_002.wav").write_bytes(b"")
    ds = drop_and_wait(qtbot, window, window, [manifest])
    table = window.data_panel.problems_table
    rows = {(table.item(r, 1).text(), table.item(r, 3).text()) for r in range(table.rowCount())}
    assert (os.path.join("images", "s0_001.png"), "file not found") in rows
    assert (os.path.join("audio", "s1_002.wav"), "file is empty (0 bytes)") in rows
    assert len(ds.items) == 12  # both items kept, each without its broken modality
    assert window.data_panel.tabs.tabText(2) == f"Problems ({len(ds.problems)})"


def test_column_roles_and_split_seed_can_be_overridden(qtbot, window, tmp_path):
    root = tmp_path / "nosplit"
    manifest = make_triplet_dataset(root, classes=3, per_class=10, split=False)
    ds = drop_and_wait(qtbot, window, window, [manifest])
    panel = window.data_panel
    assert ds.splits() == {"train": 24, "val": 3, "test": 3}  # stratified 0.8/0.1/0.1
    first_split = {it.id: it.split for it in ds.items}
    roles = {
        panel.columns_table.item(r, 0).text(): panel.columns_table.cellWidget(r, 1)
        for r in range(panel.columns_table.rowCount())
    }
    assert roles["label"].currentText() == "label"
    roles["label"].setCurrentText("ignore")
    panel.seed_spin.setValue(7)
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000) as blocker:
        panel.apply_button.click()
    again = blocker.args[0]
    assert again.labels() == {}
    assert {it.id: it.split for it in again.items} != first_split
    assert isinstance(roles["label"], QComboBox)


def test_filename_label_pattern_is_editable(qtbot, window, tmp_path):
    import soundfile as sf

    folder = tmp_path / "spoken"
    folder.mkdir()
    for digit in (3, 7):
        for speaker in ("ann", "bob"):
            sf.write(folder / f"{digit}_{speaker}_0.wav", np.zeros(800, dtype=np.float32), 8000)
    ds = drop_and_wait(qtbot, window, window, [folder])
    assert ds.layout == "filename_labels" and ds.labels() == {"3": 2, "7": 2}
    panel = window.data_panel
    panel.pattern_edit.setText(r"^\d_(?P<label>[a-z]+)_")
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000) as blocker:
        panel.apply_button.click()
    assert blocker.args[0].labels() == {"ann": 2, "bob": 2}


def test_a_path_that_is_not_a_dataset_gives_a_message(qtbot, window, tmp_path):
    junk = tmp_path / "notes.docx"
    junk.write_bytes(b"PK")
    drop_paths(window, [junk])
    qtbot.waitUntil(lambda: "Could not read" in window.status_label.text(), timeout=10000)
    assert "notes.docx" in window.status_label.text()


def test_ten_thousand_rows_load_thumbnails_only_for_what_is_visible(qtbot, window, tmp_path):
    from mmstudio.data import Item

    img = tmp_path / "one.png"
    Image.fromarray(np.full((28, 28), 200, dtype=np.uint8)).save(img)
    items = [
        Item(id=f"i{i:05d}", image=str(tmp_path / f"missing{i}.png") if i else str(img), label=str(i % 10))
        for i in range(10_000)
    ]
    panel = window.data_panel
    panel.model.set_items(items)
    panel.table.scrollToBottom()
    qtbot.wait(200)
    requested = len(panel.thumbnails._pending) + len(panel.thumbnails._cache)
    assert 0 < requested < 200


def test_panels_menus_and_shortcuts(qtbot, window):
    names = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert names == ["Data", "Model", "Train", "Evaluate", "Query"]
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus[:3] == ["File", "View", "Help"]
    shortcuts = {a.shortcut().toString() for m in window.menuBar().actions() for a in m.menu().actions()}
    assert {"Ctrl+O", "Ctrl+Shift+O", "Ctrl+1", "Ctrl+5", "F5"} <= shortcuts
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    next(a for a in view.actions() if a.shortcut() == QKeySequence("Ctrl+3")).trigger()
    assert window.stack.currentIndex() == 2
    assert window.nav.currentRow() == 2


def test_nothing_on_disk_changes_when_a_dataset_is_opened(qtbot, window, tmp_path):
    manifest = make_triplet_dataset(tmp_path / "trip", classes=2, per_class=4)
    before = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in manifest.parent.rglob("*")}
    drop_and_wait(qtbot, window, window, [manifest])
    after = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in manifest.parent.rglob("*")}
    assert before == after

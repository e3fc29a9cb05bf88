"""Collections at scale: streaming, resumable, incremental indexing; filters; the ANN's recall."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import drain

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def copy_of_synth(trained, tmp_path) -> Path:
    """A private copy of the synthetic dataset (the tests add, change and remove its files)."""
    src = Path(trained["manifest"]).parent
    dst = tmp_path / "data"
    shutil.copytree(src, dst)
    return dst / "manifest.csv"


def _index(trained, manifest, folder, **kw):
    from mmstudio.engine.indexing import index_collection

    return drain(index_collection(trained["result"].bundle, str(manifest), folder=str(folder), **kw))


def _rows(manifest: Path) -> list[dict]:
    with open(manifest, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write_rows(manifest: Path, rows: list[dict]) -> None:
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_adding_ten_files_embeds_only_those_ten(trained, copy_of_synth, tmp_path):
    folder = tmp_path / "coll"
    events, first = _index(trained, copy_of_synth, folder, batch_size=8, workers=1)  # a worker decodes
    assert first.embedded == 48 and first.kept == 0 and not first.stopped
    assert [e.done for e in events if e.phase == "embedding"][-1] == 48
    assert events[-1].eta_s == 0 and events[-1].items_per_s > 0

    rows = _rows(copy_of_synth)
    data = copy_of_synth.parent
    for i in range(10):  # ten new items, with new image and sound files
        src = rows[i]
        new = dict(src, id=f"new{i}", image=f"images/new{i}.png", audio=f"audio/new{i}.wav")
        shutil.copy(data / src["image"], data / new["image"])
        shutil.copy(data / src["audio"], data / new["audio"])
        rows.append(new)
    _write_rows(copy_of_synth, rows)
    _, second = _index(trained, copy_of_synth, folder, batch_size=8)
    assert (second.embedded, second.kept, second.removed) == (10, 48, 0)
    assert second.rows == 58

    _, third = _index(trained, copy_of_synth, folder)  # nothing changed: nothing embedded
    assert (third.embedded, third.kept) == (0, 58)


def test_changed_and_removed_files_are_handled(trained, copy_of_synth, tmp_path):
    from mmstudio.engine.search import CollectionSearch

    folder = tmp_path / "coll"
    _index(trained, copy_of_synth, folder)
    rows = _rows(copy_of_synth)
    data = copy_of_synth.parent
    changed = data / rows[0]["image"]
    shutil.copy(data / rows[20]["image"], changed)  # another picture under the same name
    os.utime(changed, ns=(os.stat(changed).st_atime_ns, os.stat(changed).st_mtime_ns + 10**9))
    removed_ids = {rows[1]["id"], rows[2]["id"]}
    _write_rows(copy_of_synth, [r for r in rows if r["id"] not in removed_ids])
    _, result = _index(trained, copy_of_synth, folder)
    assert (result.embedded, result.removed, result.rows) == (1, 3, 46)

    search = CollectionSearch(str(folder))
    q = _image_vector(search, rows[20]["id"])
    ids = {search.items[r]["id"] for r, _ in search.search(q, "image", top=100)}
    assert not ids & removed_ids and len(ids) == 46
    new_row = max(
        r
        for r in range(search.store.rows)
        if search.items[r]["id"] == rows[0]["id"] and search.store.present("image")[r]
    )
    np.testing.assert_allclose(search.vector(new_row, "image"), _image_vector(search, rows[20]["id"]), atol=1e-5)


def _image_vector(search, item_id: str) -> np.ndarray:
    rows = [
        r for r in range(search.store.rows) if search.items[r]["id"] == item_id and search.store.present("image")[r]
    ]
    return search.vector(rows[-1], "image")


_CHILD = """
import json, sys, time
from mmstudio.engine.indexing import index_collection
gen = index_collection(sys.argv[1], sys.argv[2], folder=sys.argv[3], batch_size=4, workers=0)
for event in gen:
    print(json.dumps(event.as_dict()), flush=True)
    time.sleep(0.3)
"""


def test_killed_indexing_resumes_with_only_the_missing_items(trained, copy_of_synth, tmp_path):
    folder = tmp_path / "coll"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, trained["result"].bundle, str(copy_of_synth), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event["phase"] == "embedding" and event["done"] >= 12:
                proc.kill()  # SIGKILL: no cleanup, no chance to finish the batch
                break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -9
    committed = json.loads((folder / "store.json").read_text())["rows"]
    assert 12 <= committed < 48

    _, resumed = _index(trained, copy_of_synth, folder, batch_size=8)
    assert (resumed.embedded, resumed.kept, resumed.rows) == (48 - committed, committed, 48)
    # the resumed store holds what one uninterrupted pass would have
    _, fresh = _index(trained, copy_of_synth, tmp_path / "fresh")
    from mmstudio.engine.search import CollectionSearch

    a, b = CollectionSearch(str(folder)), CollectionSearch(str(tmp_path / "fresh"))
    by_id = {b.items[r]["id"]: r for r in range(b.store.rows)}
    for r in range(a.store.rows):
        other = by_id[a.items[r]["id"]]
        for m in ("image", "audio", "text"):
            np.testing.assert_allclose(a.store.vectors(m)[r], b.store.vectors(m)[other], atol=1e-5)


def test_stop_at_a_yield_keeps_what_was_committed(trained, copy_of_synth, tmp_path):
    from mmstudio.engine.events import Control
    from mmstudio.engine.indexing import index_collection

    control = Control()
    gen = index_collection(
        trained["result"].bundle,
        str(copy_of_synth),
        control=control,
        folder=str(tmp_path / "c"),
        batch_size=8,
        workers=0,
    )
    for event in gen:
        if event.done >= 16:
            control.stop()
    _, result = _index(trained, copy_of_synth, tmp_path / "c")
    assert result.kept == 16 and result.embedded == 32


def test_filters_and_more_like_this(trained, copy_of_synth, tmp_path):
    from mmstudio.engine.search import CollectionSearch

    folder = tmp_path / "coll"
    _index(trained, copy_of_synth, folder)
    search = CollectionSearch(str(folder))
    q = search.vector(0, "text")
    hits = search.search(q, "image", top=50, label="two")
    assert len(hits) == 16 and {search.items[r]["label"] for r, _ in hits} == {"two"}
    hits = search.search(q, "image", top=50, split="test", label=["one", "two"])
    assert len(hits) == 8
    assert all(search.items[r]["split"] == "test" for r, _ in hits)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert search.search(q, "image", label="no such label") == []
    like = search.more_like(5, "image", top=5)
    assert 5 not in [r for r, _ in like] and len(like) == 5
    # the trained model puts an item's neighbours in its own class
    assert sum(search.items[r]["label"] == search.items[5]["label"] for r, _ in like) >= 4


def test_ann_recall_on_a_generated_set_and_the_knob(tmp_path):
    from mmstudio.engine.ann import AnnIndex, exact_search, recall_at

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((200, 32)).astype(np.float32)
    x = centres[rng.integers(0, 200, 30_000)] + 0.25 * rng.standard_normal((30_000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    present = np.ones(len(x), bool)
    ann = AnnIndex.build(x, present, "ivf")
    assert ann.info["recall"][str(ann.info["knob"])]["own"] >= 0.95
    q = x[rng.integers(0, len(x), 100)] + 0.1 * rng.standard_normal((100, 32)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    truth = exact_search(x, q, 10)[1]
    assert recall_at(ann.search(q, 10)[1], truth) >= 0.9
    low = recall_at(ann.search(q, 10, knob=1)[1], truth)
    high = recall_at(ann.search(q, 10, knob=1024)[1], truth)
    assert low < high and high >= 0.99  # the knob trades speed for recall
    # saved, checked and read back; a tampered file is refused
    ann.save(str(tmp_path), "image")
    again = AnnIndex.load(str(tmp_path), "image", 32)
    assert again is not None and (again.search(q, 10)[1] == ann.search(q, 10)[1]).all()
    with open(tmp_path / "ann.image.faiss", "r+b") as fh:
        fh.seek(100)
        fh.write(b"\xff\xff")
    assert AnnIndex.load(str(tmp_path), "image", 32) is None


def test_a_broken_store_record_is_refused_with_its_name(tmp_path):
    from mmstudio.engine.collection import Collection, CollectionError

    Collection.create(str(tmp_path), 8, ("image",), "abc")
    record = tmp_path / "store.json"
    info = json.loads(record.read_text())
    record.write_text(json.dumps({**info, "rows": 5}))
    with pytest.raises(CollectionError, match="store.json.*exceed"):
        Collection.open(str(tmp_path))
    record.write_text(json.dumps({**info, "dim": -1}))
    with pytest.raises(CollectionError, match="dim"):
        Collection.open(str(tmp_path))


def test_a_filter_far_from_the_query_still_gets_its_nearest_items(tmp_path, monkeypatch):
    """The approximate index probes the lists near the query; items a filter keeps may all lie
    elsewhere (another class): the search widens, then falls back to exact, never coming back
    short or wrong."""
    from mmstudio.engine import search as search_module
    from mmstudio.engine.collection import Collection
    from mmstudio.engine.indexing import update_ann

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16)).astype(np.float32) * 4
    cls = rng.integers(0, 3, 60_000)
    x = centres[cls] + rng.standard_normal((60_000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    store = Collection.create(str(tmp_path), 16, ("image",), "sha")
    store.append(
        [{"key": str(i), "sig": "", "id": str(i), "label": f"c{c}"} for i, c in enumerate(cls.tolist())],
        {"image": x},
        {"image": np.ones(len(x), bool)},
    )
    events, _ = drain(update_ann(store, "ivf"))
    assert events[-1].phase == "ann:image" and (tmp_path / "ann.image.faiss").is_file()

    monkeypatch.setattr(search_module, "EXACT_SUBSET", 100)  # take the approximate path
    search = search_module.CollectionSearch(str(tmp_path))
    q = x[int(np.flatnonzero(cls == 0)[0])]
    far = search.search(q, "image", 10, label="c2")
    assert [r for r, _ in far] == [r for r, _ in search.search(q, "image", 10, label="c2", exact=True)]
    assert {search.items[r]["label"] for r, _ in far} == {"c2"}
    near = search.search(q, "image", 10)  # unfiltered: the index's own answer
    exact = search.search(q, "image", 10, exact=True)
    assert len({r for r, _ in near} & {r for r, _ in exact}) >= 9


def test_indexing_embeds_on_the_bundles_device_choice_and_it_can_be_injected(trained, monkeypatch, tmp_path):
    """The GPU when there is one (the bundle's ``auto``), the CPU when a GPU named is absent;
    a model moved to another device is a copy, so the loaded bundle keeps answering on the CPU."""
    from types import SimpleNamespace

    import torch

    from mmstudio.engine.indexing import _model_on, index_device
    from mmstudio.engine.search import CollectionSearch

    def bundle_choosing(device: str):
        return SimpleNamespace(run=SimpleNamespace(train=SimpleNamespace(device=device)))

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert index_device(bundle_choosing("auto")).type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert index_device(bundle_choosing("auto")).type == "cpu"
    assert index_device(bundle_choosing("cuda")).type == "cpu"  # trained on a GPU, opened here
    assert index_device(bundle_choosing("auto"), "meta").type == "meta"  # injected wins

    from mmstudio.engine.bundle import load_bundle

    bundle = load_bundle(trained["result"].bundle)
    moved = _model_on(bundle.model, torch.device("meta"))
    assert moved is not bundle.model and next(moved.parameters()).device.type == "meta"
    assert next(bundle.model.parameters()).device.type == "cpu"
    assert _model_on(bundle.model, torch.device("cpu")) is bundle.model
    # the injected-device path gives the same vectors as the default one
    _index(trained, trained["manifest"], tmp_path / "a", device="cpu")
    _index(trained, trained["manifest"], tmp_path / "b")
    a, b = CollectionSearch(str(tmp_path / "a")), CollectionSearch(str(tmp_path / "b"))
    for m in a.targets:
        assert np.allclose(np.asarray(a.store.vectors(m)), np.asarray(b.store.vectors(m)), atol=1e-5)

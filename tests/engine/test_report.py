"""The Evaluate panel's report, 2-D maps and query sessions, without Qt."""

from __future__ import annotations

import json
import os

import numpy as np
import torch

from mmstudio import engine
from mmstudio.engine.projection import project, tsne
from mmstudio.engine.report import add_noise


def test_report_has_every_section(trained, tmp_path):
    bundle, manifest = trained["result"].bundle, str(trained["manifest"])
    report = engine.evaluation_report(bundle, manifest, split="test", noise_levels=(0.0, 1.0))
    n = len(report["samples"])
    assert n == report["items"] and sum(map(sum, report["confusion"])) == n
    p = report["predictions"]
    assert len(p["true"]) == len(p["pred"]) == len(p["confidence"]) == n
    assert report["accuracy"] == sum(t == q for t, q in zip(p["true"], p["pred"])) / n
    a = report["ablation"]
    mods = set(report["modalities"])
    assert set(a["without"]) == set(a["only"]) == mods
    assert a["gain"] == round(a["fused"] - a["only"][a["best_single"]], 6)
    assert report["robustness"]["curves"].keys() == mods
    assert all(c[0] == report["accuracy"] for c in report["robustness"]["curves"].values())
    assert set(report["retrieval"]) == {f"{x}->{y}" for x in mods for y in mods if x != y}
    # a confusion cell lists exactly the samples counted in it
    for t in range(len(report["class_names"])):
        for q in range(len(report["class_names"])):
            assert len(engine.samples_in_cell(report, t, q)) == report["confusion"][t][q]
    wrong = engine.misclassified(report)
    assert len(wrong) == n - sum(report["confusion"][i][i] for i in range(len(report["confusion"])))
    files = engine.save_report(report, str(tmp_path / "out"))
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["ablation"] == a and any(f.endswith("predictions.csv") for f in files)


def test_noise_grows_with_strength():
    gen = torch.Generator().manual_seed(0)
    img = torch.full((4, 1, 8, 8), 128, dtype=torch.uint8)
    img[:, :, :4] = 0
    small = (add_noise("image", img, 0.1, gen).float() - img.float()).abs().mean()
    large = (add_noise("image", img, 2.0, gen).float() - img.float()).abs().mean()
    assert 0 < small < large and add_noise("image", img, 1.0, gen).dtype == torch.uint8
    ids = torch.randint(1, 50, (16, 10))
    changed = (add_noise("text", ids, 1.0, gen, 50) != ids).float().mean()
    assert 0.3 < changed < 0.7  # strength 1 replaces about half the tokens


def test_pca_places_new_points_exactly_and_tsne_separates_clusters():
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 16, generator=gen) * 5
    x = torch.cat([c + torch.randn(40, 16, generator=gen) * 0.3 for c in centres])
    pca = project(x, "pca")
    assert pca.xy.shape == (120, 2)
    assert np.allclose(pca.locate(x[7]), pca.xy[7], atol=1e-4)
    y = tsne(x, perplexity=15, iters=250)
    labels = np.repeat(np.arange(3), 40)
    means = np.stack([y[labels == k].mean(0) for k in range(3)])
    spread = max(np.linalg.norm(y[labels == k] - means[k], axis=1).mean() for k in range(3))
    gaps = min(np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i + 1, 3))
    assert gaps > 2 * spread


def test_query_session_caches_the_index_per_collection(trained, tmp_path):
    from mmstudio.data import open_dataset

    bundle = trained["result"].bundle
    dataset = open_dataset(str(trained["manifest"]))
    session = engine.QuerySession(bundle)
    path = session.index(dataset)
    from mmstudio.engine.collection import cache_root

    assert path.startswith(cache_root()) and not path.startswith(bundle)  # never beside a bundle
    test_only = session.index(dataset, split="test")  # another collection, another file
    assert test_only != path and len(session.items) == len(dataset.subset("test"))
    session.index(dataset)
    hits = session.query(text="the number two", target="image", top=3)
    assert [h["label"] for h in hits["results"]] == ["two"] * 3
    emap = session.embedding_map("image", "pca")
    assert emap["xy"].shape == (len(dataset.items), 2) and len(emap["labels"]) == len(dataset.items)
    located = session.query(text="the number two", target="image", map_method="pca")
    assert len(located["position"]) == 2
    probs = session.classify(image=dataset.items[0].image)
    assert len(probs["top"]) == 3 and abs(sum(r["probability"] for r in probs["top"]) - 1) < 1e-4


def test_rebuild_deletes_the_cached_index_and_embeds_every_item_again(trained, monkeypatch):
    """The Query panel's Rebuild: the store of a stopped (or doubtful) indexing is thrown away."""
    from mmstudio.data import open_dataset
    from mmstudio.engine import collection

    bundle = trained["result"].bundle
    dataset = open_dataset(str(trained["manifest"]))
    session = engine.QuerySession(bundle)
    path = session.index(dataset)
    marker = os.path.join(os.path.dirname(path), "stale-marker")
    open(marker, "w").close()  # noqa: SIM115 - an empty file the rebuild must take away
    discarded = []
    real = collection.discard
    monkeypatch.setattr(collection, "discard", lambda folder: discarded.append(real(folder)) or discarded[-1])
    messages = []
    assert session.index(dataset, progress=lambda _f, m: messages.append(m), rebuild=True) == path
    assert discarded == [True] and not os.path.exists(marker)
    assert any(str(len(dataset.items)) in m for m in messages)  # every item embedded again
    assert not collection.discard(os.path.dirname(collection.cache_root()))  # nothing outside the cache

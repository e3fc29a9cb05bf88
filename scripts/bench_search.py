"""Search at scale: a 1,000,000-item collection on this machine's CPU.

    python scripts/bench_search.py [--bundle DIR] [--items 1000000] [--queries 200] [--threads 1]

1. End-to-end path: indexes the 10,000 real files of ``../shared/datasets/digits`` (images,
   sounds, texts) with the aligned digits bundle of ``scripts/bench_query.py`` (trained once
   under runs/), through ``index_collection`` (DataLoader workers, batches committed to disk),
   and reports its throughput.
2. Scale: appends generated image vectors up to ``--items`` rows. Each is a real image
   embedding of the subset plus Gaussian noise (norm ``--noise``), renormalised, with that
   item's label and split, so the collection has the clustered shape of real embeddings.
3. Builds the FAISS index (IVF, fp16 vectors) with the step that ends every indexing pass,
   and reports its size on disk and in memory and the build time.
4. Times real text->image and audio->image queries over the whole collection: the approximate
   search alone, end to end through ``QuerySession`` (encoder included), exact search for
   comparison, a filtered query, and Recall@10 of the approximate top 10 against exact search
   for each setting of the speed knob (nprobe).

The collection is kept in the user cache folder (``--folder`` to choose), so a second run
reuses it; ``--fresh`` deletes it first.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from bench_query import DIGITS, ensure_bundle, percentile  # noqa: E402

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_bytes(folder: str) -> int:
    """Bytes actually allocated (vector files of absent modalities are sparse)."""
    return sum(os.stat(os.path.join(folder, f)).st_blocks * 512 for f in os.listdir(folder))


def timed(fn, values) -> tuple[list[float], list]:
    times, out = [], []
    for v in values:
        t0 = time.perf_counter()
        out.append(fn(v))
        times.append((time.perf_counter() - t0) * 1000)
    return times, out


def fill_generated(store, target_rows: int, noise: float, seed: int = 0) -> float:
    """Append generated image rows (noisy copies of the real ones) up to ``target_rows``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    present = np.flatnonzero(store.present("image"))
    base = np.array(store.vectors("image")[present])
    meta = store.meta[present]
    labels, splits = store.info["labels"], store.info["splits"]
    t0 = time.perf_counter()
    while store.rows < target_rows:
        n = min(100_000, target_rows - store.rows)
        src = rng.integers(0, len(base), n)
        x = base[src] + rng.standard_normal((n, base.shape[1])).astype(np.float32) * (noise / np.sqrt(base.shape[1]))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        first = store.rows
        records = [
            {
                "key": f"generated/{first + i}",
                "sig": "",
                "id": f"g{first + i}",
                "image": None,
                "audio": None,
                "text": None,
                "label": labels[meta["label"][s]] if meta["label"][s] >= 0 else None,
                "split": splits[meta["split"][s]] if meta["split"][s] >= 0 else None,
            }
            for i, s in enumerate(src.tolist())
        ]
        store.append(records, {"image": x}, {"image": np.ones(n, bool)})
        print(f"  generated {store.rows:,}/{target_rows:,}", file=sys.stderr, flush=True)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", help="an aligned bundle (default: train one under runs/)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.5, help="norm of the noise of generated vectors")
    parser.add_argument("--threads", type=int, default=1, help="torch and FAISS threads")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers for decoding")
    parser.add_argument("--folder", help="collection folder (default: the user cache's)")
    parser.add_argument("--fresh", action="store_true", help="delete the collection first")
    args = parser.parse_args()
    if not os.path.isfile(DIGITS):
        print(f"digits dataset not found at {DIGITS}", file=sys.stderr)
        return 2
    import faiss
    import numpy as np
    import torch

    from mmstudio import engine
    from mmstudio.data import open_dataset
    from mmstudio.engine.ann import exact_search, recall_at
    from mmstudio.engine.collection import Collection, collection_folder
    from mmstudio.engine.indexing import index_collection, update_ann
    from mmstudio.engine.query_session import describe_progress

    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    bundle = engine.load_bundle(args.bundle or ensure_bundle())
    dataset = open_dataset(DIGITS)
    sha = bundle.meta["weights"]["sha256"]
    folder = args.folder or collection_folder(sha, dataset.spec.path + "#bench", "all")
    if args.fresh and os.path.isdir(folder):
        shutil.rmtree(folder)
    print(
        f"bundle {bundle.path}\ncollection {folder}\n{os.cpu_count()} CPU cores, "
        f"{args.threads} torch/FAISS thread(s), {args.workers} decoding worker(s)"
    )

    # 1. the real files, end to end
    last = [0.0]

    def show(e) -> None:
        if time.perf_counter() - last[0] > 5 or e.done == e.total:
            last[0] = time.perf_counter()
            print("  " + describe_progress(e), file=sys.stderr, flush=True)

    store = Collection.open(folder)
    if store is None or store.rows < len(dataset.items):
        result = engine.drive(
            index_collection(bundle, dataset, folder=folder, batch_size=256, workers=args.workers, ann="ivf"), show
        )
        print(
            f"real files: {result.embedded:,} items embedded in {result.seconds:.1f} s = "
            f"{result.embedded / result.seconds:,.0f} items/s (decode image+audio, tokenise "
            "text, encode 3 modalities)"
        )
        store = Collection.open(folder)
    else:
        print(f"real files: {len(dataset.items):,} items already in the collection")

    # 2. generated rows up to --items
    if store.rows < args.items:
        secs = fill_generated(store, args.items, args.noise)
        print(f"generated: {args.items - len(dataset.items):,} image vectors appended in {secs:.1f} s")

    # 3. the approximate index, by the step that ends every indexing pass (the generated rows
    # have no files, so a pass over the dataset would rightly remove them)
    t0 = time.perf_counter()
    engine.drive(update_ann(Collection.open(folder), "ivf"), show)
    print(f"FAISS build (train, add, calibrate recall): {time.perf_counter() - t0:.1f} s")
    rss0 = rss_mb()
    session = engine.QuerySession(bundle)
    session.open_collection(folder)
    search = session.search
    ann = search.ann_for("image")
    info = search.describe()
    print(
        f"collection: {search.store.rows:,} rows, dim {search.store.dim}; on disk "
        f"{disk_bytes(folder) / 2**20:,.0f} MiB (vectors, metadata, records and FAISS index)"
    )
    ivf = faiss.extract_index_ivf(ann.index)
    in_memory = ann.index.ntotal * (ivf.code_size + 8) + ivf.nlist * ann.index.d * 4
    print(
        f"FAISS index: {ann.info['factory']}, {info['ann']['image']['bytes'] / 2**20:,.0f} MiB "
        f"on disk, {in_memory / 2**20:,.0f} MiB in memory (fp16 codes + ids + centroids; "
        f"process RSS {rss_mb() - rss0:+,.0f} MiB after loading it); exact search would hold "
        f"{search.store.rows * search.store.dim * 4 / 2**20:,.0f} MiB of float32 vectors. "
        f"The store is memory-mapped: paged in on demand, not held"
    )
    print(
        f"calibration (stored vectors of each modality as queries): Recall@10 per nprobe "
        f"{ann.info['recall']}; default nprobe {ann.info['knob']}"
    )

    # 4. queries
    texts = [
        f"{p}{WORDS[i % 10]}"
        for i, p in zip(range(args.queries), ["", "digit ", "the number ", "someone says "] * args.queries)
    ]
    clips = sorted({it.audio for it in dataset.items if it.audio})[: args.queries]
    qs = {
        "text": np.stack([session.embed(text=t)[1].numpy() for t in texts]),
        "audio": np.stack([session.embed(audio=c)[1].numpy() for c in clips]),
    }
    vectors = search.store.vectors("image")
    present = search.store.present("image")
    for kind, values in (("text", texts), ("audio", clips)):
        q = qs[kind]
        exact_ms, exact = timed(lambda v: exact_search(vectors, v, 10, present)[1][0], q[:20])
        truth = np.stack([exact_search(vectors, v, 10, present)[1][0] for v in q])
        ann_ms, found = timed(lambda v: ann.search(v, 10)[1][0], q)
        e2e_ms, _ = timed(lambda v, k=kind: session.query(**{k: v}, target="image", top=10), values)
        print(f"{kind}->image over {search.store.rows:,} items, {len(q)} queries:")
        print(
            f"  approximate search  p50 {percentile(ann_ms, 0.5):6.2f} ms  p95 {percentile(ann_ms, 0.95):6.2f} ms"
            f"  Recall@10 vs exact {recall_at(np.stack(found), truth):.4f} (nprobe {ann.info['knob']})"
        )
        print(
            f"  end to end (encode + search + records)  p50 {percentile(e2e_ms, 0.5):6.2f} ms  "
            f"p95 {percentile(e2e_ms, 0.95):6.2f} ms"
        )
        print(f"  exact search (for comparison)  p50 {percentile(exact_ms, 0.5):6.2f} ms")
        for knob in (16, 64, 128, 256, 512, 1024):
            ms, found = timed(lambda v, n=knob: ann.search(v, 10, n)[1][0], q)
            print(
                f"    nprobe {knob:4d}: Recall@10 {recall_at(np.stack(found), truth):.4f}, "
                f"p50 {percentile(ms, 0.5):.2f} ms"
            )
    f_ms, hits = timed(lambda v: search.search(v, "image", 10, label="7", split="test"), qs["text"][:50])
    print(f"filtered (label 7, split test) text->image: p50 {percentile(f_ms, 0.5):.2f} ms, {len(hits[0])} hits")
    m_ms, _ = timed(lambda r: session.more_like(r, "image", 10), list(range(50)))
    print(f"more like this (image of an item -> images): p50 {percentile(m_ms, 0.5):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

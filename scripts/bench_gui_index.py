"""Does the window stay fluid while the Query panel indexes a large collection?

    python scripts/bench_gui_index.py [--items 20000] [--bundle DIR]

Generates a collection of small items (a 28x28 PNG digit-like image and a caption each; once,
in a temporary folder), then indexes it through the GUI's own path: a shown ``QueryPanel``
given the bundle (the digits demo model by default) and the dataset, its lane doing the work.
Meanwhile a QTimer asks to fire every 50 ms on the GUI thread; each firing's delay past its
due time is how long a click or a repaint would have waited. Prints the indexing time and
throughput and the delays' p50/p95/max. The cache is a temporary folder, so the collection is
embedded from scratch every time.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
PING_MS = 50


def make_collection(folder: str, items: int) -> str:
    """``items`` tiny images with captions (ten classes), as a CSV manifest; returns its path."""
    import numpy as np
    from PIL import Image

    manifest = os.path.join(folder, "manifest.csv")
    if os.path.isfile(manifest):
        return manifest
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    rng = np.random.default_rng(0)
    with open(manifest, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "label", "image", "text"])
        for i in range(items):
            k = i % 10
            pixels = (rng.random((28, 28)) * 60).astype(np.uint8)
            pixels[4 + k : 24, 6 + k // 2 : 10 + k // 2] = 255  # a bar whose place tells the class
            path = f"images/{i:06d}.png"
            Image.fromarray(pixels).save(os.path.join(folder, path))
            out.writerow([f"item{i:06d}", str(k), path, f"digit {words[k]}"])
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--bundle", default="")
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "mmstudio-bench-gui-index"))
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="mmstudio-bench-cache-")
    os.environ["XDG_CACHE_HOME"] = cache  # a fresh collection store: embed everything
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    t0 = time.perf_counter()
    manifest = make_collection(os.path.join(args.data, str(args.items)), args.items)
    print(f"collection: {args.items:,} items ({time.perf_counter() - t0:.1f} s to generate or find)")

    from PySide6.QtCore import Qt, QTimer

    from mmstudio.data import open_dataset
    from mmstudio.gui.app import create_application
    from mmstudio.gui.panels.query_panel import QueryPanel
    from mmstudio.gui.paths import DEMO_BUNDLE

    app = create_application()
    dataset = open_dataset(manifest)
    panel = QueryPanel()
    panel.resize(1280, 800)
    panel.show()
    delays: list[float] = []
    when: list[float] = []  # seconds since indexing started, per firing
    last = [time.perf_counter()]

    def ping() -> None:
        now = time.perf_counter()
        delays.append(max(0.0, (now - last[0]) * 1000 - PING_MS))
        when.append(now - start)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(ping)
    done: dict = {}
    # When embedding starts (torch imported, model loaded): stalls before it are those imports
    panel.lane.progress.connect(
        lambda _f, msg: done.setdefault("embedding", time.perf_counter() - start) if "embedded" in msg else None
    )
    panel.ready.connect(lambda info: (done.setdefault("info", info), app.quit()))
    start = time.perf_counter()
    timer.start(PING_MS)
    panel.set_dataset(dataset)
    panel.set_bundle(args.bundle or str(DEMO_BUNDLE))
    app.exec()
    seconds = time.perf_counter() - start
    timer.stop()
    if "info" not in done:
        sys.exit(f"indexing did not finish: {panel.message.text()}")
    d = sorted(delays)
    print(
        f"indexed {done['info']['items']:,} items through the Query panel in {seconds:.1f} s "
        f"({done['info']['items'] / seconds:,.0f} items/s, decoding and embedding included)"
    )
    print(
        f"event loop, a {PING_MS} ms timer: {len(d)} firings; delay past due p50 {statistics.median(d):.1f} ms, "
        f"p95 {d[int(0.95 * (len(d) - 1))]:.1f} ms, max {d[-1]:.1f} ms"
    )
    if "embedding" in done:
        after = sorted(ms for ms, t in zip(delays, when) if t >= done["embedding"])
        print(
            f"  from the first embedded batch on ({done['embedding']:.1f} s, after importing torch and loading "
            f"the model): p50 {statistics.median(after):.1f} ms, p95 {after[int(0.95 * (len(after) - 1))]:.1f} ms, "
            f"max {after[-1]:.1f} ms"
        )
    worst = sorted(zip(delays, when), reverse=True)[:5]
    print("longest stalls: " + ", ".join(f"{ms:.0f} ms at {t:.1f} s" for ms, t in worst))
    print(f"(this machine's load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    panel.shutdown()


if __name__ == "__main__":
    main()

"""Training in the window versus headless: samples/s of each, their ratio, and the event-loop stall.

    .venv/bin/python scripts/bench_gui.py                 # ../shared/datasets/digits, else the demo
    .venv/bin/python scripts/bench_gui.py --epochs 3 --data PATH

The same run (a small image+audio model, CPU unless --device says otherwise) is trained twice,
one after the other, each in a fresh process: headless with ``mmstudio train --json`` (the CLI),
and in the GUI (a MainWindow, offscreen unless a display is set, Start pressed in the Train
panel). Throughput is the mean samples/s of the epochs after the first (EpochDone: steps only, so
decoding is not counted on either side). During the GUI run a 10 ms QTimer measures how late the
event loop serves it: the max and 99th percentile of that delay are the stall a user would feel.
The GUI side also prints how long the first training step took after Start was pressed. The GUI
run is made twice: with the probe (stall, first step) and without it (throughput: the probe wakes
the interpreter 100 times a second, which costs the training thread something of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEMO = REPO / "resources" / "demo" / "digits" / "manifest.csv"


def make_run(data: str, epochs: int, batch: int, device: str, threads: int):
    from mmstudio.config import AudioSpec, DatasetSpec, ImageSpec, ModelSpec, RunConfig, TrainSpec

    model = ModelSpec(
        modalities=("image", "audio"),
        image=ImageSpec("cnn", size=28, options={"width": 8}),
        audio=AudioSpec("mel_cnn", options={"width": 8}),
        fusion="concat",
        dim=64,
    )
    train = TrainSpec(
        epochs=epochs, batch_size=batch, device=device, val_split="none", num_threads=threads, log_every_s=0.5
    )
    return RunConfig(DatasetSpec(data), model, train, name="bench-gui")


def later_sps(epochs: list[dict]) -> float:
    later = epochs[1:] or epochs
    return sum(e["samples_per_s"] * e["seconds"] for e in later) / sum(e["seconds"] for e in later)


def headless(run_toml: str, out: str) -> dict:
    cmd = [sys.executable, "-m", "mmstudio", "train", "--config", run_toml, "--out", out, "--json"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode:
        raise SystemExit(f"headless run failed:\n{proc.stderr[-2000:]}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    epochs = [e for e in events if e["event"] == "EpochDone"]
    return {"epochs": epochs, "wall_s": time.monotonic() - t0}


def gui(run_toml: str, out: str, probe: bool = True) -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    cmd = [sys.executable, __file__, "--gui-child", run_toml, out] + ([] if probe else ["--no-probe"])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise SystemExit(f"GUI run failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def gui_child(run_toml: str, out: str, probe: bool = True) -> int:
    """Runs in its own process: a real MainWindow trains while a 10 ms timer measures lateness."""
    sys.path.insert(0, str(REPO))
    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QTimer

    from mmstudio import engine
    from mmstudio.config import RunConfig
    from mmstudio.gui.app import create_application
    from mmstudio.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow()
    window.show()
    train = window.train_panel
    window.show_panel(2)
    run = RunConfig.load(run_toml)
    delays: list[float] = []
    clock = QElapsedTimer()
    state = {"last": None, "first_step": None}
    ticker = QTimer(interval=10)

    phases: dict[str, list[float]] = {"preparing": [], "training": []}

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if state["last"] is not None and train.running:
            delay = max(0.0, now - state["last"] - 10.0)
            delays.append(delay)
            phases["training" if state["first_step"] is not None else "preparing"].append(delay)
        state["last"] = now

    def first_step() -> None:
        if state["first_step"] is None and any(type(e).__name__ == "StepLogged" for e in train.events):
            state["first_step"] = clock.nsecsElapsed() / 1e9

    ticker.timeout.connect(tick)
    ticker.timeout.connect(first_step)
    done = []
    train.run_finished.connect(done.append)
    engine.parameter_count(run)  # torch is loaded before Start in the app too (the Model panel's worker)
    clock.start()
    if probe:  # the probe wakes Python 100 times a second: a cost of its own, measured apart
        ticker.start()
    train.start(run, None, out_dir=out)
    while not done and train._state != "done":
        app.processEvents()
        time.sleep(0.001)
    ticker.stop()
    if train.reason == "failed":
        print(train.error_label.text(), file=sys.stderr)
        return 1
    epochs = [e.as_dict() for e in train.events if type(e).__name__ == "EpochDone"]
    d = np.asarray(delays) if delays else np.zeros(1)
    print(
        json.dumps(
            {
                "epochs": epochs,
                "stall_max_ms": float(d.max()),
                "stall_p99_ms": float(np.percentile(d, 99)),
                "stall_p50_ms": float(np.median(d)),
                "ticks": len(delays),
                "first_step_s": state["first_step"],
                "phases": {k: [float(np.percentile(v, 99)), float(max(v))] if v else None for k, v in phases.items()},
            }
        )
    )
    window.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--gui-child"]:
        return gui_child(argv[1], argv[2], probe="--no-probe" not in argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    digits = SHARED / "datasets" / "digits" / "pairs.csv"
    p.add_argument("--data", default=str(digits if digits.is_file() else DEMO))
    p.add_argument("--epochs", type=int, default=3, help="at least 2 (default 3)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's choice)")
    p.add_argument("--repeat", type=int, default=3, help="headless/GUI pairs to take the median of")
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO))
    run = make_run(args.data, args.epochs, args.batch, args.device, args.threads)
    with tempfile.TemporaryDirectory(prefix="mmstudio-bench-gui-") as tmp:
        os.environ["MMSTUDIO_HOME"] = tmp  # the GUI's runs list and settings stay out of the user's
        toml = os.path.join(tmp, "run.toml")
        run.save(toml)
        pairs = []  # (headless, GUI) one right after the other: the machine's speed drifts
        for i in range(args.repeat):
            h = headless(toml, os.path.join(tmp, f"headless-{i}"))
            quiet = gui(toml, os.path.join(tmp, f"gui-quiet-{i}"), probe=False)
            pairs.append((later_sps(h["epochs"]), later_sps(quiet["epochs"])))
        g = gui(toml, os.path.join(tmp, "gui"))
    ratios = sorted(q / h for h, q in pairs)
    hs, qs = statistics.median(h for h, _ in pairs), statistics.median(q for _, q in pairs)
    gs = later_sps(g["epochs"])
    print("MMStudio GUI vs headless training (scripts/bench_gui.py)")
    print(
        f"data: {args.data}; model: image cnn(w8) 28 px + audio mel_cnn(w8), concat, batch {args.batch}, "
        f"{args.epochs} epochs on {args.device}; samples/s of epochs 2-{args.epochs} (steps only)"
    )
    print(f"headless (mmstudio train --json): {hs:10.1f} samples/s (median)")
    print(f"GUI (Train panel, worker thread): {qs:10.1f} samples/s  (with the 10 ms stall probe running: {gs:.1f})")
    print(
        f"ratio GUI / headless: {statistics.median(ratios):.3f}  (goal >= 0.95; median of {len(ratios)} "
        f"back-to-back pairs: {', '.join(f'{r:.3f}' for r in ratios)}); with the probe {gs / hs:.3f}"
    )
    print(
        f"event-loop stall during GUI training (delay of a 10 ms timer over {g['ticks']} ticks): "
        f"p50 {g['stall_p50_ms']:.1f} ms, p99 {g['stall_p99_ms']:.1f} ms, max {g['stall_max_ms']:.1f} ms "
        "(goal p99 <= 50 ms)"
    )
    for phase, figures in g.get("phases", {}).items():
        if figures:
            print(f"  while {phase}: p99 {figures[0]:.1f} ms, max {figures[1]:.1f} ms")
    if g.get("first_step_s") is not None:
        print(f"first training step {g['first_step_s']:.2f} s after Start was pressed (decoding included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

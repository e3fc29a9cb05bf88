"""The engine headless: ``mmstudio inspect|train|eval|index|query|predict|export|bench``.

Every command prints human-readable text, or one JSON document with ``--json`` (training
streams its events as JSON lines). Long commands draw progress bars on stderr when it is a
terminal (never with ``--json``). Errors go to stderr with exit status 2; a reader that closes
the pipe early (``| head``) ends the command quietly with status 0.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from mmstudio import __version__
from mmstudio.cli_progress import Progress, progress_for, wants_progress

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def decorate(fn):
        COMMANDS[name] = fn
        return fn
    return decorate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmstudio", description="MMStudio, headless.")
    parser.add_argument("--version", action="version", version=f"mmstudio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="scan a dataset and report its layout, counts and problems")
    p.add_argument("path", help="a dataset folder or a CSV/TSV/JSONL manifest")
    p.add_argument("--layout", default="auto", help="override the guessed layout")
    p.add_argument("--column", action="append", default=[], metavar="NAME=ROLE",
                   help="set a manifest column's role (id, image, audio, text, label, split, ignore)")
    p.add_argument("--label-pattern", default=None, help="regex with (?P<label>...) for file-name labels")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _engine_parsers(sub)
    _predict_parser(sub)
    sub.add_parser("bench", add_help=False, help="training speed beside the bare-loop limit "
                                                 "(mmstudio bench --help)")
    return parser


def _engine_parsers(sub) -> None:
    p = sub.add_parser("train", help="train a model; writes run.toml, checkpoints and a bundle")
    p.add_argument("--data", help="dataset folder or manifest (overrides the config's)")
    p.add_argument("--config", help="a run.toml (or .json) to start from")
    for m in ("image", "text", "audio"):
        p.add_argument(f"--{m}", metavar="ENC", help=f"use the {m} modality with this encoder")
    p.add_argument("--fusion", help="early, concat, weighted_sum, product, gated, attention, "
                                    "tensor or late")
    p.add_argument("--modalities", metavar="LIST",
                   help="comma-separated modalities to use with their default encoders "
                        "(e.g. image,text); default: every modality the dataset has")
    p.add_argument("--task", choices=["classify", "align", "classify+align"],
                   help="default: classify when the data has labels, else align")
    p.add_argument("--image-size", type=int, help="image side in pixels (default: from the images)")
    p.add_argument("--text-tokens", type=int, help="tokens kept per text (default: from the texts)")
    p.add_argument("--audio-seconds", type=float, help="clip duration (default: from the clips)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction,
                   help="random small shifts, turns and zooms of training images")
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--split", metavar="TRAIN,VAL,TEST",
                   help="ratios for data without a split column (default 0.8,0.1,0.1)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int)
    p.add_argument("--max-steps", type=int, help="stop after this many steps (quick checks)")
    p.add_argument("--val-split", help="the split used for validation, none, or auto (default: "
                                       "val when present, else 10%% of train held out)")
    p.add_argument("--column", action="append", default=[], metavar="NAME=ROLE")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last")
    p.add_argument("--out", required=True, help="run folder (the bundle is OUT/bundle)")
    p.add_argument("--json", action="store_true", help="events as JSON lines")

    p = sub.add_parser("eval", help="evaluate a bundle on a dataset split")
    p.add_argument("bundle")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", help="train, val, test or all")
    p.add_argument("--no-ablation", action="store_true", help="skip the per-modality ablation")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("index", help="embed a dataset with a bundle into a searchable collection "
                                     "(resumable: run again to continue or to pick up new files)")
    p.add_argument("bundle")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="all")
    p.add_argument("--out", help="write one index file instead (e.g. to ship with the bundle)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, help="DataLoader decoding workers (default: by size)")
    p.add_argument("--ann", choices=["ivf", "hnsw"], default="ivf",
                   help="approximate index for large collections")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("query", help="rank an index against a text, image or audio query")
    p.add_argument("bundle")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--text")
    group.add_argument("--image", metavar="FILE")
    group.add_argument("--audio", metavar="FILE")
    group.add_argument("--like", type=int, metavar="INDEX",
                       help="more like this: the items nearest a result's index")
    p.add_argument("--target", choices=["image", "audio", "text"])
    p.add_argument("--index", metavar="FILE", help="an index file written by index --out")
    p.add_argument("--data", help="the collection indexed from this dataset (default: the last "
                                  "one indexed with this bundle)")
    p.add_argument("--split", default="all", help="with --data: the split that was indexed")
    p.add_argument("--label", action="append", help="keep only items with this label (repeatable)")
    p.add_argument("--in-split", action="append", help="keep only items of this split")
    p.add_argument("--has", action="append", choices=["image", "audio", "text"],
                   help="keep only items with this modality")
    p.add_argument("--nprobe", type=int, help="approximate search effort: higher is slower and "
                                             "finds more of the exact top results")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="export a bundle to ONNX or torch.export (.pt2): a folder "
                                      "with the model, preprocess.json, tokenizer, predict.py, README")
    p.add_argument("bundle")
    p.add_argument("--format", choices=["onnx", "pt2"], default="onnx")
    p.add_argument("--out", required=True, help="the package's folder")
    p.add_argument("--no-check", action="store_true", help="skip comparing outputs")
    p.add_argument("--json", action="store_true")


@command("inspect")
def _inspect(args: argparse.Namespace) -> int:
    from mmstudio.config import DatasetSpec
    from mmstudio.data import open_dataset

    columns = dict(_pair(c) for c in args.column)
    extra = {"label_pattern": args.label_pattern} if args.label_pattern else {}
    ds = open_dataset(DatasetSpec(path=args.path, layout=args.layout, columns=columns, **extra))
    summary = ds.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['path']}: {summary['layout']}, {summary['items']:,} items")
    print("  modalities: " + ", ".join(f"{m} {n:,}" for m, n in summary["counts"].items() if n))
    if summary["labels"]:
        print(f"  labels ({len(summary['labels'])}): " +
              ", ".join(f"{k} {v}" for k, v in list(summary["labels"].items())[:20]))
    print("  splits: " + ", ".join(f"{k} {v:,}" for k, v in summary["splits"].items()))
    print(f"  problems: {len(summary['problems'])}")
    for p in summary["problems"]:
        print(f"    {p['severity']}: {p['path']}" + (f" (row {p['row']})" if "row" in p else "") + f": {p['reason']}")
    return 0


def run_config_from_args(args: argparse.Namespace):
    """A :class:`RunConfig` from ``--config`` (if any) with the command-line options on top."""
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

    run = RunConfig.load(args.config) if args.config else None
    if run is None and not args.data:
        raise ValueError("give --data PATH or --config run.toml")
    dataset = run.dataset if run else DatasetSpec(args.data)
    if args.data:
        dataset = dataset.replace(path=args.data)
    if args.column:
        dataset = dataset.replace(columns={**dataset.columns, **dict(_pair(c) for c in args.column)})
    if args.split:
        dataset = dataset.replace(split=_split_spec(args.split, dataset.split.seed))
    model = run.model if run else ModelSpec()
    if args.modalities:
        model = model.replace(modalities=tuple(m.strip() for m in args.modalities.split(",") if m.strip()))
    model = _model_flags(model, args)
    chosen = [m for m in ("image", "text", "audio") if getattr(args, m)]
    if chosen:
        subs = {m: getattr(model, m).__class__(**{**vars(getattr(model, m)),
                                                  "encoder": getattr(args, m)}) for m in chosen}
        model = model.replace(modalities=tuple(chosen), **subs)
    if args.fusion:
        model = model.replace(fusion=args.fusion)
    if args.task:
        model = model.replace(task=args.task)
    train = run.train if run else TrainSpec()
    changes = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                 ("lr", args.lr), ("device", args.device), ("seed", args.seed),
                                 ("max_steps", args.max_steps), ("val_split", args.val_split))
               if v is not None}
    return RunConfig(dataset, model, train.replace(**changes), run.name if run else "")


def _model_flags(model, args: argparse.Namespace):
    """The per-modality and head options given on the command line, on top of ``model``."""
    import dataclasses

    subs = {"image": {"size": args.image_size, "augment": args.augment},
            "text": {"max_tokens": args.text_tokens}, "audio": {"seconds": args.audio_seconds}}
    for modality, values in subs.items():
        values = {k: v for k, v in values.items() if v is not None}
        if values:
            model = model.replace(**{modality: dataclasses.replace(getattr(model, modality), **values)})
    if args.label_smoothing is not None:
        model = model.replace(label_smoothing=args.label_smoothing)
    return model


def _split_spec(text: str, seed: int):
    from mmstudio.config import SplitSpec

    try:
        train, val, test = (float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--split {text!r}: give three ratios, e.g. 0.8,0.1,0.1") from None
    return SplitSpec(train, val, test, seed)


def _no_labels(dataset) -> str:
    """Why classify cannot train on ``dataset``, and the flag that would name its labels."""
    import re

    for p in dataset.problems:
        found = re.search(r"column '([^']+)' looks like labels", p.reason)
        if found:
            return (f"{dataset.spec.path}: classify needs labels and no column is named like a "
                    f"label; column {found.group(1)!r} looks like one: add --column "
                    f"{found.group(1)}=label (or train --task align)")
    return (f"{dataset.spec.path}: classify needs labels (at least 2 classes); name the label "
            "column with --column NAME=label, or train --task align")


def _resolved_run(args: argparse.Namespace):
    """The run with its settings chosen from the data (printed unless ``--json``), and its
    dataset, opened once."""
    from mmstudio import engine
    from mmstudio.engine.devices import pick_device

    run = run_config_from_args(args)
    dataset = engine.load_dataset(run.dataset)
    if len(dataset.class_names) < 2 and "classify" in run.model.task:
        if not args.task and not args.config and len(dataset.modalities) > 1:
            run = run.replace(model=run.model.replace(task="align"))  # no labels: learn the pairing
        else:
            raise ValueError(_no_labels(dataset))
    run, chosen = engine.resolve_settings(run, dataset, pick_device(run.train.device).type)
    if chosen and not args.json:  # --json streams events only; run.toml keeps the values
        print("chosen from the data (override with flags or --config):")
        for c in chosen:
            print(f"  {c.field} = {c.value}: {c.reason}")
    return run, dataset


@command("train")
def _train(args: argparse.Namespace) -> int:
    """Also the entry point of each process under ``torchrun`` (README, "Several GPUs")."""
    import os
    import signal

    from mmstudio import engine

    run, dataset = _resolved_run(args)
    control = engine.Control()
    under_torchrun = int(os.environ.get("WORLD_SIZE", "1")) > 1
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop(sig, _frame) -> None:
        """First Ctrl+C or SIGTERM: stop at the next step, saving a checkpoint and the bundle.
        A second Ctrl+C aborts (single process; torchrun sends one signal, then SIGKILL)."""
        control.stop()
        if not under_torchrun:
            signal.signal(sig, previous[sig])

    for sig in previous:
        signal.signal(sig, stop)
    progress = Progress(wants_progress(args))
    show = (lambda e: print(json.dumps(e.as_dict()), flush=True)) if args.json else \
        (lambda e: (progress(e), _print_event(e)))
    try:
        result = engine.drive(engine.train(run, args.out, control=control, resume=args.resume,
                                           dataset=dataset),
                              show)
    finally:
        progress.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not args.json and int(os.environ.get("RANK", "0")) == 0:
        print(f"bundle: {result.bundle} ({result.reason}, {result.seconds:.1f} s)")
    return 0


def _print_event(event) -> None:
    name = type(event).__name__
    if name == "RunStarted":
        print(f"training {', '.join(event.modalities)} on {event.device} ({event.precision}): "
              f"{event.train_items:,} train / {event.val_items:,} val items, "
              f"{event.parameters:,} parameters")
    elif name == "EpochDone":
        extra = " ".join(f"{k} {v:.4f}" for k, v in event.metrics.items())
        print(f"epoch {event.epoch}: loss {event.train_loss:.4f} {extra} "
              f"({event.seconds:.1f} s, {event.samples_per_s:.0f}/s){' *' if event.best else ''}",
              flush=True)
    elif name == "DataPrepared" and event.done == event.total:
        print(f"decoded {event.total:,} {event.modality} files in {event.seconds:.1f} s")


@command("eval")
def _eval(args: argparse.Namespace) -> int:
    from mmstudio import engine

    with progress_for(args) as progress:
        result = engine.evaluate(args.bundle, args.data, split=args.split,
                                 ablation=not args.no_ablation, on_event=progress)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['split']}: {result['items']:,} items")
    for note in result.get("input_warnings", []):
        print(f"  note: {note}")
    for key in ("accuracy", "macro_f1"):
        if key in result:
            print(f"  {key}: {result[key]:.4f}")
    for key, value in result.get("ablation", {}).items():
        print(f"  {key.replace('_', ' ')}: accuracy {value:.4f}")
    for pair, r in result.get("retrieval", {}).items():
        for kind in ("exact", "label"):
            if kind in r:
                print(f"  {pair} ({kind}): " + ", ".join(
                    f"{k} {v:.4f}" for k, v in r[kind].items() if not k.startswith("random")))
    return 0


@command("index")
def _index(args: argparse.Namespace) -> int:
    from mmstudio import engine

    if args.out:
        with progress_for(args) as progress:
            path = engine.build_index(args.bundle, args.data, out=args.out, split=args.split,
                                      on_event=progress)
        print(json.dumps({"index": path}) if args.json else f"index: {path}")
        return 0
    control = engine.Control()
    with _stop_on_signals(control):
        result = engine.drive(engine.index_collection(
            args.bundle, args.data, args.split, control=control, batch_size=args.batch_size,
            workers=args.workers, ann=args.ann), _progress_to_stderr())
    summary = {"index": result.path, "rows": result.rows, "embedded": result.embedded,
               "kept": result.kept, "removed": result.removed, "seconds": round(result.seconds, 2),
               "stopped": result.stopped}
    if args.json:
        print(json.dumps(summary))
    else:
        state = "stopped; run again to continue" if result.stopped else "up to date"
        print(f"index: {result.path}\n  {result.rows:,} items ({result.embedded:,} embedded, "
              f"{result.kept:,} kept, {result.removed:,} removed) in {result.seconds:.1f} s: {state}")
    return 0


def _progress_to_stderr():
    """Progress lines on stderr, at most one every two seconds (and the last)."""
    import time

    from mmstudio.engine.query_session import describe_progress

    last = [0.0]

    def show(event) -> None:
        now = time.monotonic()
        if now - last[0] >= 2 or event.done == event.total:
            last[0] = now
            print(describe_progress(event), file=sys.stderr, flush=True)
    return show


class _stop_on_signals:
    """Ctrl+C or SIGTERM stops at the next batch (what is embedded is kept); a second aborts."""

    def __init__(self, control) -> None:
        self.control = control

    def __enter__(self):
        import signal

        self.previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for sig in self.previous:
            signal.signal(sig, self._stop)
        return self

    def _stop(self, sig, _frame) -> None:
        import signal

        self.control.stop()
        signal.signal(sig, self.previous[sig])

    def __exit__(self, *exc) -> None:
        import signal

        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


@command("query")
def _query(args: argparse.Namespace) -> int:
    from mmstudio import engine

    filters = {"label": args.label, "split": args.in_split, "has": args.has}
    uses_collection = args.data or args.like is not None or args.nprobe or any(filters.values())
    if args.index or not uses_collection and engine.has_bundle_index(args.bundle):
        result = engine.query(args.bundle, text=args.text, image=args.image, audio=args.audio,
                              target=args.target, index=args.index, top=args.top)
    else:
        session = engine.QuerySession(args.bundle)
        folder = engine.find_collection(session.bundle, args.data, args.split)
        session.open_collection(folder)
        if args.like is not None:
            result = session.more_like(args.like, args.target, args.top, **filters)
        else:
            result = session.query(text=args.text, image=args.image, audio=args.audio,
                                   target=args.target, top=args.top, knob=args.nprobe, **filters)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for r in result["results"]:
        where = r["path"] or r["text"]
        print(f"{r['rank']:3d}  {r['score']:.4f}  {r['label'] or '-':>10}  {where}")
    return 0


@command("export")
def _export(args: argparse.Namespace) -> int:
    from mmstudio import engine

    info = engine.export(args.bundle, format=args.format, out=args.out, check=not args.no_check)
    print(json.dumps(info, indent=2) if args.json else f"exported {info['package']}: {', '.join(info['files'])}")
    return 0


def _pair(text: str) -> tuple[str, str]:
    name, sep, role = text.partition("=")
    if not sep:
        raise ValueError(f"--column expects NAME=ROLE, got {text!r}")
    return name, role


@command("bench")
def _bench_parsed(args: argparse.Namespace) -> int:  # main() sends "bench ARGS" to _bench first
    return _bench([])


def _bench(argv: list[str]) -> int:
    """``mmstudio bench ARGS``: :mod:`mmstudio.bench` with its own options."""
    from mmstudio.bench import main as bench_main

    return bench_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # its options are the script's own
        return _bench(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        status = COMMANDS[args.command](args)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at exit
        return status
    except BrokenPipeError:
        return closed_pipe()
    except (ValueError, OSError, KeyError, MemoryError) as exc:  # clear messages, no traceback
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"mmstudio {args.command}: error: {message}", file=sys.stderr)
        return 2


def closed_pipe() -> int:
    """The reader went away (``mmstudio query --json | head -1``): stop quietly, status 0.
    stdout now points at /dev/null so the interpreter's final flush cannot fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def _predict_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict every item of a dataset; writes CSV or JSON lines")
    p.add_argument("bundle")
    p.add_argument("--data", required=True, help="dataset folder or manifest")
    p.add_argument("--out", required=True, help="predictions file: .csv or .jsonl")
    p.add_argument("--split", default="all", help="train, val, test or all (default)")
    p.add_argument("--top", type=int, default=1, help="also list the top K classes (JSON lines)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


@command("predict")
def _predict(args: argparse.Namespace) -> int:
    from mmstudio import engine

    engine.prediction_format(args.out)  # a wrong file name fails before any decoding
    with progress_for(args) as progress:
        result = engine.predict_dataset(args.bundle, args.data, split=args.split, top=args.top,
                                        batch_size=args.batch_size, device=args.device,
                                        on_event=progress)
    path = engine.write_predictions(result["rows"], args.out)
    summary = {"predictions": path, "items": result["items"], "labelled": result["labelled"],
               **({"accuracy": result["accuracy"]} if "accuracy" in result else {})}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{result['items']:,} predictions: {path}")
    if "accuracy" in summary:
        print(f"  accuracy: {summary['accuracy']:.4f} over {result['labelled']:,} labelled items")
    return 0


if __name__ == "__main__":
    sys.exit(main())

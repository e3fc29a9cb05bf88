"""The engine headless: ``mmstudio inspect|train|eval|index|query|export|bench``.

Every command prints human-readable text, or one JSON document with ``--json`` (training
streams its events as JSON lines). Errors go to stderr with exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from mmstudio import __version__

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
    sub.add_parser("bench", add_help=False, help="training speed beside the bare-loop limit "
                                                 "(scripts/bench_train.py --help; source checkout)")
    return parser


def _engine_parsers(sub) -> None:
    from mmstudio.engine.components import ENCODERS, FUSIONS  # the registries, without torch

    p = sub.add_parser("train", help="train a model; writes run.toml, checkpoints and a bundle")
    p.add_argument("--data", help="dataset folder or manifest (overrides the config's)")
    p.add_argument("--config", help="a run.toml (or .json) to start from")
    for m in ("image", "text", "audio"):
        p.add_argument(f"--{m}", metavar="ENC", help=f"use the {m} modality with this encoder: "
                                                     f"{', '.join(ENCODERS[m].names())}")
    p.add_argument("--fusion", help=f"how modalities meet: {', '.join(FUSIONS.names())}")
    p.add_argument("--task", choices=["classify", "align", "classify+align"])
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

    p = sub.add_parser("index", help="embed a dataset with a bundle, for queries")
    p.add_argument("bundle")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="all")
    p.add_argument("--out", help="index file (default: index.safetensors in the bundle)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("query", help="rank an index against a text, image or audio query")
    p.add_argument("bundle")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--text")
    group.add_argument("--image", metavar="FILE")
    group.add_argument("--audio", metavar="FILE")
    p.add_argument("--target", choices=["image", "audio", "text"])
    p.add_argument("--index", metavar="FILE")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="export a bundle to ONNX or torch.export (.pt2)")
    p.add_argument("bundle")
    p.add_argument("--format", choices=["onnx", "pt2"], default="onnx")
    p.add_argument("--out", required=True)
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
    model = run.model if run else ModelSpec()
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


@command("train")
def _train(args: argparse.Namespace) -> int:
    """Also the entry point of each process under ``torchrun`` (README, "Several GPUs")."""
    import os
    import signal

    from mmstudio import engine
    from mmstudio.data import open_dataset

    run = run_config_from_args(args)
    if _report_problems(engine.check(run)):  # names and sizes: before the data is even scanned
        return 2
    dataset = open_dataset(run.dataset)  # finds the files and reads headers; decodes nothing
    if _report_problems(engine.check(run, dataset)):
        return 2
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
    show = (lambda e: print(json.dumps(e.as_dict()), flush=True)) if args.json else _print_event
    try:
        result = engine.drive(engine.train(run, args.out, control=control, resume=args.resume,
                                           dataset=dataset), show)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not args.json and int(os.environ.get("RANK", "0")) == 0:
        print(f"bundle: {result.bundle} ({result.reason}, {result.seconds:.1f} s)")
    return 0


#: The train option that sets each run field the rules name, so a problem says what to type.
FLAGS = {"dataset.path": "--data", "model.modalities": "--image/--text/--audio",
         "model.image.encoder": "--image", "model.text.encoder": "--text",
         "model.audio.encoder": "--audio", "model.fusion": "--fusion", "model.task": "--task",
         "train.epochs": "--epochs", "train.batch_size": "--batch-size", "train.lr": "--lr",
         "train.device": "--device", "train.seed": "--seed", "train.max_steps": "--max-steps",
         "train.val_split": "--val-split"}


def _report_problems(problems: list) -> bool:
    """Print each problem of a run (with the option that sets it) to stderr; True if any."""
    for p in problems:
        flag = f" ({FLAGS[p.field]})" if p.field in FLAGS else ""
        print(f"mmstudio train: error: {p.field}{flag}: {p.message}", file=sys.stderr)
    return bool(problems)


def _print_event(event) -> None:
    from mmstudio import engine

    match event:
        case engine.RunStarted():
            print(f"training {', '.join(event.modalities)} on {event.device} ({event.precision}): "
                  f"{event.train_items:,} train / {event.val_items:,} val items, "
                  f"{event.parameters:,} parameters")
        case engine.EpochDone():
            extra = " ".join(f"{k} {v:.4f}" for k, v in event.metrics.items())
            print(f"epoch {event.epoch}: loss {event.train_loss:.4f} {extra} "
                  f"({event.seconds:.1f} s, {event.samples_per_s:.0f}/s){' *' if event.best else ''}",
                  flush=True)
        case engine.DataPrepared(done=done, total=total) if done == total:
            print(f"decoded {event.total:,} {event.modality} files in {event.seconds:.1f} s")


@command("eval")
def _eval(args: argparse.Namespace) -> int:
    from mmstudio import engine

    result = engine.evaluate(args.bundle, args.data, split=args.split,
                             ablation=not args.no_ablation)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['split']}: {result['items']:,} items")
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

    path = engine.build_index(args.bundle, args.data, out=args.out, split=args.split)
    print(json.dumps({"index": path}) if args.json else f"index: {path}")
    return 0


@command("query")
def _query(args: argparse.Namespace) -> int:
    from mmstudio import engine

    result = engine.query(args.bundle, text=args.text, image=args.image, audio=args.audio,
                          target=args.target, index=args.index, top=args.top)
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
    print(json.dumps(info, indent=2) if args.json else f"exported {info['path']}")
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
    """``mmstudio bench ARGS``: scripts/bench_train.py of a source checkout, its options as is."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_train.py"
    if not path.is_file():
        print(f"mmstudio bench: error: {path} not found (bench needs a source checkout)",
              file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("mmstudio_bench_train", path)
    if spec is None or spec.loader is None:
        print(f"mmstudio bench: error: {path} cannot be loaded", file=sys.stderr)
        return 2
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # its options are the script's own
        return _bench(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, OSError, KeyError, MemoryError) as exc:  # clear messages, no traceback
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"mmstudio {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

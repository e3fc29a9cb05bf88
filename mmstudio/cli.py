"""The engine headless: ``mmstudio inspect|train|eval|index|query|predict|export|experiment|bench``.

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
from mmstudio.cli_compress import add_compress_parsers, print_regress
from mmstudio.cli_experiment import add_parser as _experiment_parser
from mmstudio.cli_experiment import experiment_command
from mmstudio.cli_inspect import inspect_command
from mmstudio.cli_progress import Progress, progress_for, wants_progress
from mmstudio.cli_run import print_generation, report_problems, resolved_run, run_config_from_args, task_for_data
from mmstudio.cli_weights import add_train_flags, add_weights_parser, weights_command

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "weights": weights_command,
    "experiment": experiment_command,
}


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
    p.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="NAME=ROLE",
        help="set a manifest column's role (id, image, audio, text, label, split, target, ignore)",
    )
    p.add_argument("--label-pattern", default=None, help="regex with (?P<label>...) for file-name labels")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _engine_parsers(sub)
    _predict_parser(sub)
    add_weights_parser(sub)
    add_compress_parsers(sub, COMMANDS)
    _experiment_parser(sub)
    sub.add_parser("bench", add_help=False, help="training speed beside the bare-loop limit (mmstudio bench --help)")
    return parser


def _train_parser(sub) -> None:
    from mmstudio.config import REGRESS_LOSSES
    from mmstudio.engine.components import DECODERS, ENCODERS, FUSIONS, TASKS  # registries, without torch

    p = sub.add_parser("train", help="train a model; writes run.toml, checkpoints and a bundle")
    p.add_argument("--data", help="dataset folder or manifest (overrides the config's)")
    p.add_argument("--config", help="a run.toml (or .json) to start from")
    for m in ("image", "text", "audio"):
        p.add_argument(
            f"--{m}", metavar="ENC", help=f"use the {m} modality with this encoder: {', '.join(ENCODERS[m].names())}"
        )
    p.add_argument("--fusion", help=f"how modalities meet: {', '.join(FUSIONS.names())}")
    p.add_argument(
        "--modalities",
        metavar="LIST",
        help="comma-separated modalities to use with their default encoders "
        "(e.g. image,text); default: every modality the dataset has",
    )
    p.add_argument(
        "--task", choices=list(TASKS), help="default: classify with labels, else align; or regress, generate"
    )
    p.add_argument("--loss", choices=REGRESS_LOSSES, help="regress: the loss (default mse)")
    p.add_argument("--decoder", help=f"generate: the text decoder: {', '.join(DECODERS.names())}")
    p.add_argument("--image-size", type=int, help="image side in pixels (default: from the images)")
    p.add_argument("--text-tokens", type=int, help="tokens kept per text (default: from the texts)")
    p.add_argument("--audio-seconds", type=float, help="clip duration (default: from the clips)")
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        help="random small shifts, turns and zooms of training images",
    )
    p.add_argument("--label-smoothing", type=float)
    p.add_argument(
        "--split", metavar="TRAIN,VAL,TEST", help="ratios for data without a split column (default 0.8,0.1,0.1)"
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int)
    p.add_argument("--max-steps", type=int, help="stop after this many steps (quick checks)")
    p.add_argument(
        "--val-split",
        help="the split used for validation, none, or auto (default: val when present, else 10%% of train held out)",
    )
    p.add_argument("--column", action="append", default=[], metavar="NAME=ROLE")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last")
    p.add_argument("--out", required=True, help="run folder (the bundle is OUT/bundle)")
    p.add_argument("--json", action="store_true", help="events as JSON lines")
    add_train_flags(p)


def _engine_parsers(sub) -> None:
    _train_parser(sub)
    p = sub.add_parser("eval", help="evaluate a bundle on a dataset split")
    p.add_argument("bundle")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", help="train, val, test or all")
    p.add_argument("--no-ablation", action="store_true", help="skip the ablation (generate: the baselines)")
    p.add_argument("--beam", type=int, default=1, help="generate: beam width (1: greedy)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "index",
        help="embed a dataset with a bundle into a searchable collection "
        "(resumable: run again to continue or to pick up new files)",
    )
    p.add_argument("bundle")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="all")
    p.add_argument("--out", help="write one index file instead (e.g. to ship with the bundle)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, help="DataLoader decoding workers (default: by size)")
    p.add_argument("--ann", choices=["ivf", "hnsw"], default="ivf", help="approximate index for large collections")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("query", help="rank an index against a text, image or audio query")
    p.add_argument("bundle")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--text")
    group.add_argument("--image", metavar="FILE")
    group.add_argument("--audio", metavar="FILE")
    group.add_argument("--like", type=int, metavar="INDEX", help="more like this: the items nearest a result's index")
    p.add_argument("--target", choices=["image", "audio", "text"])
    p.add_argument("--index", metavar="FILE", help="an index file written by index --out")
    p.add_argument(
        "--data", help="the collection indexed from this dataset (default: the last one indexed with this bundle)"
    )
    p.add_argument("--split", default="all", help="with --data: the split that was indexed")
    p.add_argument("--label", action="append", help="keep only items with this label (repeatable)")
    p.add_argument("--in-split", action="append", help="keep only items of this split")
    p.add_argument(
        "--has", action="append", choices=["image", "audio", "text"], help="keep only items with this modality"
    )
    p.add_argument(
        "--nprobe", type=int, help="approximate search effort: higher is slower and finds more of the exact top results"
    )
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "export",
        help="export a bundle to ONNX or torch.export (.pt2): a folder "
        "with the model, preprocess.json, tokenizer, predict.py, README",
    )
    p.add_argument("bundle")
    p.add_argument("--format", choices=["onnx", "pt2"], default="onnx")
    p.add_argument("--out", required=True, help="the package's folder")
    p.add_argument("--no-check", action="store_true", help="skip comparing outputs")
    p.add_argument("--quantize", choices=["int8"], help="onnx: int8 weights (onnxruntime dynamic quantisation)")
    p.add_argument("--json", action="store_true")


@command("inspect")
def _inspect(args: argparse.Namespace) -> int:
    return inspect_command(args)


@command("train")
def _train(args: argparse.Namespace) -> int:
    """Also the entry point of each process under ``torchrun`` (README, "Several GPUs")."""
    import os
    import signal

    from mmstudio import engine
    from mmstudio.data import open_dataset

    run = run_config_from_args(args)
    if report_problems(engine.check(run)):  # names and sizes: before the data is even scanned
        return 2
    dataset = open_dataset(run.dataset)  # finds the files and reads headers; decodes nothing
    run = task_for_data(args, run, dataset)
    if report_problems(engine.check(run, dataset)):
        return 2
    run = resolved_run(args, run, dataset)  # what was left to the data, chosen and printed
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

    def show(event) -> None:
        if args.json:
            print(json.dumps(event.as_dict()), flush=True)
        else:
            progress(event)
            _print_event(event)

    try:
        result = engine.drive(engine.train(run, args.out, control=control, resume=args.resume, dataset=dataset), show)
    finally:
        progress.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not args.json and int(os.environ.get("RANK", "0")) == 0:
        print(f"bundle: {result.bundle} ({result.reason}, {result.seconds:.1f} s)")
    return 0


#: The train option that sets each run field the rules name, so a problem says what to type.
def _print_event(event) -> None:
    from mmstudio import engine

    match event:
        case engine.RunStarted():
            print(
                f"training {', '.join(event.modalities)} on {event.device} ({event.precision}): "
                f"{event.train_items:,} train / {event.val_items:,} val items, "
                f"{event.parameters:,} parameters"
            )
        case engine.EpochDone():
            extra = " ".join(f"{k} {v:.4f}" for k, v in event.metrics.items())
            print(
                f"epoch {event.epoch}: loss {event.train_loss:.4f} {extra} "
                f"({event.seconds:.1f} s, {event.samples_per_s:.0f}/s){' *' if event.best else ''}",
                flush=True,
            )
        case engine.DataPrepared(done=done, total=total) if done == total:
            print(f"decoded {event.total:,} {event.modality} files in {event.seconds:.1f} s")


@command("eval")
def _eval(args: argparse.Namespace) -> int:
    from mmstudio import engine

    with progress_for(args) as progress:
        result = engine.evaluate(
            args.bundle, args.data, split=args.split, ablation=not args.no_ablation, on_event=progress, beam=args.beam
        )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['split']}: {result['items']:,} items")
    print_generation(result)  # generate's scores (nothing for the other tasks)
    for note in result.get("input_warnings", []):
        print(f"  note: {note}")
    for key in ("accuracy", "macro_f1"):
        if key in result:
            print(f"  {key}: {result[key]:.4f}")
    print_regress(result)
    for key, value in result.get("ablation", {}).items():
        print(f"  {key.replace('_', ' ')}: {'mae' if 'mae' in result else 'accuracy'} {value:.4f}")
    for direction, r in result.get("retrieval", {}).items():
        for kind in ("exact", "label"):
            if kind in r:
                print(
                    f"  {direction} ({kind}): "
                    + ", ".join(f"{k} {v:.4f}" for k, v in r[kind].items() if not k.startswith("random"))
                )
    return 0


@command("index")
def _index(args: argparse.Namespace) -> int:
    from mmstudio.cli_search import index_command

    return index_command(args)


@command("query")
def _query(args: argparse.Namespace) -> int:
    from mmstudio.cli_search import query_command

    return query_command(args)


@command("export")
def _export(args: argparse.Namespace) -> int:
    from mmstudio import engine

    info = engine.export(args.bundle, args.format, args.out, not args.no_check, quantize=args.quantize)
    print(json.dumps(info, indent=2) if args.json else f"exported {info['package']}: {', '.join(info['files'])}")
    return 0


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
    p.add_argument("--beam", type=int, default=1, help="generate: beam width; alternatives written beside the text")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


@command("predict")
def _predict(args: argparse.Namespace) -> int:
    from mmstudio import engine

    engine.prediction_format(args.out)  # a wrong file name fails before any decoding
    with progress_for(args) as progress:
        result = engine.predict_dataset(
            args.bundle,
            args.data,
            split=args.split,
            top=args.top,
            batch_size=args.batch_size,
            device=args.device,
            on_event=progress,
            beam=args.beam,
        )
    path = engine.write_predictions(result["rows"], args.out)
    summary = {
        "predictions": path,
        "items": result["items"],
        "labelled": result["labelled"],
        **{k: result[k] for k in ("accuracy", "regression") if k in result},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{result['items']:,} predictions: {path}")
    if "accuracy" in summary:
        print(f"  accuracy: {summary['accuracy']:.4f} over {result['labelled']:,} labelled items")
    print_regress(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

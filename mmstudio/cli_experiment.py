"""``mmstudio experiment grid|search|show``: an experiment headless (:mod:`mmstudio.engine`).

``grid`` trains each modality alone and every chosen fusion, per seed; ``search`` runs an Optuna
search from the automatic settings. Both write into ``--out``; running the same command again
on that folder resumes it (the saved plan wins over the flags). Ctrl+C stops the run in flight
at its next step, keeping its checkpoint. The ranked table and the gain with its confidence
interval are printed at the end (``show`` prints them for a folder at any time).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys

from mmstudio.cli_run import report_problems, run_config_from_args

#: train flags an experiment takes for its shared starting point (same meaning as in train)
_RUN_FLAGS = (
    ("--config", {"help": "a run.toml to start from"}),
    ("--image", {"metavar": "ENC", "help": "image encoder"}),
    ("--text", {"metavar": "ENC", "help": "text encoder"}),
    ("--audio", {"metavar": "ENC", "help": "audio encoder"}),
    ("--modalities", {"metavar": "LIST", "help": "comma-separated modalities (default: every one the data has)"}),
    ("--image-size", {"type": int}),
    ("--text-tokens", {"type": int}),
    ("--audio-seconds", {"type": float}),
    ("--label-smoothing", {"type": float}),
    ("--split", {"metavar": "TRAIN,VAL,TEST", "help": "ratios for data without a split column"}),
    ("--epochs", {"type": int}),
    ("--batch-size", {"type": int}),
    ("--lr", {"type": float}),
    ("--device", {"help": "auto, cpu or cuda"}),
    ("--max-steps", {"type": int}),
    ("--val-split", {"help": "the validation split, none, or auto"}),
)


def add_parser(sub) -> None:
    p = sub.add_parser("experiment", help="a fusion grid or a hyperparameter search (resumable)")
    kinds = p.add_subparsers(dest="kind", required=True)
    grid = kinds.add_parser("grid", help="each modality alone, then every fusion, per seed")
    grid.add_argument("--fusions", default="all", help="comma-separated fusions, or all (default)")
    grid.add_argument("--seeds", default="0", help="comma-separated training seeds (default 0)")
    grid.add_argument("--gpus", type=int, default=0, help="train one run per GPU at once (N GPUs)")
    grid.add_argument("--torchrun", action="store_true", help="train each run on every GPU through torchrun")
    grid.add_argument(
        "--parallel",
        type=int,
        default=0,
        metavar="N",
        help="train N runs at once, each in its own process (this time only)",
    )
    search = kinds.add_parser("search", help="an Optuna search starting from the automatic settings")
    search.add_argument("--trials", type=int, default=20)
    search.add_argument("--timeout", type=float, default=0.0, help="minutes of training in all (0: no limit)")
    search.add_argument("--params", help="comma-separated parameters to search (default: all)")
    search.add_argument("--seed", type=int, help="training seed of every trial")
    for p in (grid, search):
        p.add_argument("--data", help="dataset folder or manifest")
        p.add_argument("--out", required=True, help="the experiment's folder (run again to resume)")
        p.add_argument("--name", default="", help="a title for the runs list")
        p.add_argument("--column", action="append", default=[], metavar="NAME=ROLE")
        for flag, kw in _RUN_FLAGS:
            p.add_argument(flag, **kw)
        _common(p)
    show = kinds.add_parser("show", help="print an experiment's table and gain")
    show.add_argument("out")
    _common(show)


def _common(p) -> None:
    p.add_argument("--table", metavar="FILE", help="also write the table as CSV (.csv) or Markdown (.md)")
    p.add_argument("--json", action="store_true", help="events as JSON lines, then the results")


def experiment_command(args: argparse.Namespace) -> int:
    from mmstudio import engine

    folder = args.out
    if args.kind != "show":
        if engine.is_experiment(folder):
            plan = engine.load_plan(folder)
            _say(args, f"resuming {folder}: {len(engine.finished_names(folder))} runs done")
        else:
            plan = _new_plan(args)
            if plan is None:
                return 2
            engine.save_plan(folder, plan)
        _run(args, folder)
    results = engine.experiment_results(folder)
    _print_results(args, results)
    return 0


def _new_plan(args: argparse.Namespace):
    from mmstudio import engine
    from mmstudio.data import open_dataset

    args.fusion = args.task = args.augment = None
    args.seed = getattr(args, "seed", None)
    run = run_config_from_args(args)
    if report_problems(engine.check(run)):
        return None
    dataset = open_dataset(run.dataset)
    mods = tuple(run.model.modalities) or tuple(dataset.modalities)
    if args.kind == "search":
        params = tuple(p.strip() for p in args.params.split(",")) if args.params else tuple(engine.SEARCHABLE)
        run = run.replace(model=run.model.replace(modalities=mods))
        return engine.search_plan(run, args.trials, args.timeout * 60, params=params, name=args.name)
    fusions = [n for n, _ in engine.fusion_names()] if args.fusions == "all" else args.fusions.split(",")
    seeds = tuple(int(s) for s in args.seeds.split(","))
    plan = engine.grid_plan(run, mods, tuple(f.strip() for f in fusions), seeds, name=args.name)
    plan = dataclasses.replace(plan, gpus=args.gpus, torchrun=args.torchrun)
    for planned in engine.grid_runs(plan):  # every rule, for every run, before anything trains
        if report_problems(engine.check(planned.run, dataset)):
            return None
    return plan


def _run(args: argparse.Namespace, folder: str) -> None:
    from mmstudio import engine

    control = engine.Control()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop(sig, _frame) -> None:
        """Ctrl+C: the run in flight stops at its next step and keeps its checkpoint."""
        control.stop()
        signal.signal(sig, previous[sig])

    for sig in previous:
        signal.signal(sig, stop)
    try:
        slots = [""] * args.parallel if getattr(args, "parallel", 0) > 1 else None
        engine.drive(engine.run_experiment(folder, control, slots=slots), lambda e: _show(args, e))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _show(args: argparse.Namespace, event) -> None:
    from mmstudio import engine

    if args.json:
        print(json.dumps(event.as_dict()), flush=True)
        return
    match event:
        case engine.ExperimentProgress():
            value = f" {event.value:.4f}" if event.value is not None else ""
            note = f" ({event.message})" if event.message else ""
            print(f"[{event.index}/{event.total}] {event.name}: {event.state}{value}{note}", flush=True)
        case engine.EpochDone():
            extra = " ".join(f"{k} {v:.4f}" for k, v in event.metrics.items())
            print(f"    epoch {event.epoch}: loss {event.train_loss:.4f} {extra} ({event.seconds:.1f} s)", flush=True)


def _print_results(args: argparse.Namespace, results: dict) -> None:
    from mmstudio import engine

    table, gain = results["table"], results["gain"]
    if args.table:
        _say(args, f"table: {engine.export_table(table, args.table)}", sys.stderr)
    if args.json:
        print(json.dumps({"table": [r.__dict__ for r in table], "gain": gain.__dict__ if gain else None}, indent=1))
        return
    print(engine.table_markdown(table), end="")
    print(engine.gain_sentence(gain))


def _say(args: argparse.Namespace, text: str, stream=None) -> None:
    if not args.json or stream is sys.stderr:
        print(text, file=stream or sys.stdout, flush=True)

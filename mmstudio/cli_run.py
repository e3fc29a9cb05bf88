"""The run ``mmstudio train`` builds from its options: a run.toml (if any) with the flags on
top, every setting left to the data chosen from it (and printed), and the rules' problems
printed with the flag that sets each field."""

from __future__ import annotations

import argparse
import sys


def pair(text: str) -> tuple[str, str]:
    """``NAME=ROLE`` -> (name, role)."""
    name, sep, role = text.partition("=")
    if not sep:
        raise ValueError(f"--column expects NAME=ROLE, got {text!r}")
    return name, role


def run_config_from_args(args: argparse.Namespace):
    """A :class:`RunConfig` from ``--config`` (if any) with the command-line options on top."""
    from mmstudio.cli_weights import pretrained_model_flags
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

    run = RunConfig.load(args.config) if args.config else None
    if run is None and not args.data:
        raise ValueError("give --data PATH or --config run.toml")
    dataset = run.dataset if run else DatasetSpec(args.data)
    if args.data:
        dataset = dataset.replace(path=args.data)
    if args.column:
        dataset = dataset.replace(columns={**dataset.columns, **dict(pair(c) for c in args.column)})
    if args.split:
        dataset = dataset.replace(split=_split_spec(args.split, dataset.split.seed))
    model = run.model if run else ModelSpec()
    if args.modalities:
        model = model.replace(modalities=tuple(m.strip() for m in args.modalities.split(",") if m.strip()))
    model = _model_flags(model, args)
    chosen = [m for m in ("image", "text", "audio") if getattr(args, m)]
    if chosen:
        subs = {
            m: getattr(model, m).__class__(**{**vars(getattr(model, m)), "encoder": getattr(args, m)}) for m in chosen
        }
        model = model.replace(modalities=tuple(chosen), **subs)
    model = pretrained_model_flags(model, args)
    if args.fusion:
        model = model.replace(fusion=args.fusion)
    if args.task:
        model = model.replace(task=args.task)
    if getattr(args, "loss", None):
        model = model.replace(regress_loss=args.loss)
    if getattr(args, "decoder", None):
        model = model.replace(decoder=args.decoder)
    train = run.train if run else TrainSpec()
    changes = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("lr", args.lr),
            ("device", args.device),
            ("seed", args.seed),
            ("max_steps", args.max_steps),
            ("val_split", args.val_split),
        )
        if v is not None
    }
    return RunConfig(dataset, model, train.replace(**changes), run.name if run else "")


def _model_flags(model, args: argparse.Namespace):
    """The per-modality and head options given on the command line, on top of ``model``."""
    import dataclasses

    subs = {
        "image": {"size": args.image_size, "augment": args.augment},
        "text": {"max_tokens": args.text_tokens},
        "audio": {"seconds": args.audio_seconds},
    }
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
    column = dataset.label_candidate()
    if column:
        return (
            f"{dataset.spec.path}: classify needs labels and no column is named like a "
            f"label; column {column!r} looks like one: add --column {column}=label "
            "(or train --task align)"
        )
    return (
        f"{dataset.spec.path}: classify needs labels (at least 2 classes); name the label "
        "column with --column NAME=label, or train --task align"
    )


def task_for_data(args: argparse.Namespace, run, dataset):
    """``run``, training ``align`` on data without labels unless a task was asked for; asking
    to classify such data names the column that looks like labels."""
    if run.model.task == "classify" and not args.task and not args.config and _only_targets(dataset):
        return run.replace(model=run.model.replace(task="regress"))  # numbers, no labels: predict them
    if len(dataset.class_names) < 2 and "classify" in run.model.task:
        if not args.task and not args.config and len(dataset.modalities) > 1:
            return run.replace(model=run.model.replace(task="align"))  # no labels: learn the pairing
        raise ValueError(_no_labels(dataset))
    return run


def _only_targets(dataset) -> bool:
    return len(dataset.class_names) < 2 and any(it.target is not None for it in dataset.items)


def resolved_run(args: argparse.Namespace, run, dataset):
    """``run`` with its settings chosen from ``dataset``, printed unless ``--json``."""
    from mmstudio import engine
    from mmstudio.engine.devices import pick_device

    device = pick_device(run.train.device).type
    run, chosen = engine.resolve_settings(run, dataset, device, pick_encoder=not (args.image or args.config))
    if chosen and not args.json:  # --json streams events only; run.toml keeps the values
        print("chosen from the data (override with flags or --config):")
        for c in chosen:
            print(f"  {c.field} = {c.value}: {c.reason}")
    return run


FLAGS = {
    "dataset.path": "--data",
    "model.modalities": "--image/--text/--audio",
    "model.image.encoder": "--image",
    "model.image.weights": "--pretrained/--weights",
    "model.image.options": "--tune",
    "model.text.options": "--text-vectors",
    "model.text.encoder": "--text",
    "model.audio.encoder": "--audio",
    "model.fusion": "--fusion",
    "model.task": "--task",
    "model.regress_loss": "--loss",
    "model.decoder": "--decoder",
    "train.epochs": "--epochs",
    "train.batch_size": "--batch-size",
    "train.lr": "--lr",
    "train.device": "--device",
    "train.seed": "--seed",
    "train.max_steps": "--max-steps",
    "train.val_split": "--val-split",
}


def report_problems(problems: list) -> bool:
    """Print each problem of a run (with the option that sets it) to stderr; True if any."""
    for p in problems:
        flag = f" ({FLAGS[p.field]})" if p.field in FLAGS else ""
        print(f"mmstudio train: error: {p.field}{flag}: {p.message}", file=sys.stderr)
    return bool(problems)


def print_generation(result: dict) -> None:
    """``eval``'s lines for a generating bundle: its scores, then each baseline's (none for
    another task's result)."""
    if "generation" not in result:
        return
    keys = ("cer", "wer", "exact", "bleu", "bleu2", "cider_d")

    def line(scores: dict) -> str:
        return ", ".join(f"{k} {scores[k]:.4f}" for k in keys if k in scores)

    print(f"  generated (beam {result.get('beam', 1)}): {line(result['generation'])}")
    for name, scores in result.get("baselines", {}).items():
        print(f"  baseline {name.replace('_', ' ')}: {line(scores)}")

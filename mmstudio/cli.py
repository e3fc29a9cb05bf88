"""The engine headless: ``mmstudio inspect|train|eval|index|query|export|bench``.

Every command prints human-readable text, or one JSON document with ``--json`` (training
streams its events as JSON lines). Errors go to stderr with exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

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
    return parser


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


def _pair(text: str) -> tuple[str, str]:
    name, sep, role = text.partition("=")
    if not sep:
        raise ValueError(f"--column expects NAME=ROLE, got {text!r}")
    return name, role


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"mmstudio {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""``mmstudio compress``: a smaller copy of a bundle (int8 or pruned), and the regress task's
lines in ``eval``/``predict`` output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any


def add_compress_parsers(sub, commands: dict[str, Callable[[argparse.Namespace], int]]) -> None:
    p = sub.add_parser(
        "compress",
        help="write a smaller copy of a bundle: int8 (dynamic, or static where the encoders allow) or pruned",
    )
    p.add_argument("bundle")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--int8", action="store_true", help="dynamic int8 Linear/LSTM/GRU (int8 weights on disk)")
    kind.add_argument(
        "--static-int8", action="store_true", help="also int8 conv encoders, calibrated on training items"
    )
    kind.add_argument("--prune", type=float, metavar="SPARSITY", help="share of weights set to zero, e.g. 0.5")
    p.add_argument("--finetune", type=int, default=0, metavar="STEPS", help="after --prune: fine-tune this many steps")
    p.add_argument("--data", help="training data for calibration or fine-tuning (default: the bundle's own)")
    p.add_argument("--out", required=True, help="the new bundle's folder")
    p.add_argument("--json", action="store_true")
    commands["compress"] = compress_command


def compress_command(args: argparse.Namespace) -> int:
    from mmstudio.engine.compress import compress

    method = "prune" if args.prune is not None else ("static_int8" if args.static_int8 else "dynamic_int8")
    if args.finetune and method != "prune":
        raise ValueError("--finetune goes with --prune")
    info = compress(args.bundle, method, args.out, sparsity=args.prune or 0.5, finetune=args.finetune, data=args.data)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{method}: {info['bundle']} ({info['bytes']:,} bytes on disk)")
    for modality, note in info.get("notes", {}).items():
        print(f"  {modality}: {note}")
    if method == "prune":
        print(f"  zero weights: {info['achieved']:.1%} of the Linear and convolution weights")
    return 0


def print_regress(result: dict[str, Any]) -> None:
    for line in regress_lines(result):
        print(line)


def regress_lines(result: dict[str, Any]) -> list[str]:
    """``eval``/``predict`` text lines for a regress result (empty for other tasks)."""
    r = result.get("regression") or (result if "mae" in result and "baseline" in result else None)
    if not r or "mae" not in r:
        return []
    b = r["baseline"]
    return [f"  {k}: {r[k]:.4f} (mean baseline {b[k]:.4f})" for k in ("mae", "rmse", "r2")] + [
        f"  items with a target: {r['items']:,}"
    ]

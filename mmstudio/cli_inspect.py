"""``mmstudio inspect``: what a dataset holds and what is wrong with it, without torch."""

from __future__ import annotations

import argparse
import json

from mmstudio.cli_run import pair


def inspect_command(args: argparse.Namespace) -> int:
    """Scan a dataset; print its layout, counts, labels, splits and every problem."""
    from mmstudio.config import DatasetSpec
    from mmstudio.data import open_dataset

    columns = dict(pair(c) for c in args.column)
    extra = {"label_pattern": args.label_pattern} if args.label_pattern else {}
    ds = open_dataset(DatasetSpec(path=args.path, layout=args.layout, columns=columns, **extra))
    summary = ds.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['path']}: {summary['layout']}, {summary['items']:,} items")
    print("  modalities: " + ", ".join(f"{m} {n:,}" for m, n in summary["counts"].items() if n))
    if summary["labels"]:
        print(
            f"  labels ({len(summary['labels'])}): "
            + ", ".join(f"{k} {v}" for k, v in list(summary["labels"].items())[:20])
        )
    print("  splits: " + ", ".join(f"{k} {v:,}" for k, v in summary["splits"].items()))
    print(f"  problems: {len(summary['problems'])}")
    for p in summary["problems"]:
        print(f"    {p['severity']}: {p['path']}" + (f" (row {p['row']})" if "row" in p else "") + f": {p['reason']}")
    return 0

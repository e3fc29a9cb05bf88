"""An experiment's results: the ranked table, the gain with a paired bootstrap interval, exports.

Read from ``scores/NAME.json`` (one per finished run, written by :mod:`.experiments`): the test
accuracy, the run's training time and size, and which test items it got right. No torch: the
window shows a table without importing it.

The gain of the best fusion over the best single modality is measured on the same test items:
each item's correctness (averaged over the seeds both have) is paired, and the items are
resampled with replacement (a paired bootstrap, Efron & Tibshirani 1993, ch. 13) to give a
percentile confidence interval for the difference in accuracy.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mmstudio.engine.experiment_plan import finished_names, load_plan, scores_path
from mmstudio.errors import LoadError
from mmstudio.fileio import atomic_write_text
from mmstudio.schema import Int, List, Map, Num, Str, check, read_json

SCORES = Map(
    {
        "name": Str(max_len=300),
        "config": Str(max_len=300),
        "seed": Int(0, 2**32 - 1),
        "accuracy": Num(0, 1),
        "val": Num(finite=False),
        "ids": List(Str(max_len=4096), max_len=10**7),
        "correct": List(Int(0, 1), max_len=10**7),
        "parameters": Int(0, 10**12),
        "train_seconds": Num(0, 1e9),
        "epochs": Int(0, 10**9),
        "bundle": Str(max_len=4096),
    },
    required=("name", "config", "accuracy", "ids", "correct"),
)


@dataclass(frozen=True)
class Row:
    """One line of the ranked table: a configuration over its seeds (a search: one trial)."""

    rank: int
    config: str
    modalities: str
    fusion: str
    seeds: int
    accuracy: float  # mean test accuracy over the seeds
    spread: float  # sample standard deviation over the seeds (0 with one seed)
    val: float | None  # mean best validation score
    train_seconds: float  # mean
    parameters: int
    bundle: str  # the best seed's bundle: "Use this one" opens it
    params: str = ""  # a search trial's hyperparameters
    state: str = ""  # a search trial's end: complete or pruned


@dataclass(frozen=True)
class Gain:
    """``better`` minus ``baseline`` test accuracy on the same items, with its interval."""

    better: str
    baseline: str
    difference: float
    low: float
    high: float
    items: int
    seeds: int
    level: float = 0.95


def read_scores(folder: str) -> list[dict[str, Any]]:
    """Every finished run's scores; a damaged file is skipped (its run trains again on resume)."""
    out = []
    for name in finished_names(folder):
        path = scores_path(folder, name)
        try:
            out.append(check(read_json(path, 256 << 20), SCORES, path))
        except LoadError:
            continue
    return out


def write_scores(folder: str, scores: dict[str, Any]) -> str:
    path = scores_path(folder, scores["name"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write_text(path, json.dumps(scores))
    return path


def ranked_table(scores: list[dict[str, Any]], by: str = "accuracy") -> list[Row]:
    """One row per configuration, best first by mean ``by`` (``accuracy`` on test, or ``val``)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in scores:
        groups.setdefault(s["config"], []).append(s)
    rows = [_row(config, runs) for config, runs in groups.items()]
    key = (lambda r: (r.val if r.val is not None else -math.inf, r.accuracy)) if by == "val" else (lambda r: r.accuracy)
    rows.sort(key=key, reverse=True)
    return [replace(r, rank=i + 1) for i, r in enumerate(rows)]


def _row(config: str, runs: list[dict[str, Any]]) -> Row:
    acc = np.array([r["accuracy"] for r in runs], dtype=float)
    vals = [r["val"] for r in runs if isinstance(r.get("val"), (int, float))]
    best = runs[int(acc.argmax())]
    mods, _, fusion = config.partition("-")
    return Row(
        0,
        config,
        best.get("modalities", mods),
        best.get("fusion", fusion if "+" in mods else "-"),
        len(runs),
        round(float(acc.mean()), 6),
        round(float(acc.std(ddof=1)) if len(acc) > 1 else 0.0, 6),
        round(float(np.mean(vals)), 6) if vals else None,
        round(float(np.mean([r.get("train_seconds", 0.0) for r in runs])), 1),
        int(best.get("parameters", 0)),
        best.get("bundle", ""),
        best.get("params", ""),
        best.get("state", ""),
    )


def paired_bootstrap(
    better: np.ndarray, baseline: np.ndarray, resamples: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``better - baseline`` (per-item scores of two models on the same items) and its
    percentile bootstrap interval at ``level``, resampling items with replacement."""
    a, b = np.asarray(better, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError("paired bootstrap: give two equal-length, non-empty per-item score lists")
    diff = a - b
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 1000):  # in chunks: 1000 x items indices at a time
        n = min(1000, resamples - start)
        means[start : start + n] = diff[rng.integers(0, diff.size, (n, diff.size))].mean(1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(diff.mean()), float(low), float(high)


def gain(scores: list[dict[str, Any]], better: str, baseline: str, **kw: Any) -> Gain | None:
    """The paired gain of configuration ``better`` over ``baseline`` on their common test items,
    each item's correctness averaged over the seeds both ran (None when they share none)."""
    a, b = _by_seed(scores, better), _by_seed(scores, baseline)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    ids = set.intersection(*(set(a[s]) for s in seeds), *(set(b[s]) for s in seeds))
    order = sorted(ids)
    if not order:
        return None
    ca = np.mean([[a[s][i] for i in order] for s in seeds], axis=0)
    cb = np.mean([[b[s][i] for i in order] for s in seeds], axis=0)
    diff, low, high = paired_bootstrap(ca, cb, **kw)
    return Gain(better, baseline, round(diff, 6), round(low, 6), round(high, 6), len(order), len(seeds))


def fusion_gain(scores: list[dict[str, Any]], table: list[Row] | None = None) -> Gain | None:
    """The best fusion over the best single modality (a grid's headline)."""
    table = table if table is not None else ranked_table(scores)
    fused = [r for r in table if "+" in r.modalities]
    single = [r for r in table if "+" not in r.modalities]
    if not fused or not single:
        return None
    return gain(scores, fused[0].config, single[0].config)


def _by_seed(scores: list[dict[str, Any]], config: str) -> dict[int, dict[str, int]]:
    return {int(s.get("seed", 0)): dict(zip(s["ids"], s["correct"])) for s in scores if s["config"] == config}


def experiment_results(folder: str) -> dict[str, Any]:
    """What the experiment view and the CLI show: the plan's kind, the ranked table, the gain."""
    plan = load_plan(folder)
    scores = read_scores(folder)
    table = ranked_table(scores, by="val" if plan.kind == "search" else "accuracy")
    if plan.kind == "grid":
        g = fusion_gain(scores, table)
    else:  # a search: the best trial (by validation) against trial 0, the automatic settings
        g = gain(scores, table[0].config, "trial-000") if table and table[0].config != "trial-000" else None
    return {"kind": plan.kind, "table": table, "gain": g, "runs": len(scores)}


EXPERIMENT_COLUMNS = ("rank", "configuration", "test accuracy", "± sd", "seeds", "val", "train s", "parameters")
SEARCH_COLUMNS = ("rank", "trial", "state", "val accuracy", "test accuracy", "train s", "parameters", "settings")


def table_columns(table: list[Row]) -> tuple[str, ...]:
    """The column titles of ``table``: a search's trials, or a grid's configurations."""
    return SEARCH_COLUMNS if table and table[0].state else EXPERIMENT_COLUMNS


def table_records(table: list[Row]) -> list[list[str]]:
    """The table as text cells in :func:`table_columns` order (CSV, Markdown, the CLI)."""
    out = []
    for r in table:
        val = f"{r.val:.4f}" if r.val is not None else ""
        if r.state:
            cells = [r.config, r.state, val, f"{r.accuracy:.4f}", f"{r.train_seconds:.0f}", f"{r.parameters:,}"]
            out.append([str(r.rank), *cells, r.params])
            continue
        name = r.config
        out.append(
            [
                str(r.rank),
                name,
                f"{r.accuracy:.4f}",
                f"{r.spread:.4f}",
                str(r.seeds),
                val,
                f"{r.train_seconds:.0f}",
                f"{r.parameters:,}",
            ]
        )
    return out


def table_csv(table: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table_columns(table))
    writer.writerows(table_records(table))
    return buf.getvalue()


def table_markdown(table: list[Row]) -> str:
    columns = table_columns(table)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_records(table)]
    return "\n".join(lines) + "\n"


def gain_sentence(g: Gain | None) -> str:
    """``concat over image: +0.0150 (95% CI +0.0080 to +0.0220, 2,000 test items, 3 seeds)``."""
    if g is None:
        return "no gain to show yet: it needs a finished fusion and a finished single modality"
    return (
        f"{g.better} over {g.baseline}: {g.difference:+.4f} "
        f"({g.level:.0%} CI {g.low:+.4f} to {g.high:+.4f}, {g.items:,} test items, "
        f"{g.seeds} seed{'s' if g.seeds != 1 else ''}, paired bootstrap)"
    )


def export_table(table: list[Row], path: str) -> str:
    """Write the table as CSV (``.csv``) or Markdown (``.md``) in one atomic replace."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".md", ".markdown"):
        raise ValueError(f"{path}: give a .csv or .md file name for the table")
    atomic_write_text(path, table_csv(table) if ext == ".csv" else table_markdown(table))
    return os.path.abspath(path)

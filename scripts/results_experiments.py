"""Rewrite docs/results.md's experiment sections from experiment folders (the rest is kept).

The digits fusion table comes from a fusion grid made with ``mmstudio experiment grid`` (each
single modality and every fusion trained separately, 3 seeds); the clipart section from a
search made with ``mmstudio experiment search``. Making them (hours on a 2-core CPU)::

    mmstudio experiment grid --config digits.toml --out GRID --modalities image,audio \\
        --fusions all --seeds 0,1,2 --parallel 3
    mmstudio experiment search --config clipart.toml --out SEARCH --trials 20

(``--print-configs`` prints the two run.toml files used), then::

    python scripts/results_experiments.py --grid GRID --search SEARCH

Only the sections named in :data:`SECTIONS` are replaced; other sections (the defaults against
baselines table, the retrieval table) are left as they are.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from mmstudio.engine.experiment_plan import load_plan  # noqa: E402
from mmstudio.engine.experiment_tables import (  # noqa: E402
    experiment_results,
    gain,
    read_scores,
    table_markdown,
)

GRID_TITLE = "## Fusions on digits (AV-MNIST-style)"
SEARCH_TITLE = "## Hyperparameter search: clipart text->category"
SECTIONS = (GRID_TITLE, SEARCH_TITLE)

DIGITS_TOML = """[dataset]
path = "../shared/datasets/digits/pairs.csv"

[model]
dim = 64

[model.image]
size = 28
options = { width = 16 }

[model.audio]
sample_rate = 8000
seconds = 1.0
n_mels = 32
hop_ms = 25.0
options = { width = 16 }

[train]
epochs = 2
batch_size = 64
lr = 0.003
weight_decay = 0.0001
val_split = "none"
device = "cpu"
num_threads = 1
"""

CLIPART_TOML = """[dataset]
path = "../shared/datasets/clipart/captions.csv"

[model]
modalities = ["text"]

[train]
device = "cpu"
num_threads = 1
"""


def grid_section(folder: str, note: str = "") -> str:
    plan = load_plan(folder)
    results = experiment_results(folder)
    scores = read_scores(folder)
    table = results["table"]
    singles = [r for r in table if "+" not in r.modalities]
    lines = [
        GRID_TITLE,
        "",
        f"Made by `mmstudio experiment grid` and `python scripts/results_experiments.py`; "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, 2 CPU cores shared with other work. "
        f"Each single modality and each of the {len(plan.fusions)} fusions is a separately trained model; "
        f"every configuration is trained with seeds {', '.join(map(str, plan.seeds))} on the same data "
        "and split (8,000 train / 2,000 test pairs; the test audio takes 0-4 are never trained on). "
        "Small and fast on purpose: 2 epochs, batch 64, AdamW lr 3e-3 with warm-up and cosine, "
        "weight decay 1e-4, no validation split; `cnn` on 28x28 grey images and `mel_cnn` on 8 kHz, "
        "1 s, 32 log-mel bands every 25 ms, both of width 16; feature size 64; one torch thread per "
        "run, several runs at once (`--parallel N`). Test accuracy is the mean over the seeds ± their "
        "standard deviation. The last column is each model's gain over the best single modality on "
        "the same 2,000 test items (each item's correctness averaged over the seeds), with a 95% "
        "paired bootstrap interval (10,000 resamples of the items). Training seconds are the mean "
        f"per seed and vary with the load of the shared machine. {note}".rstrip(),
        "",
    ]
    lines += _with_gain_column(table_markdown(table), table, scores, singles[0].config if singles else "")
    g = results["gain"]
    if g is not None:
        verdict = "an interval above zero: fusing helps" if g.low > 0 else "an interval that includes zero"
        lines += [
            "",
            f"Best fusion **{g.better}** against the best single modality **{g.baseline}**: "
            f"{g.difference:+.4f} (95% CI {g.low:+.4f} to {g.high:+.4f}), {verdict}.",
        ]
    return "\n".join(lines) + "\n"


def _with_gain_column(markdown: str, table, scores, baseline: str) -> list[str]:
    rows = markdown.rstrip("\n").split("\n")
    out = [rows[0][:-1] + "| gain over best single (95% CI) |", rows[1] + "---|"]
    for line, row in zip(rows[2:], table):
        cell = ""
        if baseline and row.config != baseline:
            g = gain(scores, row.config, baseline)
            cell = f"{g.difference:+.4f} ({g.low:+.4f} to {g.high:+.4f})" if g else ""
        out.append(line + f" {cell} |")
    return out


def search_section(folder: str, note: str) -> str:
    plan = load_plan(folder)
    results = experiment_results(folder)
    table = results["table"]
    default = next((r for r in table if r.config == "trial-000"), None)
    best = table[0] if table else None
    lines = [
        SEARCH_TITLE,
        "",
        f"Made by `mmstudio experiment search --trials {plan.trials}` (Optuna TPE sampler, median "
        "pruner on each epoch's validation accuracy, SQLite storage in the experiment folder) on "
        "the shared clipart captions (each drawing's title -> its library category, text only, "
        "the columns and the 80/10/10 split the data layer chooses). Trial 0 is MMStudio's automatic settings; the "
        "others vary the learning rate, batch size, weight decay, dropout, feature size and label "
        "smoothing around them. Ranked by validation accuracy (what the search maximises); test "
        "accuracy is shown beside it. Pruned trials stopped early and are ranked by their best "
        f"validation score so far. {note}",
        "",
        table_markdown(table).rstrip("\n"),
        "",
    ]
    if best is not None and default is not None:
        lines.append(
            f"Best trial **{best.config}** ({best.params}): validation {best.val:.4f}, test "
            f"{best.accuracy:.4f}; the automatic settings (trial-000): validation {default.val:.4f}, "
            f"test {default.accuracy:.4f}."
        )
        if results["gain"] is not None:
            g = results["gain"]
            lines.append(
                f"On the test split the best trial's gain over the defaults is {g.difference:+.4f} "
                f"(95% paired bootstrap CI {g.low:+.4f} to {g.high:+.4f}, {g.items:,} items)"
                + (
                    ": the interval includes zero, so on the test split the two cannot be told apart."
                    if g.low <= 0 <= g.high
                    else "."
                )
            )
    return "\n".join(lines) + "\n"


def replace_section(doc: str, title: str, body: str) -> str:
    """``doc`` with the section headed ``title`` replaced by ``body`` (appended when absent)."""
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        return pattern.sub(lambda _m: body + "\n", doc, count=1)
    return doc.rstrip("\n") + "\n\n" + body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", help="a finished digits fusion grid folder")
    parser.add_argument("--search", help="a clipart search folder")
    parser.add_argument("--search-note", default="", help="a sentence about how the search ran")
    parser.add_argument("--grid-note", default="", help="a sentence about how the grid ran")
    parser.add_argument("--doc", default=os.path.join(os.path.dirname(HERE), "docs", "results.md"))
    parser.add_argument("--print-configs", action="store_true", help="print the two run.toml files used")
    args = parser.parse_args()
    if args.print_configs:
        print("# digits.toml\n" + DIGITS_TOML + "\n# clipart.toml\n" + CLIPART_TOML)
        return 0
    with open(args.doc, encoding="utf-8") as fh:
        doc = fh.read()
    if args.grid:
        doc = replace_section(doc, GRID_TITLE, grid_section(args.grid, args.grid_note))
    if args.search:
        doc = replace_section(doc, SEARCH_TITLE, search_section(args.search, args.search_note))
    with open(args.doc, "w", encoding="utf-8") as fh:
        fh.write(doc)
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Numeric targets: the ``target`` column role (a number to predict, the ``regress`` task).

A target is parsed once here (``nan``/``inf`` refused), and a
manifest whose columns include one that holds numbers with many distinct values gets a note
offering it as "predict this number", the way :func:`mmstudio.data.manifest.label_note` offers
a label column. No torch here.
"""

from __future__ import annotations

import math
import re

from mmstudio.data.items import Problem
from mmstudio.data.manifest import SAMPLE_ROWS, Manifest

#: Distinct values a numeric column needs, among the rows sampled, to look like a quantity
#: rather than class numbers (digits 0-9 are classes).
MIN_DISTINCT = 20
_NOTE = re.compile(r"column '([^']+)' holds numbers")


def parse_target(value: str | None) -> tuple[float | None, str]:
    """(the number, "") or (None, why not): ``None``/empty is no target, not a problem."""
    if value is None or not value.strip():
        return None, ""
    try:
        number = float(value.strip())
    except ValueError:
        return None, f"target {value[:40]!r} is not a number"
    if not math.isfinite(number):
        return None, f"target {value[:40]!r} is not a finite number"
    return number, ""


def numeric_column(values: list[str]) -> bool:
    """Every value a finite number, with many distinct values (a quantity, not class numbers)."""
    numbers = [parse_target(v)[0] for v in values if v.strip()]
    if not numbers or any(n is None for n in numbers):
        return False
    return len(set(numbers)) >= min(MIN_DISTINCT, max(3, len(numbers) // 2))


def target_note(manifest: Manifest, roles: dict[str, str]) -> Problem | None:
    """When no column is the target, a note naming a numeric column to predict, if one fits."""
    if "target" in roles.values():
        return None
    step = max(1, len(manifest.rows) // SAMPLE_ROWS)
    sample = manifest.rows[::step][:SAMPLE_ROWS]
    for col in manifest.columns:
        if roles.get(col) not in ("ignore", "label"):
            continue
        if numeric_column([r.get(col, "") for _, r in sample]):
            return Problem(
                manifest.path,
                f"column '{col}' holds numbers: to predict this number (task regress), give it the role 'target'",
                severity="warning",
            )
    return None


def candidate_in(problems: list[Problem]) -> str | None:
    """The column a :func:`target_note` among ``problems`` names, if any."""
    for p in problems:
        found = _NOTE.search(p.reason)
        if found:
            return found.group(1)
    return None

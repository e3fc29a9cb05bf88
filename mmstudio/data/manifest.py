"""Reading CSV, TSV and JSONL manifests and guessing what each column holds.

Malformed rows become problems (with their row number) instead of stopping the read; a field
over :data:`MAX_FIELD` characters, or a file that is not text, is reported, not loaded whole.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
from dataclasses import dataclass, field

from mmstudio.data import encodings
from mmstudio.data.formats import AUDIO_EXTS, IMAGE_EXTS
from mmstudio.data.items import Problem

MAX_FIELD = 1_000_000  # characters in one cell; larger ones are malformed rows
MAX_LINE = 4_000_000  # bytes in one JSONL line
SAMPLE_ROWS = 200  # rows looked at to guess column roles
_CSV_LOCK = threading.Lock()

_ROLE_NAMES = {
    "id": {"id", "uid", "key", "item_id", "sample_id"},
    "image": {"image", "img", "image_path", "picture", "photo", "file_name", "filename"},
    "audio": {"audio", "wav", "sound", "audio_path", "speech", "recording", "clip"},
    "text": {
        "text",
        "caption",
        "transcript",
        "transcription",
        "sentence",
        "title",
        "description",
        "utterance",
        "prompt",
    },
    "label": {"label", "class", "category", "target", "y", "labels", "class_name"},
    "split": {"split", "subset", "fold", "set", "partition"},
}
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
    "eval": "test",
}


def normalise_split(value: str) -> str:
    """ "valid", "Validation", "dev" -> "val"; names it does not know are kept as written."""
    return SPLIT_NAMES.get(value.strip().lower(), value.strip())


@dataclass
class Manifest:
    """The rows of a manifest file as strings, with the problems met while reading it."""

    path: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (1-based line/row number, row)
    problems: list[Problem] = field(default_factory=list)
    has_header: bool = True


def read_manifest(path: str) -> Manifest:
    """Read a .csv, .tsv, .txt (tab separated) or .jsonl manifest."""
    ext = os.path.splitext(path)[1].lower()
    if ext in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    return _read_delimited(path, "\t" if ext in (".tsv", ".txt") else None)


def _read_delimited(path: str, delimiter: str | None) -> Manifest:
    with open(path, "rb") as fh:
        raw = fh.read()
    if b"\x00" in raw[:65536]:
        return Manifest(path, [], [], [Problem(path, "manifest is not text (it holds NUL bytes)")])
    text, encoding = encodings.decode(raw)
    note = encodings.warning(encoding, raw[: encodings.SAMPLE]) if encoding else ""
    del raw
    if text is None:
        return Manifest(
            path, [], [], [Problem(path, "manifest is not text: not UTF-8, and no other text encoding fits it")]
        )
    if delimiter is None:
        delimiter = _sniff(text[:65536].split("\n", 1)[0])
    with _CSV_LOCK:  # the csv field limit is process-wide: one scan sets and restores it at once
        old_limit = csv.field_size_limit()
        csv.field_size_limit(MAX_FIELD)
        try:
            manifest = _parse_delimited(path, text, delimiter)
        finally:
            csv.field_size_limit(old_limit)
    if note:
        manifest.problems.insert(0, Problem(path, note, severity="warning"))
    return manifest


def _sniff(first: str) -> str:
    """A .csv's delimiter from its first line: "," when it has one (a caption may hold ";"),
    else ";" or a tab."""
    if "," in first:
        return ","
    return max(";\t", key=first.count) if any(c in first for c in ";\t") else ","


def _parse_delimited(path: str, text: str, delimiter: str) -> Manifest:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    header = _next_row(reader, path, problems)
    if not header:
        return Manifest(path, [], [], problems or [Problem(path, "manifest is empty")])
    has_header = not _looks_like_data(header)
    if has_header:
        columns = _unique_names([h.strip() for h in header])
        pending: list[list[str]] = []
    else:  # a bare "image<TAB>caption" file
        columns = ["image", "caption"] + [f"column{i}" for i in range(3, len(header) + 1)]
        pending = [header]
    rows: list[tuple[int, dict[str, str]]] = []
    for values in pending:
        rows.append((1, dict(zip(columns, values))))
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(path, f"malformed row: {exc}", row=line))
            continue
        if not values or all(not v.strip() for v in values):
            continue
        while len(values) > len(columns) and not values[-1].strip():
            values = values[:-1]  # a trailing delimiter some tools write after the last field
        if len(values) != len(columns):
            if reader.line_num > line and any(v.count("\n") for v in values):
                reason = (
                    f"malformed row: a quote opened on line {line} is not closed before "
                    f"line {reader.line_num}; those lines are one field"
                )
            else:
                reason = f"malformed row: {len(values)} fields where the header has {len(columns)}"
            problems.append(Problem(path, reason, row=line))
            continue
        rows.append((reader.line_num, dict(zip(columns, values))))
    if not rows and not problems:
        problems.append(Problem(path, "manifest has a header but no rows"))
    return Manifest(path, columns, rows, problems, has_header)


def _next_row(reader, path: str, problems: list[Problem]) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        problems.append(Problem(path, f"malformed header: {exc}", row=1))
        return None


def _looks_like_data(header: list[str]) -> bool:
    """A first row whose first cell is a media path is data, not a header."""
    ext = media_ext(header[0])
    return ext in IMAGE_EXTS or ext in AUDIO_EXTS


#: Flickr8k/30k-style caption numbers after an image name: ``1000268201_693b08cb0e.jpg#2``.
CAPTION_NUMBER = re.compile(r"#\d+$")


def media_ext(value: str) -> str:
    """The lower-case extension of a path written in a manifest, ignoring a caption number."""
    return os.path.splitext(CAPTION_NUMBER.sub("", value.strip()))[1].lower()


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _read_jsonl(path: str) -> Manifest:
    columns: dict[str, None] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    with open(path, "rb") as fh:
        head = fh.read(encodings.SAMPLE)
        encoding = _legacy_encoding(head)
        reason = None if encoding else _not_text(head[:65536])
        if reason:  # one problem for a binary file, not one per "line" of it
            return Manifest(path, [], [], [Problem(path, reason)])
        if encoding:
            problems.append(Problem(path, encodings.warning(encoding, head), severity="warning"))
        fh.seek(0)
        for number, line in enumerate(_bounded_lines(fh), start=1):
            if line is None:
                problems.append(Problem(path, f"malformed row: line longer than {MAX_LINE:,} bytes", row=number))
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line.decode(encoding or "utf-8-sig"))
            except UnicodeDecodeError:
                problems.append(Problem(path, "malformed row: not UTF-8", row=number))
                continue
            except json.JSONDecodeError as exc:
                problems.append(Problem(path, f"malformed row: invalid JSON ({exc.msg})", row=number))
                continue
            except RecursionError:
                problems.append(Problem(path, "malformed row: JSON nested too deeply", row=number))
                continue
            except ValueError:  # Python refuses to convert integers of over 4,300 digits
                problems.append(Problem(path, "malformed row: a number too long to read", row=number))
                continue
            if not isinstance(obj, dict):
                problems.append(
                    Problem(path, f"malformed row: expected a JSON object, got {type(obj).__name__}", row=number)
                )
                continue
            row = {str(k): _cell(v) for k, v in obj.items()}
            columns.update(dict.fromkeys(row))
            rows.append((number, row))
    if not rows and not problems:
        problems.append(Problem(path, "manifest is empty"))
    return Manifest(path, list(columns), rows, problems)


def _legacy_encoding(head: bytes) -> str | None:
    """The detected encoding of a JSONL file written in a legacy encoding, else None.

    JSON Lines is UTF-8 by definition, so one stray line is that row's problem; the file is
    re-read in another encoding only when no line of the sample is UTF-8 beyond ASCII and at
    least two are not UTF-8 (one line is too little for the detector to go on)."""
    if b"\x00" in head[:65536]:
        return None
    valid = invalid = 0
    for line in head.split(b"\n")[:-1]:  # the last may be cut by the sample's end
        if line.isascii():
            continue
        try:
            line.decode("utf-8-sig")
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    return encodings.detect(head) if invalid >= 2 and not valid else None


def _not_text(head: bytes) -> str | None:
    """Why the first bytes of a manifest show it is not text, or None."""
    if b"\x00" in head:
        return "manifest is not text (it holds NUL bytes)"
    # A stray Latin-1 byte spoils one row (reported there); mostly undecodable bytes, the file.
    if head.decode("utf-8", errors="replace").count("\ufffd") > max(8, len(head) // 50):
        return "manifest is not UTF-8 text (it looks like a binary file)"
    return None


def _bounded_lines(fh):
    """Yield lines as bytes, or None for a line over MAX_LINE (skipped without reading it whole)."""
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while True:  # drain the rest of the long line in chunks
                rest = fh.readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield line


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Column roles


def guess_roles(manifest: Manifest, given: dict[str, str] | None = None) -> dict[str, str]:
    """Map every column to a role, keeping the ones the user gave.

    Names decide first (``label``, ``caption``...), then content: media paths by extension,
    split names, low-cardinality labels, and free text. Only one column is guessed per role
    except ``text`` (several text columns are joined) — but the guess keeps the best one.
    """
    given = dict(given or {})
    roles = {c: given[c] for c in manifest.columns if c in given}
    taken = set(roles.values())
    # Evenly spaced rows, not the first ones: a manifest sorted by class shows one class at its top.
    step = max(1, len(manifest.rows) // SAMPLE_ROWS)
    sample = manifest.rows[::step][:SAMPLE_ROWS]
    samples = {c: [r.get(c, "") for _, r in sample] for c in manifest.columns}
    free = [c for c in manifest.columns if c not in roles]
    # 1. by content that cannot be mistaken: media paths.
    for col in free:
        role = _media_role(samples[col])
        if role and role not in taken:
            roles[col] = role
            taken.add(role)
    free = [c for c in free if c not in roles]
    # 2. by name.
    for col in free:
        name = re.sub(r"[\s\-]+", "_", col.strip().lower())
        for role, names in _ROLE_NAMES.items():
            if name in names and role not in taken and _fits(role, samples[col]):
                roles[col] = role
                taken.add(role)
                break
    free = [c for c in free if c not in roles]
    # 3. by content.
    for col in free:
        values = [v for v in samples[col] if v.strip()]
        if not values:
            continue
        if "split" not in taken and all(v.strip().lower() in SPLIT_NAMES for v in values):
            roles[col] = "split"
            taken.add("split")
        elif "text" not in taken and _is_free_text(values):
            roles[col] = "text"
            taken.add("text")
    # No label by content alone: a speaker, a group or a source column looks just like one, and
    # a wrong label trains the wrong task silently. Without a column named like a label the
    # items load unlabelled, and the report says so (see :func:`label_note`).
    return {c: roles.get(c, "ignore") for c in manifest.columns}


def label_note(manifest: Manifest, roles: dict[str, str]) -> Problem | None:
    """When no column is the label but one looks like labels (few distinct short values), a
    warning naming it: the items load unlabelled, and how to classify by that column instead."""
    if "label" in roles.values():
        return None
    step = max(1, len(manifest.rows) // SAMPLE_ROWS)
    sample = manifest.rows[::step][:SAMPLE_ROWS]
    for col in manifest.columns:
        values = [v for v in (r.get(col, "") for _, r in sample) if v.strip()]
        if roles.get(col) == "ignore" and values and _is_label_like(values):
            return Problem(
                manifest.path,
                f"no label column: items load unlabelled (align and queries "
                f"work); column {col!r} looks like labels: to classify by it, "
                f"give it the role 'label'",
                severity="warning",
            )
    return None


def _media_role(values: list[str]) -> str | None:
    values = [v.strip() for v in values if v.strip()]
    if not values:
        return None
    exts = [media_ext(v) for v in values]
    for role, known in (("image", IMAGE_EXTS), ("audio", AUDIO_EXTS)):
        if sum(e in known for e in exts) >= 0.8 * len(exts):
            return role
    if sum(e == ".txt" for e in exts) >= 0.8 * len(exts):
        return "text"
    return None


def _fits(role: str, values: list[str]) -> bool:
    values = [v for v in values if v.strip()]
    if role in ("image", "audio"):
        return _media_role(values) == role
    if role == "split":  # named "split": most values are split names; others kept as they are
        return sum(v.strip().lower() in SPLIT_NAMES for v in values) >= 0.5 * len(values)
    return True


def _is_free_text(values: list[str]) -> bool:
    with_space = sum(" " in v.strip() for v in values)
    return with_space >= 0.3 * len(values)


def _is_label_like(values: list[str]) -> bool:
    distinct = set(values)
    return 1 < len(distinct) <= max(2, min(1000, len(values) // 3)) and all(len(v) <= 64 for v in distinct)

"""Turning what the user dropped into raw records, one function per layout.

A raw record names files (not yet checked) and where it came from, so every later problem can
name the file and row. :func:`detect_layout` guesses the layout; the user can override it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from mmstudio.config import DatasetSpec
from mmstudio.data.formats import MANIFEST_EXTS, modality_of
from mmstudio.data.items import Problem
from mmstudio.data.manifest import (
    CAPTION_NUMBER,
    SPLIT_NAMES,
    Manifest,
    guess_roles,
    read_manifest,
)

MODALITY_DIRS = {
    "image": ("images", "image", "img", "imgs", "pictures", "photos"),
    "text": ("texts", "text", "txt", "captions", "transcripts"),
    "audio": ("audio", "audios", "sounds", "sound", "wav", "wavs", "speech", "recordings"),
}


@dataclass
class Record:
    """One candidate item before its files are checked."""

    id: str
    source: str  # the file this record came from (a manifest or a media file)
    image: str | None = None
    audio: str | None = None
    text: str | None = None  # inline text
    text_path: str | None = None  # a .txt file to read
    label: str | None = None
    split: str | None = None
    row: int | None = None


@dataclass
class Layout:
    """Raw records plus what the layout found out along the way."""

    name: str
    root: str
    records: list[Record]
    problems: list[Problem]
    columns: dict[str, str]
    column_names: list[str]


def detect_layout(path: str) -> tuple[str, str]:
    """(layout name, the file or folder it applies to) for a dropped path."""
    if os.path.isfile(path):
        ext = os.path.splitext(path)[1].lower()
        if ext in MANIFEST_EXTS or ext == ".txt":
            return "manifest", path
        raise ValueError(f"{path}: not a dataset (drop a folder or a .csv, .tsv or .jsonl manifest)")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    manifest = find_manifest(path)
    if manifest:
        return "manifest", manifest
    subdirs = [e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith(".")]
    paired = [d for d in subdirs if any(d.lower() in names for names in MODALITY_DIRS.values())]
    # One modality-named folder among others holding media is a class ("speech", "music", ...).
    if len(paired) >= 2 or (paired and not any(_holds_media(os.path.join(path, d))
                                               for d in subdirs if d not in paired)):
        return "paired_folders", path
    top_media = [e.name for e in os.scandir(path) if e.is_file() and modality_of(e.name)]
    if subdirs and len(top_media) <= len(subdirs):
        return "class_folders", path
    if not top_media:  # inline text only, or every path broken: the manifest says which
        manifest = find_manifest(path, fallback=True)
        if manifest:
            return "manifest", manifest
    return "filename_labels", path


def _holds_media(folder: str) -> bool:
    """Whether any image, audio or text file lies under ``folder`` (stops at the first)."""
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif modality_of(entry.name):
                return True
    return False


def find_manifest(folder: str, fallback: bool = False) -> str | None:
    """The manifest in ``folder`` whose path columns point at the most existing files, if any;
    with ``fallback``, the first one with any image, audio or text column even when none of its
    files exist (inline text, or a dataset whose files are all missing)."""
    best, best_score = None, 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        ext = os.path.splitext(entry.name)[1].lower()
        if not entry.is_file() or not (ext in MANIFEST_EXTS or (ext == ".txt" and _is_tabbed(entry.path))):
            continue
        if entry.stat().st_size > 200_000_000:
            continue
        try:
            manifest = read_manifest(entry.path)
        except OSError:
            continue
        roles = guess_roles(manifest)
        media = [c for c, r in roles.items() if r in ("image", "audio")]
        if fallback:
            if manifest.rows and {"image", "audio", "text"} & set(roles.values()):
                return entry.path
            continue
        score = sum(1 for _, row in manifest.rows[:50] for c in media
                    if row.get(c, "").strip() and os.path.isfile(_resolve(folder, row[c].strip())))
        if score > best_score:
            best, best_score = entry.path, score
    return best


def _is_tabbed(path: str) -> bool:
    with open(path, "rb") as fh:
        return b"\t" in fh.readline(65536)


def build(spec: DatasetSpec) -> Layout:
    """Raw records for ``spec``: the guessed layout unless the spec names one."""
    path = os.path.abspath(os.path.expanduser(spec.path))
    detected, target = detect_layout(path)
    layout = spec.layout if spec.layout != "auto" else detected
    if layout in ("manifest", "captions", "transcripts"):
        if os.path.isdir(target):
            raise ValueError(f"{path}: no manifest (.csv, .tsv, .jsonl) with file paths found in this folder")
        return from_manifest(target, spec, layout if spec.layout != "auto" else None)
    if not os.path.isdir(path):
        raise ValueError(f"{path}: the {layout} layout needs a folder")
    if layout == "paired_folders":
        found = from_paired_folders(path)
    elif layout == "class_folders":
        found = from_class_folders(path)
    else:
        found = from_filename_labels(path, spec.label_pattern)
    if not found.records and not found.problems:
        raise ValueError(f"{path}: not a dataset: no image, audio or text files found for the "
                         f"{layout} layout")
    return found


def from_manifest(path: str, spec: DatasetSpec, forced: str | None) -> Layout:
    try:
        manifest = read_manifest(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read this manifest: {exc.strerror or exc}") from None
    roles = guess_roles(manifest, dict(spec.columns))
    root = os.path.dirname(os.path.abspath(path))
    records = list(_manifest_records(manifest, roles, root))
    name = forced or _manifest_kind(roles)
    problems = list(manifest.problems)
    problems += [Problem(path, f"column {col!r} given the role {role!r} is not in this manifest",
                         severity="warning")
                 for col, role in spec.columns.items() if col not in manifest.columns]
    return Layout(name, root, records, problems, roles, manifest.columns)


def _manifest_kind(roles: dict[str, str]) -> str:
    used = set(roles.values())
    if {"image", "text"} <= used and "audio" not in used:
        return "captions"
    if {"audio", "text"} <= used and "image" not in used:
        return "transcripts"
    return "manifest"


def _manifest_records(manifest: Manifest, roles: dict[str, str], root: str):
    by_role: dict[str, list[str]] = {}
    for col, role in roles.items():
        by_role.setdefault(role, []).append(col)
    id_col = (by_role.get("id") or [None])[0]
    path_col = {m: (by_role.get(m) or [None])[0] for m in ("image", "audio")}
    derived: dict[str, int] = {}  # ids made from file names: one image may have several captions
    for number, row in manifest.rows:
        rec = Record(id=row.get(id_col, "").strip() if id_col else "", source=manifest.path, row=number)
        for modality, col in path_col.items():
            value = row.get(col, "").strip() if col else ""
            if value:
                setattr(rec, modality, _resolve(root, value))
        texts = [row.get(c, "").strip() for c in by_role.get("text", [])]
        if len(texts) == 1 and texts[0].lower().endswith(".txt") and "\n" not in texts[0]:
            rec.text_path = _resolve(root, texts[0])
        elif by_role.get("text"):
            rec.text = " ".join(t for t in texts if t)
        for role in ("label", "split"):
            cols = by_role.get(role)
            value = row.get(cols[0], "").strip() if cols else ""
            if value:
                setattr(rec, role, normalise_split(value) if role == "split" else value)
        if not rec.id:
            first = rec.image or rec.audio or rec.text_path
            base = os.path.splitext(os.path.relpath(first, root))[0] if first else f"row{number}"
            base = base.replace(os.sep, "/")
            derived[base] = derived.get(base, 0) + 1
            # Several rows naming one file (captions) are several items, not duplicate ids.
            rec.id = base if derived[base] == 1 else f"{base}#{derived[base]}"
        yield rec


def _resolve(root: str, value: str) -> str:
    """A manifest's path made absolute; ``images\\a.png`` written on Windows works elsewhere,
    and a caption number (``a.jpg#2``) is dropped when no file has that name."""
    if os.sep == "/" and "\\" in value and not os.path.exists(os.path.join(root, value)):
        value = value.replace("\\", "/")
    if "#" in value and CAPTION_NUMBER.search(value) and not os.path.exists(os.path.join(root, value)):
        value = CAPTION_NUMBER.sub("", value)
    return os.path.normpath(os.path.join(root, value))


def normalise_split(value: str) -> str:
    return SPLIT_NAMES.get(value.strip().lower(), value.strip())


def from_class_folders(root: str) -> Layout:
    """label/<files>; files of different modalities sharing a base name become one item.

    Top folders all named like splits (``train/``, ``val/``, ``test/``) each hold class folders:
    ``train/cat/1.png`` is label "cat", split "train".
    """
    groups: dict[tuple[str, str], Record] = {}
    problems: list[Problem] = []
    tops = _subfolders(root)
    if tops and all(t.lower() in SPLIT_NAMES for t in tops):
        for top in tops:
            split_dir = os.path.join(root, top)
            files = [(None, path, _stem(path, split_dir))  # unlabelled, straight in the split
                     for path in _walk_files(split_dir, recursive=False)]
            for label in _subfolders(split_dir):
                folder = os.path.join(split_dir, label)
                files += [(label, path, f"{label}/{_stem(path, folder)}") for path in _walk_files(folder)]
            for label, path, stem in files:
                _add_file(groups, problems, path, key=(top, stem), label=label)
                if (top, stem) in groups:
                    groups[(top, stem)].split = normalise_split(top)
        return Layout("class_folders", root, list(groups.values()), problems, {}, [])
    for label in tops:
        for path in _walk_files(os.path.join(root, label)):
            key = (label, _stem(path, os.path.join(root, label)))
            _add_file(groups, problems, path, key=key, label=label)
    return Layout("class_folders", root, list(groups.values()), problems, {}, [])


def _subfolders(folder: str) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def from_paired_folders(root: str) -> Layout:
    """images/, texts/, audio/ (any subset), optionally with class subfolders, joined by base name.

    A file in a flat modality folder joins the class-folder file with its base name when only one
    class has that name; ``images/cat/1.png`` and ``images/dog/1.png`` stay two items.
    """
    files: list[tuple[str, str | None, str]] = []  # (label, stem within the class, path)
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        wanted = next((m for m, names in MODALITY_DIRS.items() if entry.name.lower() in names), None)
        if not entry.is_dir() or wanted is None:
            continue
        for path in _walk_files(entry.path):
            if modality_of(path) != wanted:
                continue
            parts = os.path.relpath(path, entry.path).split(os.sep)
            label = parts[0] if len(parts) > 1 else None
            files.append((label, _stem(path, os.path.join(entry.path, label or "")), path))
    classes: dict[str, set[str]] = {}  # stem -> the classes holding a file of that stem
    for label, stem, _ in files:
        if label is not None:
            classes.setdefault(stem, set()).add(label)
    groups: dict[tuple[str, str], Record] = {}
    problems: list[Problem] = []
    for label, stem, path in files:
        owners = classes.get(stem, set())
        if label is None and len(owners) > 1:
            problems.append(Problem(path, f"base name {stem!r} is in several classes "
                                          f"({', '.join(sorted(owners))}); not paired with any",
                                    severity="warning"))
        key_label = label if label is not None else (next(iter(owners)) if len(owners) == 1 else "")
        _add_file(groups, problems, path, key=(key_label, stem), label=label)
    return Layout("paired_folders", root, list(groups.values()), problems, {}, [])


def from_filename_labels(root: str, pattern: str) -> Layout:
    """A flat folder whose label is part of each file name, taken by ``pattern``'s group "label"."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"label pattern {pattern!r} is not a valid regular expression: {exc}") from None
    if "label" not in regex.groupindex:
        raise ValueError(f"label pattern {pattern!r} needs a named group (?P<label>...)")
    groups: dict[tuple[str, str], Record] = {}
    problems: list[Problem] = []
    unmatched: list[str] = []
    matched = 0
    for path in _walk_files(root, recursive=False):
        if modality_of(path) is None:
            continue
        match = regex.search(os.path.basename(path))
        label = match.group("label") if match and match.group("label") else None
        if label is None:
            unmatched.append(path)
        else:
            matched += 1
        _add_file(groups, problems, path, key=("", _stem(path, root)), label=label)
    if unmatched and matched:  # a folder of names with no labels at all is not flagged file by file
        problems.extend(Problem(p, f"file name does not match the label pattern {pattern!r}; "
                                   f"no label", severity="warning") for p in unmatched)
    return Layout("filename_labels", root, list(groups.values()), problems, {}, [])


def _add_file(groups: dict, problems: list[Problem], path: str, key: tuple[str, str],
              label: str | None) -> None:
    modality = modality_of(path)
    if modality is None:
        return
    rec = groups.get(key)
    if rec is None:
        rec = groups[key] = Record(id="/".join(p for p in key if p), source=path, label=label)
    elif rec.label is None:
        rec.label = label
    attr = "text_path" if modality == "text" else modality
    if getattr(rec, attr) is not None:  # a.png beside a.jpg: one id, two images
        problems.append(Problem(path, f"duplicate id {rec.id!r}: {os.path.basename(getattr(rec, attr))} "
                                      f"has the same base name; skipped"))
        return
    setattr(rec, attr, path)


def _stem(path: str, base: str) -> str:
    """The path below ``base`` without its extension, with "/" separators: the join key."""
    rel = os.path.splitext(os.path.relpath(path, base))[0]
    return rel.replace(os.sep, "/")


def _walk_files(folder: str, recursive: bool = True) -> list[str]:
    out: list[str] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if recursive:
                    stack.append(entry.path)
            elif entry.is_file():
                out.append(entry.path)
    return sorted(out)

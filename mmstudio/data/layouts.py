"""Turning what the user dropped into raw records: which layout it is, and manifests' rows.

:func:`detect_layout` guesses the layout; the user can override it. The folder layouts live in
:mod:`mmstudio.data.folders`, the records in :mod:`mmstudio.data.records`.
"""

from __future__ import annotations

import os

from mmstudio.config import DatasetSpec
from mmstudio.data.folders import (
    MODALITY_DIRS,
    from_class_folders,
    from_filename_labels,
    from_paired_folders,
    holds_media,
)
from mmstudio.data.formats import MANIFEST_EXTS, modality_of
from mmstudio.data.items import Problem
from mmstudio.data.manifest import (
    CAPTION_NUMBER,
    Manifest,
    guess_roles,
    label_note,
    normalise_split,
    read_manifest,
)
from mmstudio.data.records import Layout, Record
from mmstudio.data.targets import target_note

__all__ = ["MODALITY_DIRS", "Layout", "Record", "build", "detect_layout", "find_manifest", "normalise_split"]


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
    if len(paired) >= 2 or (paired and not any(holds_media(os.path.join(path, d)) for d in subdirs if d not in paired)):
        return "paired_folders", path
    top_media = [e.name for e in os.scandir(path) if e.is_file() and modality_of(e.name)]
    if subdirs and len(top_media) <= len(subdirs):
        return "class_folders", path
    if not top_media:  # inline text only, or every path broken: the manifest says which
        manifest = find_manifest(path, fallback=True)
        if manifest:
            return "manifest", manifest
    return "filename_labels", path


def find_manifest(folder: str, fallback: bool = False) -> str | None:
    """The manifest in ``folder`` whose path columns point at the most existing files, if any;
    with ``fallback``, the first one with any image, audio or text column even when none of its
    files exist (inline text, or a dataset whose files are all missing)."""
    best, best_score = None, 0
    roots = media_roots(folder)
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
        score = sum(
            1
            for _, row in manifest.rows[:50]
            for c in media
            if row.get(c, "").strip() and os.path.isfile(_resolve(roots, row[c].strip()))
        )
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
        raise ValueError(f"{path}: not a dataset: no image, audio or text files found for the {layout} layout")
    return found


def from_manifest(path: str, spec: DatasetSpec, forced: str | None) -> Layout:
    try:
        manifest = read_manifest(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read this manifest: {exc.strerror or exc}") from None
    roles = guess_roles(manifest, dict(spec.columns))
    root = os.path.dirname(os.path.abspath(path))
    records = list(_manifest_records(manifest, roles, media_roots(root)))
    name = forced or _manifest_kind(roles)
    notes = (label_note(manifest, roles), target_note(manifest, roles))
    problems = list(manifest.problems) + [note for note in notes if note]
    problems += [
        Problem(path, f"column {col!r} given the role {role!r} is not in this manifest", severity="warning")
        for col, role in spec.columns.items()
        if col not in manifest.columns
    ]
    return Layout(name, root, records, problems, roles, manifest.columns)


def _manifest_kind(roles: dict[str, str]) -> str:
    used = set(roles.values())
    if {"image", "text"} <= used and "audio" not in used:
        return "captions"
    if {"audio", "text"} <= used and "image" not in used:
        return "transcripts"
    return "manifest"


def _manifest_records(manifest: Manifest, roles: dict[str, str], roots: list[str]):
    by_role: dict[str, list[str]] = {}
    for col, role in roles.items():
        by_role.setdefault(role, []).append(col)
    id_col = by_role["id"][0] if by_role.get("id") else None
    path_col = {m: by_role[m][0] if by_role.get(m) else None for m in ("image", "audio")}
    root = roots[0]
    derived: dict[str, int] = {}  # ids made from file names: one image may have several captions
    for number, row in manifest.rows:
        rec = Record(id=row.get(id_col, "").strip() if id_col else "", source=manifest.path, row=number)
        for modality, path_column in path_col.items():
            value = row.get(path_column, "").strip() if path_column else ""
            if value:
                setattr(rec, modality, _resolve(roots, value))
        texts = [row.get(c, "").strip() for c in by_role.get("text", [])]
        if len(texts) == 1 and texts[0].lower().endswith(".txt") and "\n" not in texts[0]:
            rec.text_path = _resolve(roots, texts[0])
        elif by_role.get("text"):
            rec.text = " ".join(t for t in texts if t)
        for role in ("label", "split", "target"):
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


def media_roots(folder: str) -> list[str]:
    """Where a manifest's relative paths may point: its own folder first, then each folder
    beside it that holds media files (Flickr8k's ``captions.txt`` next to ``Images/`` names
    bare file names)."""
    folder = os.path.abspath(folder)
    try:
        subdirs = sorted(
            e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        )
    except OSError:
        subdirs = []
    return [folder] + [d for d in subdirs if holds_media(d)]


def _resolve(roots: list[str], value: str) -> str:
    """A manifest's path made absolute against the first of ``roots`` that has the file (else
    the manifest's own folder, so the problem names the expected place). ``images\\a.png``
    written on Windows works elsewhere, and a caption number (``a.jpg#2``) is dropped when no
    file has that name."""
    for root in roots:
        path = _resolve_in(root, value)
        if os.path.exists(path):
            return path
    return _resolve_in(roots[0], value)


def _resolve_in(root: str, value: str) -> str:
    if os.sep == "/" and "\\" in value and not os.path.exists(os.path.join(root, value)):
        value = value.replace("\\", "/")
    if "#" in value and CAPTION_NUMBER.search(value) and not os.path.exists(os.path.join(root, value)):
        value = CAPTION_NUMBER.sub("", value)
    return os.path.normpath(os.path.join(root, value))

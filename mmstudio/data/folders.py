"""Folder layouts: a folder per class, paired modality folders, labels in file names.

Files of different modalities that share a base name (``a.png``, ``a.wav``, ``a.txt``) become one
item; a modality with no file is missing for that item, not an error.
"""

from __future__ import annotations

import os
import re

from mmstudio.data.formats import modality_of
from mmstudio.data.items import Problem
from mmstudio.data.links import LinkGuard
from mmstudio.data.manifest import SPLIT_NAMES, normalise_split
from mmstudio.data.records import Layout, Record

MODALITY_DIRS = {
    "image": ("images", "image", "img", "imgs", "pictures", "photos"),
    "text": ("texts", "text", "txt", "captions", "transcripts"),
    "audio": ("audio", "audios", "sounds", "sound", "wav", "wavs", "speech", "recordings"),
}


def from_class_folders(root: str) -> Layout:
    """label/<files>; files of different modalities sharing a base name become one item.

    Top folders all named like splits (``train/``, ``val/``, ``test/``) each hold class folders:
    ``train/cat/1.png`` is label "cat", split "train".
    """
    groups: dict[tuple[str, str], Record] = {}
    problems: list[Problem] = []
    guard = LinkGuard(root)
    tops = _subfolders(root, guard)
    if tops and all(t.lower() in SPLIT_NAMES for t in tops):
        for top in tops:
            split_dir = os.path.join(root, top)
            files: list[tuple[str | None, str, str]] = [
                (None, path, _stem(path, split_dir))  # unlabelled
                for path in _walk_files(split_dir, recursive=False, guard=guard)
            ]
            for label in _subfolders(split_dir, guard):
                folder = os.path.join(split_dir, label)
                files += [(label, path, f"{label}/{_stem(path, folder)}") for path in _walk_files(folder, guard=guard)]
            for owner, path, stem in files:
                _add_file(groups, problems, path, key=(top, stem), label=owner)
                if (top, stem) in groups:
                    groups[(top, stem)].split = normalise_split(top)
        return Layout("class_folders", root, list(groups.values()), problems + guard.problems, {}, [])
    for label in tops:
        for path in _walk_files(os.path.join(root, label), guard=guard):
            key = (label, _stem(path, os.path.join(root, label)))
            _add_file(groups, problems, path, key=key, label=label)
    return Layout("class_folders", root, list(groups.values()), problems + guard.problems, {}, [])


def _subfolders(folder: str, guard: LinkGuard | None = None) -> list[str]:
    """Visible sub-folders; links refused by ``guard`` (loops, dangling, outside) are left out."""
    names = []
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or (guard and entry.is_symlink() and guard.refuse(entry.path)):
            continue
        if _is_dir(entry):
            names.append(entry.name)
    return sorted(names)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link loop the caller did not check
        return False


def from_paired_folders(root: str) -> Layout:
    """images/, texts/, audio/ (any subset), optionally with class subfolders, joined by base name.

    A file in a flat modality folder joins the class-folder file with its base name when only one
    class has that name; ``images/cat/1.png`` and ``images/dog/1.png`` stay two items.
    """
    files: list[tuple[str | None, str, str]] = []  # (label, stem within the class, path)
    guard = LinkGuard(root)
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        wanted = next((m for m, names in MODALITY_DIRS.items() if entry.name.lower() in names), None)
        if wanted is None or not _is_dir(entry):
            continue
        for path in _walk_files(entry.path, guard=guard):
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
            problems.append(
                Problem(
                    path,
                    f"base name {stem!r} is in several classes ({', '.join(sorted(owners))}); not paired with any",
                    severity="warning",
                )
            )
        key_label = label if label is not None else (next(iter(owners)) if len(owners) == 1 else "")
        _add_file(groups, problems, path, key=(key_label, stem), label=label)
    return Layout("paired_folders", root, list(groups.values()), problems + guard.problems, {}, [])


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
    guard = LinkGuard(root)
    for path in _walk_files(root, recursive=False, guard=guard):
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
        problems.extend(
            Problem(p, f"file name does not match the label pattern {pattern!r}; no label", severity="warning")
            for p in unmatched
        )
    return Layout("filename_labels", root, list(groups.values()), problems + guard.problems, {}, [])


def _add_file(groups: dict, problems: list[Problem], path: str, key: tuple[str, str], label: str | None) -> None:
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
        problems.append(
            Problem(
                path, f"duplicate id {rec.id!r}: {os.path.basename(getattr(rec, attr))} has the same base name; skipped"
            )
        )
        return
    setattr(rec, attr, path)


def _stem(path: str, base: str) -> str:
    """The path below ``base`` without its extension, with "/" separators: the join key."""
    rel = os.path.splitext(os.path.relpath(path, base))[0]
    return rel.replace(os.sep, "/")


def _iter_files(folder: str, recursive: bool = True, guard: LinkGuard | None = None):
    """Files under ``folder``: hidden ones and unreadable folders skipped; symbolic links followed
    only inside the dataset (``guard``'s root), each folder once; refused links go to ``guard``."""
    guard = guard or LinkGuard(folder)
    if os.path.islink(folder) and guard.refuse(folder):
        return
    stack = [folder]
    while stack:
        current = stack.pop()
        if not guard.first_visit(current):
            continue
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or (entry.is_symlink() and guard.refuse(entry.path)):
                continue
            if _is_dir(entry):
                if recursive:
                    stack.append(entry.path)
            elif entry.is_file():
                yield entry


def _walk_files(folder: str, recursive: bool = True, guard: LinkGuard | None = None) -> list[str]:
    return sorted(entry.path for entry in _iter_files(folder, recursive, guard))


def holds_media(folder: str) -> bool:
    """Whether any image, audio or text file lies under ``folder`` (stops at the first)."""
    return any(modality_of(entry.name) for entry in _iter_files(folder))

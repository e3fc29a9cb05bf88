"""Checking raw records: every unusable or suspicious input becomes a Problem, the rest loads.

Each distinct file is decoded once (many rows may share one audio clip), on a few threads since
Pillow and libsndfile release the GIL while decoding; the verdicts of unchanged files are
remembered in the user's cache folder (:mod:`mmstudio.data.verdicts`). Nothing in the dataset
is written.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from mmstudio.data.formats import check_audio, check_image, check_text_file
from mmstudio.data.items import Item, Problem
from mmstudio.data.links import LinkGuard, within
from mmstudio.data.records import Layout, Record
from mmstudio.data.targets import parse_target
from mmstudio.data.verdicts import Verdicts

Progress = Callable[[float, str], None]
CHUNK = 128  # files per task on the checking threads


def validate(layout: Layout, max_pixels: int, progress: Progress | None = None) -> tuple[list[Item], list[Problem]]:
    problems = list(layout.problems)
    guard = LinkGuard(layout.root)
    refused = {id(r) for r in layout.records if not _inside(r, layout.root, problems, guard)}
    problems += guard.problems
    records = layout.records
    verdicts = _check_files(records, max_pixels, progress, Verdicts(layout.root, max_pixels))
    items: list[Item] = []
    seen_ids: dict[str, Record] = {}
    for rec in records:
        where = f"row {rec.row}: " if rec.row is not None else ""
        if rec.id in seen_ids:
            problems.append(
                Problem(
                    rec.source,
                    f"{where}duplicate id {rec.id!r} (first used {_origin(seen_ids[rec.id])}); row skipped",
                    row=rec.row,
                )
            )
            continue
        seen_ids[rec.id] = rec
        fields: dict[str, str | None] = {}
        for modality in ("image", "audio"):
            path = getattr(rec, modality)
            reason = verdicts.get(path) if path else None
            if reason:
                problems.append(Problem(path, reason, row=rec.row))
            fields[modality] = path if path and not reason else None
        text = rec.text
        if rec.text_path:
            text, reason = verdicts.get(rec.text_path, (None, "file not checked"))
            if reason:
                problems.append(Problem(rec.text_path, reason, row=rec.row))
        elif rec.text is not None and not rec.text.strip():
            problems.append(
                Problem(
                    rec.source,
                    f"{where}text is empty",
                    row=rec.row,
                    severity="warning" if (rec.image or rec.audio) else "error",
                )
            )
            text = None
        target, reason = parse_target(rec.target)
        if reason:
            problems.append(Problem(rec.source, f"{where}{reason}; the item has no target", "warning", rec.row))
        item = Item(rec.id, fields["image"], fields["audio"], text or None, rec.label, rec.split, target)
        if item.modalities:
            items.append(item)
        elif id(rec) not in refused and not (rec.image or rec.audio or rec.text_path or rec.text is not None):
            problems.append(Problem(rec.source, f"{where}no image, audio or text in this row", row=rec.row))
    problems.extend(_label_warnings(items, seen_ids))
    return items, problems


def _inside(rec: Record, root: str, problems: list[Problem], guard: LinkGuard) -> bool:
    """Refuses a path that leaves the dataset folder (``../``, absolute elsewhere, or a symbolic
    link out of it, a loop or a dangling link); False when one was refused (the record keeps its
    other modalities)."""
    root = os.path.normpath(root)
    ok = True
    for attr in ("image", "audio", "text_path"):
        path = getattr(rec, attr)
        if not path:
            continue
        if not within(root, os.path.normpath(path)):
            problems.append(Problem(path, "path escapes the dataset folder; skipped", row=rec.row))
        elif not guard.refuse(path, rec.row):
            continue
        setattr(rec, attr, None)
        ok = False
    return ok


def _check_files(records: list[Record], max_pixels: int, progress: Progress | None, known: Verdicts) -> dict:
    """Each distinct file's verdict; image and audio verdicts from an earlier scan of unchanged
    files are reused (``known``), text files are read again (their text is the content)."""
    jobs: dict[str, Callable] = {}
    verdicts: dict = {}
    for rec in records:
        for path, check in ((rec.image, lambda p: check_image(p, max_pixels)), (rec.audio, check_audio)):
            if path and path not in jobs and path not in verdicts:
                hit, verdict = known.lookup(path)
                if hit:
                    verdicts[path] = verdict
                else:
                    jobs[path] = lambda p=path, c=check: c(p)
        if rec.text_path:
            jobs[rec.text_path] = lambda p=rec.text_path: check_text_file(p)
    total = len(jobs)
    if not total:
        return verdicts
    # Small files decode in a fraction of a millisecond: hand them out in chunks (one future per
    # file cost more in locking than the decoding) to about one thread per CPU (more threads
    # only contend for the interpreter lock between the decoders' C calls).
    workers = max(1, min(4, os.cpu_count() or 2))
    items = list(jobs.items())
    chunks = [items[i : i + CHUNK] for i in range(0, total, CHUNK)]
    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmstudio-check") as pool:
        for results in pool.map(lambda chunk: [(p, f()) for p, f in chunk], chunks):
            for path, verdict in results:
                verdicts[path] = verdict
                if not isinstance(verdict, tuple):  # image and audio verdicts are kept for next time
                    known.remember(path, verdict)
            done += len(results)
            if progress:
                progress(done / total, f"checked {done:,} of {total:,} files")
    known.save()
    return verdicts


def _origin(rec: Record) -> str:
    return f"at row {rec.row}" if rec.row is not None else f"by {rec.source}"


def _label_warnings(items: list[Item], records: dict[str, Record]) -> list[Problem]:
    """A warning for each label with one sample, naming its file (or its manifest row)."""
    counts = Counter(it.label for it in items if it.label is not None)
    out = []
    for it in items:
        if it.label is not None and counts[it.label] == 1:
            rec = records[it.id]
            path = it.image or it.audio or rec.text_path or rec.source
            out.append(
                Problem(
                    path,
                    f"label {it.label!r} has only one sample: it cannot be both trained on and tested",
                    severity="warning",
                    row=rec.row,
                )
            )
    return out

"""Symbolic links inside a dataset: followed only while they stay inside the dataset folder.

A link to a file elsewhere (``/etc/passwd``, a home folder) would let a shared dataset read
files its user never chose; a link loop or a dangling link would otherwise make a folder fail
to scan, or vanish without a word. :class:`LinkGuard` gives the reason a path must not be used,
and collects one :class:`~mmstudio.data.items.Problem` per skipped link for the report.
"""

from __future__ import annotations

import errno
import os

from mmstudio.data.items import Problem


class LinkGuard:
    """Decides, for paths under ``root``, whether their symbolic links may be followed."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.problems: list[Problem] = []
        self._dirs: dict[str, str] = {}  # folder -> its resolved path (few folders, many files)
        self._walked: set[str] = set()  # resolved folders already scanned (links to a parent)

    def reason(self, path: str) -> str | None:
        """Why ``path`` must not be used (a loop, a dangling link, a link out of the dataset),
        or None. A plain missing file is not this module's business: None."""
        folder = os.path.dirname(path)
        real_dir = self._dirs.get(folder)
        if real_dir is None:
            real_dir = self._dirs[folder] = os.path.realpath(folder)
        if os.path.islink(path):
            try:
                real = os.path.realpath(path, strict=True)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return "symbolic link loop (the link leads back to itself); skipped"
                return f"broken symbolic link (points to {_target(path)}, which does not exist); skipped"
        else:
            real = os.path.join(real_dir, os.path.basename(path))
        if not within(self.root, real):
            return f"symbolic link to {real}, outside the dataset folder; not followed"
        return None

    def refuse(self, path: str, row: int | None = None) -> bool:
        """Record a problem and return True when ``path`` must not be used."""
        why = self.reason(path)
        if why:
            self.problems.append(Problem(path, why, row=row))
        return why is not None

    def first_visit(self, folder: str) -> bool:
        """False for a folder already scanned through another path (a link to an ancestor)."""
        real = os.path.realpath(folder)
        if real in self._walked:
            return False
        self._walked.add(real)
        return True


def within(root: str, path: str) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:  # another drive on Windows, or a relative path
        return False


def _target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"

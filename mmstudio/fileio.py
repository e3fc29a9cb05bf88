"""Atomic file writes (standard library only): every save goes to a temporary file in the same
folder, is flushed to disk, then renamed over the target, so a crash or a full disk leaves the
previous file whole."""
from __future__ import annotations

import os


def atomic_write_text(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one rename; the old file survives any failure."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def member_path(folder: str, name: str) -> str:
    """``folder/name`` when ``name`` is a file name that stays inside ``folder`` once every
    symlink is resolved; else ``ValueError`` (a file that names ``../..`` or ``/etc/passwd``)."""
    if not isinstance(name, str) or not name or "\x00" in name or os.path.isabs(name):
        raise ValueError(f"{name!r} is not a file name inside the bundle's folder")
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, name))
    if os.path.commonpath([root, target]) != root or target == root:
        raise ValueError(f"{name!r} points outside the bundle's folder ({target}); refused")
    return os.path.join(folder, name)

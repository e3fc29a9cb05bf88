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

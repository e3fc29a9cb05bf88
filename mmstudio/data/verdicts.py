"""File-check verdicts remembered between scans, so opening the same dataset again is quick.

Checking a file means decoding it whole (that is how truncation is caught), which dominates a
scan. A verdict is reused only while the file's size and modification time are unchanged, so an
edited or damaged file is always checked again. Kept per dataset folder in the user's cache
folder (``$MMSTUDIO_CACHE_DIR/checks`` when set); a cache that cannot be read or written is
simply not used: scanning never fails because of it.
"""

from __future__ import annotations

import hashlib
import json
import os

from mmstudio.fileio import atomic_write_text

VERSION = 1  # bump when check_image/check_audio change what they report


def cache_folder() -> str:
    base = os.environ.get("MMSTUDIO_CACHE_DIR")
    if base:
        return os.path.join(base, "checks")
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("mmstudio", appauthor=False), "checks")


class Verdicts:
    """``lookup(path)`` -> (known, verdict); ``remember(path, verdict)``; ``save()``."""

    def __init__(self, root: str, max_pixels: int) -> None:
        key = f"{VERSION}|{os.path.abspath(root)}|{max_pixels}".encode()
        self.path = os.path.join(cache_folder(), hashlib.sha1(key).hexdigest()[:20] + ".json")
        self._entries: dict[str, list] = {}
        self._changed = False
        try:
            with open(self.path, encoding="utf-8") as fh:
                entries = json.load(fh)
            if isinstance(entries, dict):
                self._entries = entries
        except (OSError, ValueError):
            pass

    @staticmethod
    def _stamp(path: str) -> list[int] | None:
        try:
            st = os.stat(path)
        except (OSError, ValueError):  # missing, or a path no file can have (a NUL byte)
            return None
        return [st.st_size, st.st_mtime_ns]

    def lookup(self, path: str) -> tuple[bool, str | None]:
        entry = self._entries.get(path)
        if entry is None or len(entry) != 3:
            return False, None
        stamp = self._stamp(path)
        if stamp is None or entry[:2] != stamp:
            return False, None
        return True, entry[2]

    def remember(self, path: str, verdict: str | None) -> None:
        stamp = self._stamp(path)
        if stamp is not None:
            self._entries[path] = [*stamp, verdict]
            self._changed = True

    def save(self) -> None:
        if not self._changed:
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            atomic_write_text(self.path, json.dumps(self._entries))
        except OSError:
            pass  # a read-only or full cache folder: the next scan checks the files again

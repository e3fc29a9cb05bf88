"""Atomic file writes (standard library only): every save goes to a temporary file in the same
folder, is flushed to disk, then renamed over the target, so a crash or a full disk leaves the
previous file whole and no temporary file behind.

A failed write, whatever library raised it (safetensors and ``torch.save`` report a full disk as
their own errors), becomes one ``OSError`` whose message names the file, says whether the
previous copy is kept, and what to do (:func:`write_failed`).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable

#: Below this much free space after a failed write, the disk is taken to be full.
FULL_BYTES = 1 << 20
_FULL_WORDS = ("no space left", "os error 28", "errno 28", "storagefull", "disk quota", "file write failed")


class WriteError(OSError):
    """A write that failed; ``str()`` is the message for people (no ``[Errno 28]`` prefix)."""

    def __str__(self) -> str:
        return str(self.strerror)


def atomic_write_text(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one rename; the old file survives any failure."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)


def atomic_write_bytes(path: str, data: bytes | memoryview) -> str:
    """Replace ``path`` with ``data``. Serialise in memory first, then write with this: torch's
    own writers abort the whole process when the disk fills mid-file (a C++ error thrown while
    closing the archive); Python's file writes raise a plain ``OSError`` instead."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write(path, write)


def atomic_write(path: str, write: Callable[[str], None]) -> str:
    """Call ``write(tmp)`` to fill a temporary sibling of ``path``, then rename it over ``path``.

    On any failure the temporary file is removed and ``path`` is untouched; a failed write is
    re-raised as :func:`write_failed`'s ``OSError``.
    """
    path = os.path.abspath(path)
    stem, ext = os.path.splitext(path)
    tmp = f"{stem}.tmp{os.getpid()}{ext}"  # the extension kept: torch.export and onnx look at it
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        full = is_disk_full(exc, tmp)  # measured before the partial file is removed
        _remove(tmp)
        failed = write_failed(exc, path, full)
        if failed is not None:
            raise failed from exc
        raise
    return path


def write_failed(exc: BaseException, path: str, full: bool | None = None) -> WriteError | None:
    """The :class:`WriteError` to raise for a failed write of ``path`` (``None``: not a write failure,
    e.g. a ``KeyboardInterrupt``, re-raise as is). ``full``: :func:`is_disk_full`, if known."""
    full = is_disk_full(exc, path) if full is None else full
    if not full and not isinstance(exc, OSError):
        return None
    code = errno.ENOSPC if full else getattr(exc, "errno", None)
    reason = "No space left on device" if full else (getattr(exc, "strerror", None) or str(exc))
    kept = "the previous copy is kept" if os.path.exists(path) else "nothing was there before"
    hint = "; free some disk space and try again" if full else ""
    return WriteError(code, f"could not write {path}: {reason}; {kept}{hint}")


def is_disk_full(exc: BaseException, path: str) -> bool:
    """Whether ``exc`` (from any writer) means the disk holding ``path`` is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(exc, (OSError, RuntimeError, ValueError)) and type(exc).__name__ != "SafetensorError":
        return False
    text = str(exc).lower()
    if any(word in text for word in _FULL_WORDS):
        return True
    return free_bytes(path) < FULL_BYTES


def free_bytes(path: str) -> int:
    """Bytes an unprivileged writer may still use on the disk holding ``path`` (huge if unknown)."""
    folder = path
    while folder and not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    try:
        st = os.statvfs(folder or ".")
    except (OSError, AttributeError):  # Windows has no statvfs
        return 1 << 62
    return st.f_bavail * st.f_frsize


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


def sha256_file(path: str) -> str:
    """Hex SHA-256 of a file, read in 4 MiB blocks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)

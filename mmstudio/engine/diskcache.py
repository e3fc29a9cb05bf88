"""Decoded inputs too large for memory: a memory-mapped file per (modality, preprocessing, files).

When a modality's stacked inputs exceed the memory budget (``MMSTUDIO_CACHE_BYTES``), they are
decoded straight into a file under the cache folder and used through ``torch.from_file`` (the OS
pages in what each batch touches). The file is keyed by the preprocessing and by every file's
path, size and modification time, so a later run (or another process) on unchanged data decodes
nothing, and an edited file is never served stale. The folder is bounded by
``MMSTUDIO_CACHE_DISK_BYTES``: least recently used files go first.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import time

import torch

from mmstudio.fileio import WriteError, atomic_write_text, free_bytes, is_disk_full, write_failed

#: Default bound of the cache folder (20 GiB).
DISK_BYTES = 20 << 30


def cache_dir() -> str:
    """``$MMSTUDIO_CACHE_DIR``, else the user's cache folder (platformdirs)."""
    path = os.environ.get("MMSTUDIO_CACHE_DIR")
    if not path:
        import platformdirs

        path = os.path.join(platformdirs.user_cache_dir("mmstudio", appauthor=False), "features")
    return path


def disk_limit() -> int:
    return int(os.environ.get("MMSTUDIO_CACHE_DISK_BYTES", str(DISK_BYTES)))


def cache_name(key: tuple, paths: list[str | None]) -> str:
    """A file name that changes when the preprocessing, the file list or any file changes."""
    digest = hashlib.sha256(repr(key).encode())
    for p in paths:
        if p is None:
            digest.update(b"\0-")
            continue
        try:
            st = os.stat(p)
            digest.update(f"\0{p}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        except OSError:
            digest.update(f"\0{p}\0missing".encode())
    return f"{key[0]}-{digest.hexdigest()[:32]}"


class MappedInputs:
    """One memory-mapped tensor ``(N, *shape)`` and the indices that failed to decode."""

    def __init__(
        self, key: tuple, paths: list[str | None], shape: tuple, dtype: torch.dtype, folder: str | None = None
    ) -> None:
        self.folder = folder or cache_dir()
        self.name = cache_name(key, paths)
        self.path = os.path.join(self.folder, self.name + ".bin")
        self.meta_path = os.path.join(self.folder, self.name + ".json")
        self.shape = (len(paths), *shape)
        self.dtype = dtype
        self.numel = math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def load(self) -> tuple[torch.Tensor, list[int]] | None:
        """The finished file from an earlier run, or None (absent, incomplete or another size)."""
        try:
            with open(self.meta_path, encoding="utf-8") as fh:
                meta = json.load(fh)
            if os.path.getsize(self.path) != self.nbytes or meta.get("shape") != list(self.shape):
                return None
        except (OSError, ValueError):
            return None
        os.utime(self.path)  # recently used: evicted last
        tensor = torch.from_file(self.path, shared=False, size=self.numel, dtype=self.dtype)
        return tensor.view(self.shape), list(meta.get("failed", []))

    def create(self) -> tuple[torch.Tensor, str]:
        """A zeroed file mapped for writing (under a temporary name until :meth:`commit`).

        The file's blocks are reserved first (``posix_fallocate``): on a full disk that fails at
        once with a clear ``OSError``, where writing into a sparse mapping would kill the process
        with SIGBUS half-way through decoding. A file larger than the free space is not started.
        """
        os.makedirs(self.folder, exist_ok=True)
        evict(self.folder, disk_limit() - self.nbytes)
        free = free_bytes(self.folder)
        if self.nbytes > free:
            raise WriteError(
                errno.ENOSPC,
                f"could not write {self.path}: the decoded inputs need "
                f"{self.nbytes:,} bytes and {free:,} are free there; free "
                "some disk space, or choose smaller inputs",
            )
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                if hasattr(os, "posix_fallocate") and self.nbytes:
                    os.posix_fallocate(fd, 0, self.nbytes)
            finally:
                os.close(fd)
            tensor = torch.from_file(tmp, shared=True, size=self.numel, dtype=self.dtype)
        except BaseException as exc:
            full = is_disk_full(exc, tmp)
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise (write_failed(exc, self.path, full) or exc) from exc
        return tensor.view(self.shape), tmp

    def commit(self, tmp: str, failed: list[int]) -> None:
        """Publish a fully written file: rename, then the metadata that marks it complete. A
        cache that cannot be marked complete (a full disk) is dropped, not an error: the
        decoded tensor stays mapped for this run."""
        os.replace(tmp, self.path)
        try:
            atomic_write_text(
                self.meta_path,
                json.dumps(
                    {"shape": list(self.shape), "dtype": str(self.dtype), "failed": failed, "created": time.time()}
                ),
            )
        except OSError:
            os.unlink(self.path)


def evict(folder: str, budget: int) -> None:
    """Delete the least recently used cache files until the folder holds at most ``budget`` bytes."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for n in names:  # left by a process killed while decoding
        p = os.path.join(folder, n)
        try:
            if n.endswith(".tmp") and time.time() - os.path.getmtime(p) > 3600:
                os.unlink(p)
        except OSError:
            pass
    names = [n for n in names if n.endswith(".bin")]
    files = []
    for n in names:
        p = os.path.join(folder, n)
        try:
            st = os.stat(p)
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in files)
    for _, size, p in sorted(files):
        if total <= max(0, budget):
            break
        for victim in (p, p[:-4] + ".json"):
            with contextlib.suppress(OSError):  # another process evicted it first
                os.unlink(victim)
        total -= size

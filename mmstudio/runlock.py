"""One run at a time in a run folder: a real OS lock, released by the kernel if the run dies.

Two ``train`` commands with the same ``--out`` would interleave ``events.jsonl`` and overwrite
each other's checkpoints and bundle. The run holding the folder keeps an exclusive ``flock`` on
``OUT/.lock`` (standard library, no extra package) and writes who it is into the file; a second
run is refused with :class:`RunFolderBusy` naming that holder. ``kill -9`` or a power cut frees
the lock with the process, so nothing stale has to be cleaned up by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator

LOCK_NAME = ".lock"


class RunFolderBusy(ValueError):
    """Another live run holds the folder; the message names it (pid, host, start, command)."""


@contextlib.contextmanager
def run_folder_lock(out_dir: str) -> Iterator[None]:
    """Hold ``out_dir`` for the duration of the block, or raise :class:`RunFolderBusy`."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            raise RunFolderBusy(
                f"{os.path.abspath(out_dir)}: another run is writing to this folder "
                f"({_holder(fd)}); wait for it to finish, stop it, or choose another "
                "output folder"
            )
        _write_holder(fd)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - msvcrt locks a byte range instead
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_holder(fd: int) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.time(),
        "command": " ".join(sys.argv)[:500],
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


def _holder(fd: int) -> str:
    """Who holds the lock, as written by them (best effort: they may be writing it right now)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["started"])))
        return (
            f"process {int(info['pid'])} on {str(info['host'])[:100]}, started {when}: "
            f"{str(info.get('command', ''))[:200]}"
        )
    except (ValueError, KeyError, TypeError, OSError):
        return "a process that has not said who it is yet"

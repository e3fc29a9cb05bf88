"""Downloading published weights, only when the user asks (``mmstudio weights get``, the
weights manager's Download button).

The file is fetched by the library's own function, ``torch.hub.download_url_to_file`` (what
torchvision's and torchaudio's ``get_state_dict``/``get_model`` call), into the torch hub cache,
checking torchvision's SHA-256 prefix. It runs in a child process, so Cancel can end it at once
and nothing half-written stays: torch.hub writes ``<file>.<id>.partial`` and renames it only when
complete; a cancelled or failed download's partial file is removed. Before the child starts, one
connection to the server is tried with a short timeout, so an offline machine hears so within
seconds. Standard library only (the child imports torch).
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from mmstudio.engine.pretrained import WeightsError, WeightsInfo

#: Seconds to reach the server, and for the first bytes to arrive, before giving up.
CONNECT_TIMEOUT = 5.0
FIRST_BYTES_TIMEOUT = 10.0

_CHILD = """
import socket, sys
socket.setdefaulttimeout(float(sys.argv[4]))
from torch.hub import download_url_to_file
print("ready", flush=True)
try:
    download_url_to_file(sys.argv[1], sys.argv[2], hash_prefix=sys.argv[3] or None, progress=False)
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(3)
"""


@dataclass(frozen=True)
class DownloadProgress:
    name: str
    done: int  # bytes so far
    total: int  # expected bytes


class DownloadCancelled(WeightsError):
    """The user cancelled; nothing was kept."""


def offline_advice(info: WeightsInfo) -> str:
    return (
        f"On a machine without a network, fetch {info.url} elsewhere and import it with "
        f"`mmstudio weights import {info.file_name}` (or Settings > Models > Import file…)"
    )


def check_reachable(info: WeightsInfo, timeout: float = CONNECT_TIMEOUT) -> None:
    """One TCP connection to the weights' server; :class:`WeightsError` when it cannot be made
    within ``timeout`` seconds, name lookup included (a lookup that hangs is left behind in a
    daemon thread, not waited for)."""
    url = urlparse(info.url)
    port = url.port or (443 if url.scheme == "https" else 80)
    outcome: dict[str, BaseException | bool] = {}

    def probe() -> None:
        try:
            with socket.create_connection((url.hostname or "", port), timeout=timeout):
                outcome["ok"] = True
        except OSError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=probe, name="mmstudio-reach", daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    if outcome.get("ok"):
        return
    exc = outcome.get("error")
    reason = (
        (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        if isinstance(exc, BaseException)
        else f"no answer within {timeout:.0f} s"
    )
    raise WeightsError(
        f"could not download {info.name}: {url.hostname} cannot be reached ({reason}); "
        f"nothing was changed. {offline_advice(info)}"
    )


def download(
    info: WeightsInfo,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    poll_s: float = 0.2,
) -> str:
    """Fetch ``info`` into the hub cache; returns its path (at once when already present)."""
    dest = info.path()
    if os.path.isfile(dest):
        return dest
    check_reachable(info)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    total = int(info.mbytes * 1e6)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, info.url, dest, info.hash_prefix, str(CONNECT_TIMEOUT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Event()  # torch imported: the first-bytes clock starts (not while importing)

    def wait_ready() -> None:
        if child.stdout is not None and child.stdout.readline():
            ready.set()

    threading.Thread(target=wait_ready, name="mmstudio-download", daemon=True).start()
    start, got = None, 0
    try:
        while child.poll() is None:
            if start is None and ready.is_set():
                start = time.monotonic()
            got = max(got, _partial_bytes(dest))
            if on_progress:
                on_progress(DownloadProgress(info.name, got, total))
            if cancelled and cancelled():
                raise DownloadCancelled(f"download of {info.name} cancelled; nothing was kept")
            if not got and start is not None and time.monotonic() - start > FIRST_BYTES_TIMEOUT:
                raise WeightsError(
                    f"could not download {info.name}: no answer from {urlparse(info.url).hostname} "
                    f"within {FIRST_BYTES_TIMEOUT:.0f} s; nothing was changed. {offline_advice(info)}"
                )
            time.sleep(poll_s)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
            _remove_partials(dest)
    error = (child.stderr.read() if child.stderr else "").strip().splitlines()
    if child.returncode != 0 or not os.path.isfile(dest):
        _remove_partials(dest)
        raise WeightsError(
            f"could not download {info.name} from {info.url}: {error[-1] if error else 'the download failed'}; "
            f"nothing was changed. {offline_advice(info)}"
        )
    if on_progress:
        on_progress(DownloadProgress(info.name, os.path.getsize(dest), total))
    return dest


def _partial_bytes(dest: str) -> int:
    total = 0
    for p in glob.glob(glob.escape(dest) + ".*.partial"):
        try:
            total += os.path.getsize(p)
        except OSError:
            continue
    return total


def _remove_partials(dest: str) -> None:
    for p in glob.glob(glob.escape(dest) + ".*.partial"):
        try:
            os.unlink(p)
        except OSError:
            continue


def download_weights(
    name: str,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> str:
    """:func:`download` by catalogue name (the engine's public face)."""
    from mmstudio.engine.pretrained import find

    return download(find(name), on_progress, cancelled)

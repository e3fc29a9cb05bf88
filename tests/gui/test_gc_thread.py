"""Python's garbage collector runs on the GUI thread only (a collection in a worker thread that
frees a widget deadlocks against the GUI thread)."""

from __future__ import annotations

import gc
import threading


def test_collections_run_on_the_gui_thread_from_a_timer(qtbot):
    from mmstudio.gui.app import create_application

    create_application()
    assert not gc.isenabled()
    threads: list[str] = []

    def seen(phase: str, _info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)

    gc.callbacks.append(seen)
    try:
        kept: list = []  # tracked containers kept alive: the counts stay past the threshold
        worker = threading.Thread(target=lambda: kept.extend([] for _ in range(200_000)), name="worker")
        worker.start()
        worker.join()
        assert threads == []  # the worker allocated far past the threshold and collected nothing
        qtbot.waitUntil(lambda: bool(threads), timeout=5000)
        assert set(threads) == {threading.main_thread().name}
    finally:
        gc.callbacks.remove(seen)

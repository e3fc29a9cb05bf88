"""Fixtures for window tests: a main window (drops of local files are in ``gui_helpers``)."""

from __future__ import annotations

import gc

import pytest

from mmstudio.gui.app import create_application


@pytest.fixture(autouse=True)
def _collect_garbage_here():
    """Each test's widgets are freed on the GUI thread when it ends (the app collects on that
    thread only: see ``collect_garbage_on_gui_thread``), never by a later test's worker."""
    yield
    gc.collect()


@pytest.fixture
def window(qtbot):
    create_application()
    from mmstudio.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.data_panel.thumbnails.clear()

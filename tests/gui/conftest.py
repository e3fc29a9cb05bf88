"""Fixtures for window tests: a main window (drops of local files are in ``gui_helpers``)."""

from __future__ import annotations

import pytest

from mmstudio.gui.app import create_application


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

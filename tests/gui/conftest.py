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


@pytest.fixture(autouse=True)
def _no_modal_message_boxes(monkeypatch):
    """A message box no test asked for answers at once instead of waiting for a click that
    never comes (a failed assertion that left a project unsaved hung the whole run when the
    window closed): questions are answered "Discard"/"No", the rest "Ok". Tests that mean to
    see a dialog patch it themselves, after this."""
    from PySide6.QtWidgets import QMessageBox

    buttons = QMessageBox.StandardButton

    def answer(*args, **kwargs):
        offered = next((a for a in args if isinstance(a, buttons)), buttons.Discard | buttons.No)
        for safe in (buttons.Discard, buttons.No, buttons.Cancel, buttons.Ok):
            if offered & safe:
                return safe
        return buttons.Ok

    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, answer)


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

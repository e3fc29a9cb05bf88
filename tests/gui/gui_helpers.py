"""Simulated drops of local files on the window, for the GUI tests (a unique module name: every
test folder has its own ``conftest``, so importing helpers from one depended on test order)."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def drop_paths(target, paths) -> None:
    """Drag local ``paths`` over ``target`` and drop them, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = target.rect().center()
    enter = QDragEnterEvent(
        center, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QDropEvent(
        QPointF(center), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, drop)


def drop_and_wait(qtbot, win, target, paths, timeout: int = 30000):
    """Drop ``paths`` on ``target`` and return the Dataset the Data panel loaded."""
    with qtbot.waitSignal(win.data_panel.dataset_loaded, timeout=timeout) as blocker:
        drop_paths(target, paths)
    return blocker.args[0]

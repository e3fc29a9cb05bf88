"""Small helpers for the main window's input: its keyboard shortcuts, and the files of a drop.

Shortcuts are made without touching Qt's ``Qt`` namespace: PySide builds all of its ~90 enum
classes at once on first use (25-55 ms, a tenth of the start-up; issue 15), and
``QAction.setShortcut(QKeySequence)`` does so through its overloads that take a ``Qt.Key``.
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence


def key_sequences(shortcut: str | QKeySequence.StandardKey) -> list[QKeySequence]:
    """For ``QAction.setShortcuts``: "Ctrl+Shift+P", or a standard key's first binding on this
    platform (none where it has none), as ``QKeySequence(shortcut)`` reads them."""
    if isinstance(shortcut, str):
        return [QKeySequence.fromString(shortcut)]
    return QKeySequence.keyBindings(shortcut)[:1]


def local_paths(event) -> list[str]:
    """The local files and folders a drag or drop event carries."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]

"""An honest empty state for a panel whose features are not built yet."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class PendingPanel(QWidget):
    """Says what the panel will do and what the user can do meanwhile (the CLI, for instance)."""

    def __init__(self, title: str, purpose: str, meanwhile: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel(f"<h2>{title}</h2>")
        body = QLabel(f"<p>{purpose}</p><p style='color:#777'>{meanwhile}</p>")
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(heading, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(body, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        body.setMaximumWidth(640)

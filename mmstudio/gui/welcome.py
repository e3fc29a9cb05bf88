"""The welcome page: what the studio shows first, with the offline demo one click away.

It offers the two bundled demos (a trained model that answers at once, no training and no
network), a new or existing project, a dataset, and the recent projects.

The page is what the window first paints, so it is built without Qt's ``Qt`` namespace: PySide
makes all of its ~90 enum classes at once on first use (25-55 ms, a tenth of the start-up; issue
15). What needs it (the focus policy, the recent projects' list) waits for the first paint.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.paths import CLIPART_BUNDLE, DEMO_BUNDLE, ICON

DEMOS = {
    "digits": (
        "Digits: see, hear and read",
        "500 handwritten digits, each with a spoken digit and a caption. A trained model "
        "classifies them and finds pictures for words: ask it “seven”.",
        DEMO_BUNDLE,
    ),
    "clipart": (
        "Clip art: words to drawings",
        "300 public-domain drawings with their titles. A trained model finds drawings "
        "for a few words: ask it “flag”, “fruit” or “house”.",
        CLIPART_BUNDLE,
    ),
}


class WelcomePage(QWidget):
    """Signals what the user chose; the main window does it."""

    demo_requested = Signal(str)  # "digits" or "clipart"
    new_requested = Signal()
    open_requested = Signal()
    open_dataset_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.demo_buttons: dict[str, QPushButton] = {}
        self._painted = False
        self._recent: list[str] = []  # shown in the list once the page has been painted
        demos = QGridLayout()
        demos.setHorizontalSpacing(16)
        for col, key in enumerate(DEMOS):
            demos.addWidget(self._demo_card(key), 0, col)
        lower = QHBoxLayout()
        lower.addLayout(self._start_column(), 1)
        lower.addLayout(self._recent_column(), 2)
        column = QVBoxLayout()
        column.setSpacing(24)
        column.addLayout(self._head())
        column.addLayout(demos)
        column.addLayout(lower)
        column.addStretch(1)
        inner = QWidget()
        inner.setMaximumWidth(900)
        inner.setLayout(column)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(32, 32, 32, 32)
        outer.addStretch(1)
        outer.addWidget(inner, 8)
        outer.addStretch(1)

    def _head(self) -> QHBoxLayout:
        logo = QLabel()
        logo.setPixmap(QIcon(str(ICON)).pixmap(72, 72))
        title = QLabel("<h1 style='margin:0'>Welcome to MMStudio</h1>")
        subtitle = QLabel("Build, train and ask models that see, hear and read. Everything here works offline.")
        subtitle.setObjectName("muted")
        subtitle.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(logo)
        words = QVBoxLayout()
        words.addWidget(title)
        words.addWidget(subtitle)
        head.addLayout(words, 1)
        return head

    def _demo_card(self, key: str) -> QFrame:
        """A bundled demo: its name, what it shows, and the button that opens it."""
        name, text, bundle = DEMOS[key]
        card = QFrame()
        card.setObjectName("card")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        box = QVBoxLayout(card)
        heading = QLabel(f"<h3 style='margin:0'>{name}</h3>")
        body = QLabel(text)
        body.setWordWrap(True)
        button = QPushButton("Try the demo" if key == "digits" else "Try it")
        button.setObjectName("primary" if key == "digits" else "")
        button.setDefault(key == "digits")
        button.setEnabled(os.path.isfile(os.path.join(bundle, "bundle.json")))
        if not button.isEnabled():
            button.setToolTip(f"The demo model is missing ({bundle}); run scripts/make_demo.py")
        button.clicked.connect(lambda _checked=False, k=key: self.demo_requested.emit(k))
        self.demo_buttons[key] = button
        row = QHBoxLayout()  # the button at its own width, on the left (no Qt.AlignmentFlag yet)
        row.addWidget(button)
        row.addStretch(1)
        box.addWidget(heading)
        box.addWidget(body, 1)
        box.addLayout(row)
        return card

    def _start_column(self) -> QVBoxLayout:
        start = QVBoxLayout()
        start.addWidget(QLabel("<h3 style='margin:0'>Start</h3>"))
        for text, signal in (
            ("New Project", self.new_requested),
            ("Open Project…", self.open_requested),
            ("Open a Dataset…", self.open_dataset_requested),
        ):
            b = QPushButton(text)
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            b.clicked.connect(signal.emit)
            start.addWidget(b)
        hint = QLabel("Or drop a dataset folder or manifest anywhere on the window.")
        hint.setObjectName("muted")
        hint.setWordWrap(True)
        start.addWidget(hint)
        start.addStretch(1)
        return start

    def _recent_column(self) -> QVBoxLayout:
        recent = QVBoxLayout()
        recent.addWidget(QLabel("<h3 style='margin:0'>Recent projects</h3>"))
        self.recent_list = QListWidget()
        self.recent_list.setMaximumHeight(180)
        self.recent_list.itemActivated.connect(self._on_recent_activated)
        recent.addWidget(self.recent_list)
        return recent

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._painted:  # the rest of the page, right after its first paint
            self._painted = True
            QTimer.singleShot(0, self, self._after_first_paint)

    def _after_first_paint(self) -> None:
        from PySide6.QtCore import Qt

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click beside the buttons takes the focus
        self.set_recent(self._recent)

    def _on_recent_activated(self, item: QListWidgetItem) -> None:
        from PySide6.QtCore import Qt

        self.recent_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def set_recent(self, paths: list[str]) -> None:
        """List these project files (the newest first); before the first paint, only kept."""
        self._recent = list(paths)
        if not self._painted:
            return
        from PySide6.QtCore import Qt

        self.recent_list.clear()
        for path in paths:
            item = QListWidgetItem(f"{os.path.basename(path)}  —  {os.path.dirname(path)}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent_list.addItem(item)
        if not paths:
            item = QListWidgetItem("No recent projects yet: File ▸ Save Project keeps your work.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent_list.addItem(item)

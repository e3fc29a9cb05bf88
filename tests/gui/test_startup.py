"""Start-up (issue 15): what the window does before its first paint, and what waits until after.

No timing here (scripts/bench_startup.py measures it): these tests pin down what keeps the first
paint cheap, so a change that loads something heavy before it fails here and not only in the
benchmark. The window is opened as ``mmstudio.gui.app.run`` opens it, in a child process, and
what was loaded is read when ``window_shown`` fires (the moment the benchmark's probe takes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QKeySequence

#: Loaded after the window shows, never before: the panels' libraries and the engine, Qt modules
#: the window does not draw with, the project format, and what only saving or recovering a
#: project uses (json, glob; a bare PySide6 window loads neither).
NOT_BEFORE_THE_WINDOW = (
    "json",
    "glob",
    "pyqtgraph",
    "numpy",
    "PIL",
    "torch",
    "mmstudio.data",
    "mmstudio.engine",
    "mmstudio.project",
    "mmstudio.cli",
    "PySide6.QtSvg",
    "PySide6.QtSvgWidgets",
    "PySide6.QtCharts",
    "PySide6.QtMultimedia",
)

OPEN_AS_RUN_DOES = """
import sys
import PySide6.QtCore as QtCore
from mmstudio.gui.app import create_application
app = create_application()
from mmstudio.gui.main_window import MainWindow
window = MainWindow()
seen = {}

def shown():
    seen["modules"] = sorted(sys.modules)
    # PySide builds the ``Qt`` namespace (all of its ~90 enum classes at once) on first use
    seen["qt_namespace"] = "Qt" in QtCore.__dict__

window.window_shown.connect(shown)
window.show_welcome()
window.show()
app.processEvents()
from PySide6.QtCore import Qt  # the check above sees it once it is used
seen["qt_namespace_after"] = "Qt" in QtCore.__dict__
import json  # not before: the test looks for it
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def first_show(tmp_path_factory) -> dict:
    config = tmp_path_factory.mktemp("config")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(config)}
    out = subprocess.run([sys.executable, "-c", OPEN_AS_RUN_DOES], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="offscreen Qt in a child process")
def test_nothing_heavy_is_imported_before_the_window_shows(first_show):
    loaded = set(first_show["modules"])
    early = [m for m in NOT_BEFORE_THE_WINDOW if m in loaded or any(n.startswith(m + ".") for n in loaded)]
    assert early == [], f"imported before the window showed: {early}"
    assert "mmstudio.gui.main_window" in loaded  # the check looked at the right moment


@pytest.mark.skipif(sys.platform != "linux", reason="offscreen Qt in a child process")
def test_the_qt_namespace_is_not_built_before_the_window_shows(first_show):
    """``from PySide6.QtCore import Qt`` (or a call whose overloads take a ``Qt`` enum, such as
    ``QAction.setShortcut`` or ``QPalette(QPalette)``) builds ~90 enum classes: 25-55 ms, a tenth
    of the start-up. The window's first paint needs none of them."""
    assert first_show["qt_namespace"] is False, "something before the first paint used PySide6.QtCore.Qt"
    assert first_show["qt_namespace_after"] is True, "the check sees the namespace once it is built"


def test_menu_shortcuts_are_the_platform_standard_keys(window):
    """The menus set their shortcuts without ``QKeySequence(StandardKey)`` and get the same keys."""
    actions = {a.text(): a for menu in window.menuBar().findChildren(type(window.recent_menu)) for a in menu.actions()}
    assert actions["&Save Project"].shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert actions["&Open Dataset…"].shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert actions["&Quit"].shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    assert actions["Open &Project…"].shortcut().toString() == "Ctrl+Shift+P"
    assert actions["&Re-scan Dataset"].shortcut().toString() == "F5"
    assert actions["Data"].shortcut().toString() == "Ctrl+1"


def test_the_welcome_page_fills_in_after_its_first_paint(qtbot, tmp_path):
    """The recent projects and the page's click focus come right after the first paint."""
    from PySide6.QtCore import Qt

    from mmstudio.gui.app import create_application
    from mmstudio.gui.welcome import WelcomePage

    create_application()
    project = tmp_path / "mine.mmstudio"
    project.write_text("{}")
    page = WelcomePage()
    qtbot.addWidget(page)
    page.set_recent([str(project)])
    assert page.recent_list.count() == 0, "kept until the page is painted"
    page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: page.recent_list.count() == 1)
    assert page.focusPolicy() == Qt.FocusPolicy.StrongFocus
    with qtbot.waitSignal(page.recent_requested) as opened:
        page.recent_list.itemActivated.emit(page.recent_list.item(0))
    assert opened.args == [str(project)]
    page.set_recent([])  # painted: at once, with the placeholder that cannot be chosen
    assert page.recent_list.count() == 1
    assert page.recent_list.item(0).flags() == Qt.ItemFlag.NoItemFlags


def test_the_window_is_polished_by_name_before_its_panels_exist(qtbot):
    """The window's first polish finds its themed widgets by name (no wrapper for the others);
    a full polish, as each panel gets when built, also styles widgets by class."""
    from PySide6.QtWidgets import QFrame, QProgressBar, QPushButton, QWidget

    from mmstudio.gui import theme
    from mmstudio.gui.app import create_application

    create_application()
    root = QWidget()
    qtbot.addWidget(root)
    card, button, bar = QFrame(root), QPushButton("Go", root), QProgressBar(root)
    card.setObjectName("card")
    button.setObjectName("primary")
    theme.polish(root, by_class=False)
    assert card.autoFillBackground() and "#primary" in button.styleSheet()
    assert bar.styleSheet() == "", "classes are left to a full polish"
    theme.polish(root)
    assert "QProgressBar" in bar.styleSheet()

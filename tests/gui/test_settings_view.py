"""Settings as a new user sees it: the automatic decoding figure is plain and never above the
CPU count, a theme chosen shows at once (and Cancel puts the old one back), and the Models
tab's rows are one line from the first paint, a download's progress appearing in place."""

from __future__ import annotations

import os
import threading

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from mmstudio.gui.settings import Settings, apply_settings, apply_theme
from mmstudio.gui.settings_dialog import SettingsDialog

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def restore_settings(qapp):
    yield
    QSettings().clear()
    apply_settings(Settings.load(), qapp)
    apply_theme(qapp, "system")
    for var in ("MMSTUDIO_CACHE_BYTES", "MMSTUDIO_CACHE_DISK_BYTES", "MMSTUDIO_WORKERS", "MMSTUDIO_CACHE_DIR"):
        os.environ.pop(var, None)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def test_automatic_workers_are_at_most_one_per_cpu_and_said_plainly(qtbot, restore_settings, monkeypatch):
    from mmstudio.engine import autoconfig

    monkeypatch.delenv("MMSTUDIO_WORKERS", raising=False)
    monkeypatch.setattr(autoconfig.os, "cpu_count", lambda: 2)
    dialog = SettingsDialog(settings=Settings(workers=0))
    qtbot.addWidget(dialog)
    assert dialog.workers.value() == 0
    assert dialog.workers.specialValueText() == "Automatic (2: one per CPU)"
    dialog.reject()


def test_a_theme_chosen_shows_at_once_and_cancel_puts_the_old_one_back(qtbot, restore_settings, torch_home):
    app = QApplication.instance()
    apply_theme(app, "light")
    dialog = SettingsDialog(settings=Settings(theme="light"))
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))  # no OK yet
    assert app.property("mmstudio_theme") == "dark"
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
    dialog.reject()
    assert app.property("mmstudio_theme") == "light"
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 180
    assert Settings.load().theme != "dark"  # nothing saved by a preview

    again = SettingsDialog(settings=Settings(theme="light"))
    qtbot.addWidget(again)
    again.theme.setCurrentIndex(again.theme.findData("dark"))
    again.accept()  # OK keeps it, and saves it
    assert app.property("mmstudio_theme") == "dark" and Settings.load().theme == "dark"


def _heights(table) -> list[int]:
    return [table.rowHeight(i) for i in range(table.rowCount())]


def test_weights_rows_are_one_line_from_the_first_paint_and_progress_moves_nothing(qtbot, torch_home, monkeypatch):
    from mmstudio import engine
    from mmstudio.engine.downloads import DownloadCancelled, DownloadProgress

    release = threading.Event()

    def slow_download(name, on_progress, cancelled):  # stands in for the network
        on_progress(DownloadProgress(name, 5_000_000, 20_000_000))
        release.wait(30)
        raise DownloadCancelled("cancelled")

    monkeypatch.setattr(engine, "download_weights", slow_download)
    dialog = SettingsDialog(settings=Settings())
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentIndex(1)
    dialog.show()
    qtbot.waitExposed(dialog)
    manager = dialog.models
    table = manager.table
    line = table.fontMetrics().lineSpacing()
    first = _heights(table)
    assert len(first) >= 5 and all(h <= 2 * line for h in first), (first, line)
    assert len(set(first)) == 1  # every row the same single line
    before = (table.geometry(), manager.download_button.geometry())
    manager.select("resnet18.imagenet1k_v1")
    with qtbot.waitSignal(manager._progressed, timeout=10_000):
        manager.download_button.click()
    assert manager.progress.isVisible() and "25%" in manager.progress.text()
    row = [r["name"] for r in manager._rows].index("resnet18.imagenet1k_v1")
    assert table.item(row, 4).text() == "downloading 25%"
    QApplication.processEvents()  # the layout after the progress appeared
    assert _heights(table) == first
    assert (table.geometry(), manager.download_button.geometry()) == before
    with qtbot.waitSignal(manager.lane.busy_changed, timeout=10_000, check_params_cb=lambda busy: not busy):
        release.set()
    assert not manager.progress.isVisible() and table.item(row, 4).text() == "no"
    assert _heights(table) == first
    dialog.reject()

"""Settings: stored with QSettings under the tests' own config folder (never the user's), the
dialog saves and applies them (engine limits exported, theme applied, default device used)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette

from mmstudio.gui import settings as settings_module
from mmstudio.gui.settings import Settings, apply_settings
from mmstudio.gui.settings_dialog import SettingsDialog

REAL_CONFIG = Path(os.path.expanduser("~")) / ".config" / "MMStudio"


@pytest.fixture
def restore_settings(qapp):
    yield
    QSettings().clear()
    apply_settings(Settings.load(), qapp)  # back to the defaults for the tests after this one
    for var in ("MMSTUDIO_CACHE_BYTES", "MMSTUDIO_CACHE_DISK_BYTES", "MMSTUDIO_WORKERS", "MMSTUDIO_CACHE_DIR"):
        os.environ.pop(var, None)


def _stat(path: Path):
    return [(p, p.stat().st_mtime_ns) for p in sorted(path.rglob("*"))] if path.exists() else None


def test_settings_live_in_the_isolated_config_folder_and_the_real_one_is_untouched(qtbot, window, restore_settings):
    before = _stat(REAL_CONFIG)
    path = QSettings().fileName()
    assert path.startswith(os.environ["XDG_CONFIG_HOME"]), path
    assert not path.startswith(str(REAL_CONFIG))
    Settings(device="cpu", theme="light", workers=3).save()
    assert Path(path).is_file()
    assert _stat(REAL_CONFIG) == before


def test_the_dialog_saves_applies_and_shows_the_settings_again(qtbot, window, restore_settings, tmp_path):
    dialog = SettingsDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.settings() == Settings.load()  # defaults at first
    assert dialog.settings().cache_dir == settings_module.default_cache_dir()
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.cache_dir.setText(str(tmp_path / "cache"))
    dialog.cache_gb.setValue(5.0)
    dialog.memory_gb.setValue(1.5)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.workers.setValue(3)
    dialog.accept()
    saved = Settings.load()
    assert saved == Settings(
        device="cpu", cache_dir=str(tmp_path / "cache"), cache_gb=5.0, memory_gb=1.5, theme="dark", workers=3
    )
    assert os.environ["MMSTUDIO_CACHE_DISK_BYTES"] == str(5 << 30)
    assert os.environ["MMSTUDIO_CACHE_BYTES"] == str(int(1.5 * (1 << 30)))
    assert os.environ["MMSTUDIO_CACHE_DIR"] == str(tmp_path / "cache")
    assert os.environ["MMSTUDIO_WORKERS"] == "3"
    app = qtbot_app()
    assert app.property("mmstudio_theme") == "dark"
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
    again = SettingsDialog(window)
    qtbot.addWidget(again)
    assert again.settings() == saved
    again.theme.setCurrentIndex(again.theme.findData("light"))
    again.accept()
    assert app.property("mmstudio_theme") == "light"
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 180


def test_the_engine_reads_the_workers_setting(monkeypatch):
    from mmstudio.engine import cache  # noqa: PLC0415 - the engine side of the setting

    seen = []

    class Pool:
        def __init__(self, max_workers):
            seen.append(max_workers)

        def map(self, fn, work):
            return map(fn, work)

        def shutdown(self, **_kwargs):
            pass

    monkeypatch.setattr(cache, "ThreadPoolExecutor", Pool)
    monkeypatch.setenv("MMSTUDIO_WORKERS", "3")
    list(cache._run_pool("image", lambda _p: None, ["a", "b"], None))
    assert seen == [3]


def test_unknown_stored_values_fall_back_to_defaults(qtbot, window, restore_settings):
    qs = QSettings()
    qs.setValue("engine/device", "tpu")
    qs.setValue("appearance/theme", "neon")
    qs.setValue("data/workers", "many")
    qs.sync()
    assert Settings.load() == Settings(cache_dir=settings_module.default_cache_dir())


def qtbot_app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance()

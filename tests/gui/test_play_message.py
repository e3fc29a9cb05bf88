"""Play's "No audio output device…" message (issue 15) fits the Data panel's preview column: it
wraps there and never widens the window (it once grew 1440 -> 1749 px, tabs off-screen)."""

from __future__ import annotations

from gui_helpers import drop_and_wait
from PySide6.QtCore import Qt
from synth import make_triplet_dataset

MESSAGE = "No audio output device was found, so the clip cannot be played (connect speakers or headphones)."


def test_no_device_message_wraps_in_the_column_and_the_window_keeps_its_width(qtbot, window, tmp_path, monkeypatch):
    from mmstudio.gui.widgets import audio_view as audio_view_module

    monkeypatch.setattr(audio_view_module, "playback_problem", lambda: MESSAGE)
    window.resize(1440, 900)
    manifest = make_triplet_dataset(tmp_path / "trip", classes=2, per_class=4)
    drop_and_wait(qtbot, window, window.data_panel.table.viewport(), [manifest])
    view = window.data_panel.audio_view
    qtbot.waitUntil(lambda: "Hz" in view.caption.text(), timeout=10000)
    qtbot.wait(200)
    width, column = window.width(), view.width()
    qtbot.mouseClick(view.play_button, Qt.MouseButton.LeftButton)
    assert view.caption.text() == MESSAGE
    qtbot.wait(300)  # layouts settle
    assert window.width() == width and view.width() == column
    assert view.caption.width() < view.caption.fontMetrics().horizontalAdvance(MESSAGE)  # so it wraps

"""Waveform + spectrogram of one clip, with a play button (QtMultimedia, created on first use)."""

from __future__ import annotations

import functools
import os

import pyqtgraph as pg
from PySide6.QtCore import QUrl, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStyle, QVBoxLayout, QWidget

from mmstudio.data.preview import audio_preview
from mmstudio.gui import theme
from mmstudio.gui.widgets.playback import playback_problem
from mmstudio.gui.workers import run_in_thread

theme.configure_pyqtgraph()  # new plots start in the theme's colours


class AudioView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path: str | None = None
        self._player = None
        self._worker = None
        self.play_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self.play_button.setEnabled(False)
        self.play_button.setToolTip("Play this clip (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.caption = QLabel("No audio")
        self.caption.setObjectName("muted")
        # Long captions (a file name, why the clip cannot play) wrap in the column, never widen it
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.wave_plot = pg.PlotWidget()
        self.wave_plot.setMenuEnabled(False)
        self.wave_plot.setMouseEnabled(x=True, y=False)
        self.wave_plot.setLabel("bottom", "time", units="s")
        self.wave_plot.setMinimumHeight(90)
        self.wave_plot.hideAxis("left")
        self._hi = self.wave_plot.plot(pen=pg.mkPen("#3d7bd9"))
        self._lo = self.wave_plot.plot(pen=pg.mkPen("#3d7bd9"))
        self._fill = pg.FillBetweenItem(self._lo, self._hi, brush=pg.mkBrush(61, 123, 217, 120))
        self.wave_plot.addItem(self._fill)
        self.spec_plot = pg.PlotWidget()
        self.spec_plot.setMenuEnabled(False)
        self.spec_plot.setLabel("left", "frequency", units="Hz")
        self.spec_plot.setLabel("bottom", "time", units="s")
        self.spec_plot.setMinimumHeight(120)
        self._image = pg.ImageItem()
        self._image.setColorMap(pg.colormap.get("viridis"))
        self.spec_plot.addItem(self._image)
        top = QHBoxLayout()
        top.addWidget(self.play_button)
        top.addWidget(self.caption, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.wave_plot, 1)
        layout.addWidget(self.spec_plot, 2)

    @property
    def path(self) -> str | None:
        return self._path

    def show_clip(self, path: str | None) -> None:
        """Show ``path`` (computing the preview off the GUI thread), or clear for None."""
        self.stop()
        self._path = path
        self.play_button.setEnabled(bool(path))
        if not path:
            self.clear("No audio for this item")
            return
        self.caption.setText(os.path.basename(path) + " — loading…")
        self._worker = run_in_thread(
            audio_preview, path, on_done=self._on_preview, on_error=functools.partial(self._on_error, path)
        )

    def clear(self, caption: str = "No audio") -> None:
        """Show nothing: no waveform, fill or spectrogram, and the axes back to where an empty
        view starts (the fill keeps its last outline when its curves empty: it is hidden)."""
        self.stop()
        self._path = None
        self.play_button.setEnabled(False)
        self.caption.setText(caption)
        self._hi.setData([], [])
        self._lo.setData([], [])
        self._fill.hide()
        self._image.clear()
        for plot in (self.wave_plot, self.spec_plot):
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.wave_plot.enableAutoRange()  # the next clip's waveform fits (its spectrogram is fitted on arrival)

    def is_empty(self) -> bool:
        """Whether nothing of a clip is drawn (no curve points, no fill, no spectrogram)."""
        points = len(self._hi.getData()[0] if self._hi.getData()[0] is not None else [])
        return not points and not self._fill.isVisible() and self._image.image is None

    @Slot(object)
    def _on_preview(self, p: dict) -> None:
        if p["path"] != self._path:
            return  # the user has moved on to another item
        self.caption.setText(f"{os.path.basename(p['path'])}   {p['seconds']:.2f} s at {p['rate']:,} Hz")
        self._hi.setData(p["times"], p["hi"])
        self._lo.setData(p["times"], p["lo"])
        self._fill.show()
        spec = p["spectrogram"]
        self._image.setImage(spec, autoLevels=True)
        self._image.setRect(0, 0, spec.shape[0] * p["frame_seconds"], spec.shape[1] * p["bin_hz"])
        self.spec_plot.autoRange(padding=0)

    def _on_error(self, path: str, exc: BaseException) -> None:
        if path == self._path:
            self.caption.setText(f"{os.path.basename(path)}: cannot be decoded ({exc})")

    def toggle_play(self) -> None:
        if not self._path:
            return
        problem = playback_problem()
        if problem:  # say it: a Play button that does nothing is a broken one
            self.caption.setText(problem)
            self.caption.setToolTip(problem)
            return
        player = self._media_player()
        from PySide6.QtMultimedia import QMediaPlayer

        if player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            player.stop()
            return
        player.setSource(QUrl.fromLocalFile(self._path))
        player.play()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def _media_player(self):
        if self._player is None:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

            self._player = QMediaPlayer(self)
            self._output = QAudioOutput(self)
            self._player.setAudioOutput(self._output)
            self._player.playbackStateChanged.connect(self._on_state)
            self._player.errorOccurred.connect(self._on_player_error)
        return self._player

    @Slot()
    def _on_player_error(self, _error, message: str = "") -> None:
        self.caption.setText(f"Cannot play {os.path.basename(self._path or '')}: {message or 'playback failed'}")

    @Slot()
    def _on_state(self, state) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        playing = state == QMediaPlayer.PlaybackState.PlayingState
        icon = QStyle.StandardPixmap.SP_MediaStop if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText("Stop" if playing else "Play")

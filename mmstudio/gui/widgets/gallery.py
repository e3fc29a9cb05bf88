"""A wrapping gallery of samples, each card showing every modality it has: a thumbnail, the
text, a play button for the audio, and a caption (labels, scores). Used for misclassified
samples, a confusion cell's samples and query results."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QCursor, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QStyle,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui import theme
from mmstudio.gui.widgets.elide import ElidedLabel
from mmstudio.gui.widgets.playback import playback_problem
from mmstudio.gui.widgets.thumbnails import ThumbnailCache
from mmstudio.gui.widgets.wave_thumbs import WaveformCache

if TYPE_CHECKING:  # QtMultimedia loads on first use (it starts FFmpeg)
    from PySide6.QtMultimedia import QMediaPlayer

CARD = QSize(216, 172)
THUMB = 76
MODALITIES = ("image", "audio", "text")


class ClipPlayer:
    """One shared QMediaPlayer (created on first use): ``toggle(path)`` plays or stops."""

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self._player: QMediaPlayer | None = None  # made on first use (QtMultimedia)
        self.path: str | None = None

    def toggle(self, path: str) -> str:
        """Start ``path`` (or stop it when it is the clip playing); '' or why it cannot play."""
        problem = playback_problem()
        if problem:
            return problem
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        player = self._player
        if player is None:
            player = self._player = QMediaPlayer(self._parent)
            self._output = QAudioOutput(self._parent)
            player.setAudioOutput(self._output)
        playing = player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        player.stop()
        if playing and self.path == path:
            self.path = None
            return ""
        self.path = path
        player.setSource(QUrl.fromLocalFile(path))
        player.play()
        return ""

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()


class SampleCard(QFrame):
    """One sample: ``sample`` holds id, image, audio, text and a ``caption`` (rich text, lines
    split by ``<br>``). It shows the modalities the data has (``modalities``): a thumbnail of
    the image, else a waveform of the clip, a play button for audio, the text; a placeholder
    only for a modality the data has and this item lacks. Long lines are elided in the middle
    (the tooltip holds them whole)."""

    play_requested = Signal(str)

    def __init__(self, sample: dict, modalities: set[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample = sample
        has = modalities if modalities is not None else {m for m in MODALITIES if sample.get(m)}
        # colours: the gallery's palette (theme.ROLES["gallery"]): Window here, Base behind
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.thumb = self._thumb(sample, has)
        self.caption = ElidedLabel()
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.text = self._text(sample, has)
        self.play = self._play_button(sample.get("audio"))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        if self.thumb is not None:
            top.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        # No text: the caption goes under the picture, across the card (ids need the width)
        below = self.text is None and self.thumb is not None
        side = QVBoxLayout()
        if not below:
            side.addWidget(self.caption)
        if self.play is not None and not below:  # under the caption, never over it; none without audio
            side.addWidget(self.play, 0, Qt.AlignmentFlag.AlignLeft)
        side.addStretch(1)
        top.addLayout(side, 1)
        self.restyle(theme.current())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        if below:
            layout.addWidget(self.caption)
            if self.play is not None:
                layout.addWidget(self.play, 0, Qt.AlignmentFlag.AlignLeft)
        if self.text is not None:
            layout.addWidget(self.text, 1)
        else:
            layout.addStretch(1)
        self.setToolTip(str(sample.get("id", "")))

    def _thumb(self, sample: dict, has: set[str]) -> QLabel | None:
        """The picture: the image, else (audio data without images) the clip's waveform."""
        if "image" not in has and not ("audio" in has and sample.get("audio")):
            return None  # nothing to picture: the caption and text take the room
        placeholder = "no image" if "image" in has else "no audio"
        thumb = QLabel("…" if sample.get("image") or sample.get("audio") else placeholder)
        thumb.setAutoFillBackground(True)
        thumb.setBackgroundRole(QPalette.ColorRole.Base)
        thumb.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        thumb.setFixedSize(THUMB, THUMB)
        thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return thumb

    @property
    def pictures(self) -> str:
        """What the thumbnail shows: 'image', 'audio' (a waveform) or '' (no thumbnail)."""
        if self.thumb is None:
            return ""
        return "image" if self.sample.get("image") or not self.sample.get("audio") else "audio"

    @staticmethod
    def _text(sample: dict, has: set[str]) -> ElidedLabel | None:
        text = sample.get("text")
        if not text and "text" not in has:
            return None  # the data has no text: no "no text" either
        label = ElidedLabel(str(text) if text else "no text", wrap=True)
        label.setObjectName("cardtext")
        if not text:
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        return label

    def _play_button(self, audio: str | None) -> QToolButton | None:
        if not audio:
            return None
        play = QToolButton()
        play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        play.setToolTip(f"Play {os.path.basename(audio)}")
        play.clicked.connect(lambda: self.play_requested.emit(audio))
        return play

    def restyle(self, colors: theme.Colors) -> None:
        """The caption's inline colours for the theme (the card itself follows the palette)."""
        self.caption.set_full_text(theme.adapt_html(self.sample.get("caption", ""), colors))

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        if self.thumb is None:
            return
        if pixmap is None or pixmap.isNull():
            self.thumb.setText("unreadable")
            return
        small = pixmap.width() < THUMB / 2
        self.thumb.setPixmap(
            pixmap.scaled(
                THUMB,
                THUMB,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation if small else Qt.TransformationMode.SmoothTransformation,
            )
        )


class SampleGallery(QListWidget):
    """``set_samples(samples, limit)``: cards in rows that wrap with the width."""

    sample_clicked = Signal(dict)
    message = Signal(str)  # e.g. why a clip cannot be played (panels show it in the status bar)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setGridSize(CARD + QSize(8, 8))
        self.setSpacing(4)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.setObjectName("gallery")
        theme.polish_widget(self)
        self.thumbnails = ThumbnailCache(size=THUMB, capacity=2000, parent=self)
        self.thumbnails.ready.connect(self._on_thumbnail_ready)
        self.waveforms = WaveformCache(size=THUMB, capacity=500, parent=self)
        self.waveforms.ready.connect(self._on_waveform_ready)
        self.player = ClipPlayer(self)
        self.cards: list[SampleCard] = []
        self.itemClicked.connect(self._on_item_clicked)

    @Slot(QListWidgetItem)
    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.sample_clicked.emit(cast(SampleCard, self.itemWidget(item)).sample)

    def set_samples(self, samples: list[dict], limit: int = 120, modalities: set[str] | None = None) -> None:
        """Cards for the first ``limit`` samples; ``modalities``: what the data has (by default
        what any of these samples has), so that no card shows a placeholder for another."""
        self.clear()
        self.cards = []
        has = modalities if modalities is not None else data_modalities(samples)
        for sample in samples[:limit]:
            item = QListWidgetItem(self)
            item.setSizeHint(CARD)
            card = SampleCard(sample, has)
            card.play_requested.connect(self._on_play)
            card.resize(CARD)  # laid out now, at its size in the grid: captions elided to fit at once
            cast(QVBoxLayout, card.layout()).activate()
            self.setItemWidget(item, card)
            card.setBackgroundRole(QPalette.ColorRole.Window)  # the view made it Base, as behind it
            self.cards.append(card)
            path = self._picture_path(card)
            if path:
                pixmap = (self.thumbnails if card.pictures == "image" else self.waveforms).get(path)
                if pixmap is not None:
                    card.set_pixmap(pixmap)

    @staticmethod
    def _picture_path(card: SampleCard) -> str | None:
        return card.sample.get(card.pictures) if card.pictures else None

    @Slot(str)
    def _on_thumbnail_ready(self, path: str) -> None:
        pixmap = self.thumbnails.get(path)
        for card in self.cards:
            if card.pictures == "image" and card.sample.get("image") == path:
                card.set_pixmap(pixmap)

    @Slot(str)
    def _on_waveform_ready(self, path: str) -> None:
        pixmap = self.waveforms.get(path)
        for card in self.cards:
            if card.pictures == "audio" and card.sample.get("audio") == path:
                card.set_pixmap(pixmap)

    @Slot(str)
    def _on_play(self, path: str) -> None:
        problem = self.player.toggle(path)
        if problem:  # said where the user clicked, and to the panel's status bar
            QToolTip.showText(QCursor.pos(), problem, self)
            self.message.emit(problem)

    def shutdown(self) -> None:
        self.player.stop()
        self.thumbnails.clear()
        self.waveforms.clear()


def data_modalities(samples: list[dict]) -> set[str]:
    """The modalities a list of samples has: those any of them carries."""
    return {m for m in MODALITIES if any(s.get(m) for s in samples)}

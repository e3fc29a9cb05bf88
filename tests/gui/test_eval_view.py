"""What the Evaluate panel's gallery and the Train panel's validation plot show: long ids and
captions elided in the middle (whole in the tooltip), cards only for the modalities the data has,
cards that scroll inside the panel above the status bar, "Show all misclassified" disabled when
nothing is misclassified, and a validation legend that covers no point."""

from __future__ import annotations

import math
import struct
import wave

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

LONG_ID = "recordings/speaker-with-a-long-name/take-0042-of-a-very-long-session.wav"
CAPTION = (
    f"<b>{LONG_ID}</b><br>true <b>seven</b><br>"
    "<span style='color:#c2452d'>pred <b>a-class-name-far-too-long-for-any-card</b></span> 0.93"
)


@pytest.fixture
def app():
    from mmstudio.gui.app import create_application

    return create_application()


def _clip(path, seconds: float = 0.3, rate: int = 8000) -> str:
    """A real WAV file: a decaying tone."""
    n = int(seconds * rate)
    frames = b"".join(
        struct.pack("<h", int(12000 * math.exp(-4 * i / n) * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n)
    )
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(frames)
    return str(path)


def _gallery(qtbot, samples, **kw):
    from mmstudio.gui.widgets.gallery import SampleGallery

    gallery = SampleGallery()
    qtbot.addWidget(gallery)
    gallery.resize(900, 400)
    gallery.show()
    qtbot.waitExposed(gallery)
    gallery.set_samples(samples, **kw)
    QApplication.processEvents()  # the view lays its item widgets out (a zero-time timer)
    return gallery


def test_long_ids_and_captions_are_elided_in_the_middle_with_the_whole_text_in_the_tooltip(qtbot, app):
    from PySide6.QtGui import QFontMetrics

    from mmstudio.gui.widgets.elide import plain

    gallery = _gallery(qtbot, [{"id": LONG_ID, "caption": CAPTION, "text": "a spoken seven " * 30}])
    card = gallery.cards[0]
    caption = card.caption
    assert caption.elided
    lines = [plain(line) for line in caption.text().split("<br>")]
    assert lines[0].startswith("recordings/") and lines[0].endswith(".wav") and "…" in lines[0]
    assert lines[2].startswith("pred a-class") and lines[2].endswith(" 0.93") and "…" in lines[2]
    assert lines[1] == "true seven"  # what fits is left whole
    bold = caption.font()
    bold.setBold(True)
    width = caption.contentsRect().width()
    assert all(QFontMetrics(bold).horizontalAdvance(line) <= width for line in lines), "no line is cut"
    tip = caption.toolTip()
    assert LONG_ID in tip and "a-class-name-far-too-long-for-any-card" in tip
    text = card.text
    assert text.text().count("…") == 1 and text.toolTip() == "a spoken seven " * 30
    assert text.text().startswith("a spoken") and text.text().endswith("seven ")


def test_cards_show_only_the_modalities_the_data_has(qtbot, app, tmp_path):
    clip = _clip(tmp_path / "seven.wav")
    audio = [{"id": "a", "caption": "a", "audio": clip}, {"id": "b", "caption": "b", "audio": clip}]
    gallery = _gallery(qtbot, audio)
    card = gallery.cards[0]
    assert card.pictures == "audio" and card.text is None, "audio data: no text placeholder"
    assert card.play is not None and "no image" not in card.thumb.text()
    # drawn off the GUI thread: it may already be there (ready came during the layout's events)
    qtbot.waitUntil(lambda: not card.thumb.pixmap().isNull(), timeout=10000)  # the clip's waveform

    texts = [{"id": "t", "caption": "t", "text": "a short sentence"}]
    card = _gallery(qtbot, texts).cards[0]
    assert card.thumb is None and card.play is None, "text data: no picture, no play button"
    assert card.text.text() == "a short sentence"

    # An image dataset where one item lacks its image: that card says so
    mixed = [{"id": "i", "caption": "i", "image": "/nowhere/i.png"}, {"id": "j", "caption": "j"}]
    cards = _gallery(qtbot, mixed).cards
    assert cards[1].thumb is not None and cards[1].thumb.text() == "no image"
    assert cards[1].text is None and cards[1].play is None


def test_show_all_misclassified_is_disabled_when_nothing_is_misclassified(qtbot, app):
    from mmstudio.gui.panels.eval_results import EvalResults

    results = EvalResults()
    qtbot.addWidget(results)
    right = {"true": [0, 1, 1], "pred": [0, 1, 1], "confidence": [0.9, 0.8, 0.7]}
    samples = [{"id": f"s{i}", "text": "x"} for i in range(3)]
    results.report = {"predictions": right, "samples": samples, "split": "test", "class_names": ["a", "b"]}
    results.show_misclassified()
    assert not results.show_mistakes.isEnabled()
    assert results.gallery_label.text().startswith("No misclassified items")
    assert results.gallery.count() == 0
    wrong = dict(right, pred=[0, 0, 1])
    results.report = dict(results.report, predictions=wrong)
    results.show_misclassified()
    assert results.show_mistakes.isEnabled() and results.gallery.count() == 1
    results.clear()
    assert not results.show_mistakes.isEnabled()
    results.report = {"samples": samples, "split": "test", "retrieval": {}}  # an aligner: no classes
    results.show_misclassified()
    assert "does not classify" in results.gallery_label.text() and not results.show_mistakes.isEnabled()


def test_cards_scroll_inside_the_panel_above_the_status_bar(qtbot, window):
    from PySide6.QtCore import QPoint

    window.resize(1100, 620)
    window.show_panel(3)
    panel = window.evaluate_panel
    panel.pages.setCurrentIndex(1)
    samples = [{"id": f"{LONG_ID}-{i}", "caption": CAPTION, "text": "seven"} for i in range(40)]
    panel.gallery.set_samples(samples)
    QApplication.processEvents()  # the resized window's layouts
    viewport = panel.gallery.viewport()
    bottom = viewport.mapTo(window, QPoint(0, viewport.height())).y()
    assert bottom <= window.statusBar().mapTo(window, QPoint(0, 0)).y()
    assert panel.gallery.verticalScrollBar().maximum() > 0, "the cards scroll inside the panel"


def test_the_validation_legend_covers_no_point(qtbot, app):
    from mmstudio.gui.settings import apply_theme
    from mmstudio.gui.widgets.train_plots import TrainPlots

    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(1100, 520)
    plots.show()
    qtbot.waitExposed(plots)
    for epoch in range(1, 9):  # rising accuracy: the last points sit in the top right corner
        plots.add_epoch(epoch, 1.0 / epoch, 0.5 + 0.06 * epoch, 0.9 / epoch, {})
    plots.metric_name = "accuracy"
    plots.overlay([("20261124-203011-digits", {"step": [], "loss": [], "epoch": [1, 8], "metric": [0.6, 0.99]})])
    plots.redraw()
    try:
        for name in ("light", "dark"):
            apply_theme(app, name)
            item = plots.metric_plot.getPlotItem()
            legend = item.legend
            assert len(legend.items) == 4
            legend_rect = legend.sceneBoundingRect()
            assert plots.metric_plot.sceneRect().contains(legend_rect), "the legend is drawn whole"
            for curve in item.listDataItems():
                xs, ys = curve.getData()
                for x, y in zip(xs, ys):
                    point = item.vb.mapViewToScene(QPointF(x, y))
                    assert not legend_rect.contains(point), f"{name}: the legend covers ({x}, {y})"
    finally:
        apply_theme(app, "system")


def test_cards_filled_while_hidden_are_elided_when_shown(qtbot, app):
    from mmstudio.gui.widgets.gallery import SampleGallery

    gallery = SampleGallery()
    qtbot.addWidget(gallery)
    gallery.resize(900, 400)
    gallery.set_samples([{"id": LONG_ID, "caption": CAPTION}])
    caption = gallery.cards[0].caption
    assert caption.text() == CAPTION, "hidden: the whole caption (nothing is laid out yet)"
    with qtbot.waitExposed(gallery):
        gallery.show()
    QApplication.processEvents()
    assert caption.elided and caption.full_text == CAPTION

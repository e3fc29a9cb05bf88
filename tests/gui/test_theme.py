"""Themes repaint everything, both ways: a light → dark → light round trip, in every panel, keeps
plot titles, axes, legends, text items and gallery cards readable on their own backgrounds
(WCAG contrast ≥ 4.5:1), checked from the colours actually used and from grabbed pixels; an
exported plot is light whatever the theme. The window opens without pyqtgraph (start-up)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPalette

from mmstudio.gui import theme
from mmstudio.gui.settings import apply_theme

MIN_CONTRAST = 4.5
CAPTION = "<b>#1</b> · 0.912<br>label <b>seven</b><br><span style='color:#6a737d'>items/0007.png</span>"


@pytest.fixture(autouse=True)
def _system_theme_after():
    yield
    from PySide6.QtWidgets import QApplication

    apply_theme(QApplication.instance(), "system")  # as the other tests expect it


def _fill_every_panel(win) -> None:
    """Content with titles, legends, text items and cards in each panel (no training needed)."""
    for row in range(len(win.panels)):
        win.show_panel(row)
    win.data_panel.class_chart.set_values({"zero": 12, "one": 9, "two": 11})
    plots = win.train_panel.plots
    for step in range(1, 30):
        plots.add_step(step, 2.0 / step, 0.01)
    for epoch in (1, 2, 3):
        plots.add_epoch(epoch, 1.0 / epoch, 0.5 + 0.1 * epoch, 0.9 / epoch, {"image": 0.6, "audio": 0.4})
    plots.metric_name = "accuracy"
    plots.redraw()
    ev = win.evaluate_panel
    ev.heatmap.set_matrix([[5, 1], [0, 6]], ["zero", "one"])
    ev.ablation_chart.set_ablation({"fused": 0.9, "without": {"image": 0.5}, "only": {"image": 0.8}})
    ev.robustness_chart.set_curves({"levels": [0, 0.5, 1], "curves": {"image": [0.9, 0.7, 0.4]}})
    samples = [{"id": f"item-{i}", "caption": CAPTION, "text": "a caption", "image": None} for i in range(3)]
    samples[0]["audio"] = "/nowhere/clip.wav"
    ev.gallery.set_samples(samples)
    win.query_panel.gallery.set_samples(samples)
    items = [{"id": f"i{i}", "label": str(i % 2), "image": f"/x/{i // 3}.png"} for i in range(6)]
    data = {"method": "pca", "target": "image", "xy": np.random.rand(6, 2), "indices": list(range(6))}
    data["labels"] = [it["label"] for it in items]
    win.query_panel.map.set_map(data, items)


def _plots(win):
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    return [w for w in QApplication.allWidgets() if isinstance(w, pg.PlotWidget) and w.window() is win]


def _contrast(a, b) -> float:
    return theme.contrast_ratio(QColor(a), QColor(b))


def _check_plot_colours(plot, colors: theme.Colors) -> list[str]:
    """Every text of one plot against its background, from the pens and colours it draws with."""
    import pyqtgraph as pg

    bad = []
    bg = plot.backgroundBrush().color()
    if bg.name() != QColor(colors.plot_bg).name():
        bad.append(f"{plot.__class__.__name__} background {bg.name()} in {colors.name}")
    item = plot.getPlotItem()
    title = item.titleLabel
    if title.text and _contrast(title.opts.get("color") or pg.getConfigOption("foreground"), bg) < MIN_CONTRAST:
        bad.append(f"title {title.text!r} {title.opts.get('color')} on {bg.name()}")
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        if axis.isVisible() and _contrast(axis.textPen().color(), bg) < MIN_CONTRAST:
            bad.append(f"{name} axis text {axis.textPen().color().name()} on {bg.name()}")
    if item.legend is not None:
        for _sample, label in item.legend.items:
            if _contrast(label.opts.get("color"), bg) < MIN_CONTRAST:
                bad.append(f"legend {label.text!r} {label.opts.get('color')} on {bg.name()}")
    for child in item.vb.addedItems:
        themed = isinstance(child, pg.TextItem) and getattr(child, "theme_fg", False)
        if themed and _contrast(child.color, bg) < MIN_CONTRAST:
            bad.append(f"text item {child.textItem.toPlainText()!r} on {bg.name()}")
    return bad


def _check_cards(gallery, colors: theme.Colors) -> list[str]:
    """Card text (ids, scores: inline colours included) against the card's own background."""
    bad = []
    for card in gallery.cards:
        bg = card.palette().color(card.backgroundRole())  # what the card is filled with
        if not card.autoFillBackground() or bg.name() != QColor(colors.card_bg).name():
            bad.append(f"card background {bg.name()} in {colors.name}")
        grabbed = card.grab().toImage().pixelColor(4, card.height() - 5)  # a corner of its fill
        if grabbed.name() != QColor(colors.card_bg).name():
            bad.append(f"card drawn {grabbed.name()} in {colors.name}")
        text = card.caption.palette().color(QPalette.ColorRole.WindowText)
        if _contrast(text, bg) < MIN_CONTRAST:
            bad.append(f"card text {text.name()} on {bg.name()}")
        for inline in re.findall(r"color:\s*(#[0-9a-fA-F]{6})", card.caption.text()):
            if _contrast(inline, bg) < MIN_CONTRAST:
                bad.append(f"card inline colour {inline} on {bg.name()}")
    return bad


def _title_pixels_readable(plot, colors: theme.Colors) -> bool:
    """From a grab: the title row holds pixels of the theme's text colour on the plot background."""
    image = plot.grab().toImage()
    rect = plot.getPlotItem().titleLabel.sceneBoundingRect().toRect()
    fg, bg = QColor(colors.fg), QColor(colors.plot_bg)
    ratio = plot.devicePixelRatioF()
    seen_fg = seen_bg = False
    for y in range(int(rect.top() * ratio), int(rect.bottom() * ratio)):
        for x in range(int(rect.left() * ratio), int(rect.right() * ratio), 2):
            c = image.pixelColor(x, y)
            seen_fg |= _contrast(c, bg) >= MIN_CONTRAST and abs(c.lightness() - fg.lightness()) < 40
            seen_bg |= c.name() == bg.name()
    return seen_fg and seen_bg


def test_a_light_dark_light_round_trip_keeps_every_panel_readable(window, qtbot):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    apply_theme(app, "light")
    _fill_every_panel(window)
    for name in ("light", "dark", "light"):
        apply_theme(app, name)
        colors = theme.current()
        assert colors.name == name
        qtbot.wait(20)
        plots = _plots(window)
        assert len(plots) >= 10, "every panel's plots are built and checked"
        problems = [p for plot in plots for p in _check_plot_colours(plot, colors)]
        problems += _check_cards(window.evaluate_panel.gallery, colors)
        problems += _check_cards(window.query_panel.gallery, colors)
        assert not problems, f"{name}: {problems[:8]}"
        window.show_panel(0)
        chart = window.data_panel.class_chart
        qtbot.wait(20)
        assert _title_pixels_readable(chart, colors), f"{name}: the class chart's title is not readable"
        window.show_panel(2)
        qtbot.wait(20)
        assert _title_pixels_readable(window.train_panel.plots.loss_plot, colors), name


def test_cards_without_audio_have_no_play_button_and_play_says_why_it_cannot(window, qtbot, monkeypatch):
    from mmstudio.gui.widgets import gallery as gallery_module

    window.show_panel(3)
    gallery = window.evaluate_panel.gallery
    gallery.set_samples([{"id": "a", "caption": "a"}, {"id": "b", "caption": "b", "audio": "/x/b.wav"}])
    assert gallery.cards[0].play is None
    assert gallery.cards[1].play is not None
    # the play button sits under the caption, not over it
    assert gallery.cards[1].play.geometry().top() >= gallery.cards[1].caption.geometry().top()
    monkeypatch.setattr(gallery_module, "playback_problem", lambda: "No audio output device was found")
    with qtbot.waitSignal(gallery.message) as said:
        gallery.cards[1].play.click()
    assert "No audio output device" in said.args[0]


def test_an_export_is_light_in_the_dark_theme(window, qtbot, tmp_path):
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    window.show_panel(0)
    chart = window.data_panel.class_chart
    chart.set_values({"a": 3, "b": 5})
    apply_theme(QApplication.instance(), "dark")
    try:
        path = str(tmp_path / "chart.png")
        assert theme.export_png(chart, path, width=400)
        image = QImage(path)
        assert image.pixelColor(2, 2).name() == "#ffffff"
        # and the widget itself is dark again afterwards
        assert chart.backgroundBrush().color().name() == QColor(theme.DARK.plot_bg).name()
    finally:
        apply_theme(QApplication.instance(), "light")


@pytest.mark.skipif(sys.platform != "linux", reason="offscreen Qt in a child process")
def test_the_window_opens_without_pyqtgraph_and_builds_only_what_it_shows():
    code = (
        "import sys\n"
        "from mmstudio.gui.app import create_application\n"
        "app = create_application()\n"
        "from mmstudio.gui.main_window import MainWindow\n"
        "w = MainWindow(); w.show_welcome(); w.show(); app.processEvents()\n"
        "print(int('pyqtgraph' in sys.modules), int('torch' in sys.modules), sorted(w._built))\n"
        "print(int('mmstudio.project' in sys.modules), int('mmstudio.cli' in sys.modules))\n"
        "w.data_panel\n"
        "print(int('pyqtgraph' in sys.modules), sorted(w._built))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    first, formats, second = out.stdout.strip().splitlines()[-3:]
    assert first == "0 0 []"
    assert formats == "0 0", "the project format and the CLI load after the window is up"
    assert second == "1 ['Data']"


def test_the_window_knows_the_project_suffix_without_loading_the_format():
    from mmstudio import project
    from mmstudio.gui import projects

    assert projects.SUFFIX == project.SUFFIX


@pytest.mark.parametrize("name", ["light", "dark"])
def test_every_confusion_cell_count_reads_on_its_own_cell(qtbot, name):
    """Each count's colour against the pixels its cell is painted with (grabbed), 4.5:1 or more,
    for row fractions from a few percent to all of the row."""
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from mmstudio.gui.app import create_application
    from mmstudio.gui.widgets.eval_charts import ConfusionHeatmap

    create_application()
    apply_theme(QApplication.instance(), name)
    heatmap = ConfusionHeatmap()
    qtbot.addWidget(heatmap)
    heatmap.resize(700, 700)
    heatmap.show()
    qtbot.waitExposed(heatmap)
    rows = [[20, 0, 0, 0, 0, 0], [1, 19, 0, 0, 0, 0], [3, 4, 13, 0, 0, 0], [5, 5, 5, 5, 0, 0]]
    rows += [[2, 7, 9, 1, 1, 0], [0, 0, 0, 0, 4, 16]]  # 0.8: where white and black contrast least
    heatmap.set_matrix(rows, ["a", "b", "c", "d", "e", "f"])
    QApplication.processEvents()
    image = heatmap.grab().toImage()
    ratio = heatmap.devicePixelRatioF()
    vb = heatmap.plotItem.vb
    assert len(heatmap._texts) == 17  # one per non-empty cell
    for text in heatmap._texts:
        x, y = text.pos().x(), text.pos().y()
        corner = heatmap.mapFromScene(vb.mapViewToScene(QPointF(x - 0.4, y - 0.4)))  # inside the cell, off the digits
        cell = image.pixelColor(int(corner.x() * ratio), int(corner.y() * ratio))
        fg = text.textItem.defaultTextColor()
        assert theme.contrast_ratio(fg, cell) >= MIN_CONTRAST, (
            f"{name}: count {text.textItem.toPlainText()} {fg.name()} on {cell.name()}"
        )


def test_run_statuses_read_on_the_runs_table_in_both_themes_and_follow_a_switch(qtbot):
    from PySide6.QtWidgets import QApplication, QTableWidgetItem

    from mmstudio.gui.app import create_application
    from mmstudio.gui.widgets.runs_view import STATUS_COLOURS, RunsView, status_colour

    create_application()
    app = QApplication.instance()
    view = RunsView()
    qtbot.addWidget(view)
    theme.watch(view)
    view.show()
    qtbot.waitExposed(view)
    view.table.setRowCount(1)
    view.table.setItem(0, 1, QTableWidgetItem("stopped · resumable"))
    for name in ("light", "dark", "light", "dark"):
        apply_theme(app, name)
        QApplication.processEvents()  # the palette reaches the table by a posted event
        base = view.table.palette().color(QPalette.ColorRole.Base)
        for status in STATUS_COLOURS:
            assert theme.contrast_ratio(status_colour(status), base) >= MIN_CONTRAST, f"{name}: {status}"
        shown = view.table.item(0, 1).foreground().color()
        assert shown == status_colour("stopped"), f"{name}: the cell follows the theme switch"


@pytest.mark.parametrize("name", ["light", "dark"])
def test_a_described_text_reads_as_normal_text_on_the_base_colour(qtbot, name):
    """Query ▸ Describe's answer (issue 15: faint grey on white, a white bar in dark): drawn on the
    theme's card colour, its letters in the theme's text colour, 4.5:1 or more, from a grab;
    and it follows a switch to the other theme."""
    from PySide6.QtWidgets import QApplication

    from mmstudio.gui.app import create_application
    from mmstudio.gui.widgets.generation_view import DescribeView

    create_application()
    app = QApplication.instance()
    other = "dark" if name == "light" else "light"
    apply_theme(app, other)
    view = DescribeView()
    qtbot.addWidget(view)
    theme.polish(view)
    theme.watch(view)
    view.resize(700, 400)
    view.show()
    qtbot.waitExposed(view)
    view.set_answer({"texts": [{"text": "a handwritten digit seven", "score": -1.7}], "used": ["image"]})
    apply_theme(app, name)  # switched while on screen
    QApplication.processEvents()
    colors = theme.DARK if name == "dark" else theme.LIGHT
    label = view.text
    image = label.grab().toImage()
    ratio = label.devicePixelRatioF()
    bg = image.pixelColor(int(6 * ratio), int(label.height() / 2 * ratio))  # padding, off the letters
    assert bg.name() == QColor(colors.card_bg).name(), f"{name}: answer box {bg.name()}"
    pixels = [image.pixelColor(x, y) for y in range(image.height()) for x in range(0, image.width(), 2)]
    ink = max(pixels, key=lambda c: theme.contrast_ratio(c, bg))  # the letters' strokes
    assert theme.contrast_ratio(ink, bg) >= MIN_CONTRAST
    assert abs(ink.lightness() - QColor(colors.fg).lightness()) < 40, f"{name}: letters {ink.name()}"

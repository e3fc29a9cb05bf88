"""The small things a user notices (issue 15): plots that say only what is there, whole epochs,
"1 epoch", readable class names, one map point per item, a live runs row that says "paused",
file dialogs that open beside the data with a name offered."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest


@pytest.fixture
def app(qtbot):
    from mmstudio.gui.app import create_application

    return create_application()


def _legend_names(plot) -> list[str]:
    return [label.text for _sample, label in plot.getPlotItem().legend.items]


def test_train_plots_show_val_loss_and_weights_only_when_there_is_something_to_show(app, qtbot):
    from mmstudio.gui.widgets.train_plots import TrainPlots

    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.metric_name = "accuracy"
    plots.add_epoch(1, 1.0, 0.5, None, {"image": 1.0})  # no val loss; one modality
    plots.redraw()
    assert "val loss" not in _legend_names(plots.metric_plot)
    assert _legend_names(plots.metric_plot) == ["val accuracy", "train loss"]
    assert not plots.weights_plot.isVisible(), "a weights chart for a one-modality run"
    plots.add_epoch(2, 0.8, 0.6, 0.7, {"image": 0.6, "audio": 0.4})
    plots.redraw()
    assert "val loss" in _legend_names(plots.metric_plot)
    assert plots.weights_plot.isVisible()
    assert plots.loss_plot.height() >= 140, "the loss plot keeps a usable height"


def test_epoch_axes_tick_whole_epochs_only(app):
    from mmstudio.gui.widgets.train_plots import WholeAxis

    axis = WholeAxis("bottom")
    for low, high in ((0.8, 3.2), (1, 2), (0, 250)):
        spacings = [s for s, _ in axis.tickSpacing(low, high, 400)]
        assert spacings and all(s >= 1 and float(s).is_integer() for s in spacings), spacings


def test_one_epoch_is_singular():
    from mmstudio.gui.panels.train_texts import finished_line, plural

    assert plural(1, "epoch") == "1 epoch" and plural(2, "epoch") == "2 epochs"
    line = finished_line(SimpleNamespace(reason="completed", epochs=1, steps=1, seconds=3.0))
    assert "1 epoch," in line and "1 step " in line and "epochs" not in line


def test_class_names_under_bars_never_overlap(app, qtbot):
    from PySide6.QtGui import QFontMetrics

    from mmstudio.gui.widgets.charts import BarChart

    chart = BarChart("Items per class")
    qtbot.addWidget(chart)
    chart.resize(380, 300)
    chart.show()
    qtbot.waitExposed(chart)
    names = {f"category_number_{i:02d}": 10 + i for i in range(30)}
    chart.set_values(names)
    ticks = chart.getAxis("bottom")._tickLevels[0]
    shown = [text for _x, text in ticks]
    widest = max(QFontMetrics(chart.font()).horizontalAdvance(t) for t in shown)
    room = chart.getPlotItem().vb.width() / len(names) * (ticks[1][0] - ticks[0][0] if len(ticks) > 1 else 1)
    assert widest <= room, (widest, room)
    assert all(len(t) <= 12 for t in shown)


def test_the_map_draws_one_point_per_item_not_per_row(app, qtbot):
    from mmstudio.gui.widgets.embedding_map import EmbeddingMap

    view = EmbeddingMap()
    qtbot.addWidget(view)
    # three captions per image: six rows, two images
    items = [{"id": f"r{i}", "label": str(i // 3), "image": f"/data/{i // 3}.png", "text": f"c{i}"} for i in range(6)]
    data = {"method": "pca", "target": "image", "xy": np.random.rand(6, 2), "indices": list(range(6))}
    data["labels"] = [it["label"] for it in items]
    view.set_map(data, items)
    assert len(view.scatter.points()) == 2
    assert "2 image embeddings" in view.hint.text()


def test_the_runs_row_of_a_training_run_is_live_and_says_paused(app, qtbot, tmp_path):
    from mmstudio.gui.widgets.runs_view import RunsView

    runs = RunsView()
    qtbot.addWidget(runs)
    path = str(tmp_path / "20261202-101010-digits")
    runs.runs = [{"path": path, "status": "running", "started": 0.0, "seconds": 5.0, "config": "cnn"}]
    runs.table.setRowCount(1)
    runs.active = path
    runs.show_live(path, epoch=2, epochs_total=5, seconds=75.0, paused=True)
    assert runs.table.item(0, 1).text() == "paused (this window)"
    assert runs.table.item(0, 3).text() == "1:15"
    assert runs.table.item(0, 5).text().startswith("2/5 ep")


def test_save_run_offers_a_name_beside_the_dataset(monkeypatch, tmp_path):
    from mmstudio.gui.panels import model_files

    manifest = tmp_path / "data" / "pairs.csv"
    manifest.parent.mkdir()
    manifest.write_text("id\n")
    asked = {}

    def fake_save(_parent, _title, start, _filter):
        asked["start"] = start
        return "", ""

    monkeypatch.setattr(model_files.QFileDialog, "getSaveFileName", fake_save)
    panel = SimpleNamespace(
        config=lambda: SimpleNamespace(name="digits-fusion"),
        dataset=SimpleNamespace(spec=SimpleNamespace(path=str(manifest))),
    )
    model_files.save_dialog(panel)
    assert asked["start"] == os.path.join(str(manifest.parent), "digits-fusion.toml")


def test_dialogs_never_start_in_the_working_directory(tmp_path):
    from mmstudio.gui.paths import start_folder

    assert start_folder(None, "") == os.path.expanduser("~")
    assert start_folder(str(tmp_path / "gone" / "x.csv"), str(tmp_path)) == str(tmp_path)


def _text_manifest(path, ids) -> str:
    rows = ["id,label,text"] + [f"{i},{'ab'[n % 2]},words number {n}" for n, i in enumerate(ids)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_data_columns_fit_each_dataset_and_ids_keep_their_ends(window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    panel = window.data_panel
    long_ids = [f"recordings/session_{n:03d}/speaker_with_a_long_name/take_{n:04d}" for n in range(12)]
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000):
        panel.open_path(_text_manifest(tmp_path / "long.csv", long_ids))
    wide = panel.table.columnWidth(0)
    tip = panel.model.data(panel.model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert long_ids[0] in tip, "the full id is in the tooltip"
    assert panel.table.textElideMode() == Qt.TextElideMode.ElideMiddle  # the take number stays visible
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000):
        panel.open_path(_text_manifest(tmp_path / "short.csv", [f"s{n}" for n in range(12)]))
    assert panel.table.columnWidth(0) < wide, "widths are fitted per dataset, not carried over"
    assert panel.problems_table.horizontalHeader().stretchLastSection(), "the Reason column stays in view"


def test_a_dataset_read_behind_the_welcome_page_builds_no_panel_until_one_is_shown(qtbot, tmp_path):
    from mmstudio.gui.app import create_application
    from mmstudio.gui.main_window import MainWindow

    create_application()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show_welcome()
    win.show()
    win.preload_dataset(_text_manifest(tmp_path / "behind.csv", [f"t{n}" for n in range(8)]))
    qtbot.waitUntil(lambda: win.dataset is not None, timeout=30000)
    assert win.built_panel("Data") is None, "nothing built while the welcome page shows"
    assert win.data_panel.model.rowCount() == 8, "the Data panel shows it when first built"
    assert win.data_panel.dataset is win.dataset


def test_item_rows_are_thumbnail_tall_only_for_data_with_images(window, qtbot, tmp_path):
    from tests.synth import make_triplet_dataset

    panel = window.data_panel
    with qtbot.waitSignal(panel.dataset_loaded, timeout=30000):
        panel.open_path(_text_manifest(tmp_path / "texts.csv", [f"s{n}" for n in range(12)]))
    compact = panel.table.verticalHeader().defaultSectionSize()
    assert compact < 44, "text rows need no room for a thumbnail"
    with qtbot.waitSignal(panel.dataset_loaded, timeout=60000):
        panel.open_path(str(make_triplet_dataset(tmp_path / "triplets")))
    assert panel.table.verticalHeader().defaultSectionSize() == 44, "image rows fit their thumbnail"


def test_the_map_shows_no_raw_tooltip_and_no_empty_legend_for_many_labels(app, qtbot):
    from mmstudio.gui.widgets.embedding_map import EmbeddingMap

    view = EmbeddingMap()
    qtbot.addWidget(view)
    n = 30  # one item per label: more labels than a legend can help with
    items = [{"id": f"r{i}", "label": f"class {i}", "image": f"/data/{i}.png"} for i in range(n)]
    data = {"method": "pca", "target": "image", "xy": np.random.rand(n, 2), "indices": list(range(n))}
    data["labels"] = [it["label"] for it in items]
    view.set_map(data, items)
    assert not view.legend.isVisible() and not view.legend.items
    assert view.scatter.opts["tip"] is None, "the hover card previews a point; no 'x: … data=…' text"
    few = {**data, "xy": data["xy"][:3], "indices": [0, 1, 2], "labels": data["labels"][:3]}
    view.set_map(few, items[:3])
    assert view.legend.isVisible() and len(view.legend.items) == 3


def test_every_sidebar_icon_stands_out_from_the_dark_sidebar(window):
    from PySide6.QtGui import QColor

    from mmstudio.gui.theme import contrast_ratio

    background = QColor("#24292f")  # resources/style.qss, #nav
    for row in range(window.nav.count()):
        image = window.nav.item(row).icon().pixmap(32, 32).toImage()
        inks = [image.pixelColor(x, y) for x in range(32) for y in range(32) if image.pixelColor(x, y).alpha() > 200]
        best = max((contrast_ratio(c, background) for c in inks), default=0.0)
        assert best >= 3.0, f"{window.nav.item(row).text()}: icon ink {best:.1f}:1 on the sidebar"

"""What Evaluate says when a report has no confusion matrix, and that it does not stick."""

from __future__ import annotations


def test_missing_confusion_matrix_says_why_and_a_later_matrix_is_titled_again(qtbot):
    from mmstudio.gui.app import create_application
    from mmstudio.gui.panels.eval_results import no_confusion_reason
    from mmstudio.gui.widgets.eval_charts import ConfusionHeatmap

    create_application()
    mismatched = {"task": "classify", "class_names": ["core", "digits"]}
    assert "no item of this split has a label the model knows (core, digits)" in no_confusion_reason(mismatched)
    assert "does not classify" in no_confusion_reason({"task": "align", "class_names": []})
    heatmap = ConfusionHeatmap()
    qtbot.addWidget(heatmap)
    heatmap.set_matrix([], [], empty=no_confusion_reason(mismatched))
    heatmap.set_matrix([[3, 1], [0, 4]], ["a", "b"])
    assert heatmap.plotItem.titleLabel.text == "Confusion matrix"
    assert len(heatmap._texts) == 3  # one count per non-empty cell


def test_export_starts_beside_a_users_bundle_never_in_the_installation(tmp_path):
    import os

    from mmstudio.gui.panels.evaluate_panel import export_start
    from mmstudio.gui.paths import RESOURCES

    mine = tmp_path / "runs" / "r1" / "bundle"
    mine.mkdir(parents=True)
    assert export_start(str(mine)) == str(mine.parent)
    demo = os.path.join(str(RESOURCES), "demo", "bundles", "digits")
    assert export_start(demo) == os.path.expanduser("~")
    assert export_start("") == os.path.expanduser("~")

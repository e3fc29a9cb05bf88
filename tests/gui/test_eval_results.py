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

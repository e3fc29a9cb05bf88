"""The Model panel proposes exactly what ``mmstudio train`` chooses from the same data (issue 13),
and says why."""

from __future__ import annotations

import argparse

import pytest
from gui_helpers import drop_and_wait
from synth import make_triplet_dataset

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_gui_and_cli_choose_the_same_settings(window, qtbot, tmp_path):
    from mmstudio import cli
    from mmstudio.cli_run import resolved_run, run_config_from_args, task_for_data
    from mmstudio.data import open_dataset

    manifest = make_triplet_dataset(tmp_path / "data", classes=3, per_class=10)
    drop_and_wait(qtbot, window, window.data_panel, [str(manifest)])
    panel = window.model_panel
    window.show_panel(1)
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=60000)
    gui = panel.config()

    args = cli.build_parser().parse_args(
        ["train", "--data", str(manifest), "--out", str(tmp_path / "out"), "--device", "auto"]
    )
    assert isinstance(args, argparse.Namespace)
    first = run_config_from_args(args)
    dataset = open_dataset(first.dataset)
    run = resolved_run(args, task_for_data(args, first, dataset), dataset)
    for part in ("image", "text", "audio"):
        assert getattr(gui.model, part) == getattr(run.model, part), part
    assert gui.model.task == run.model.task and gui.model.fusion == run.model.fusion
    for name in ("epochs", "batch_size", "lr", "early_stopping", "weight_decay"):
        assert getattr(gui.train, name) == getattr(run.train, name), name
    # every automatic value is shown with its reason
    text = panel.auto_label.text()
    assert panel.chosen and all(str(c["value"]) in text for c in panel.chosen)
    assert "batch size" in text and "steps per epoch" in text

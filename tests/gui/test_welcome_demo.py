"""The welcome page and the offline demo: one click opens the demo data and its trained model,
and the model answers "seven" with sevens without training and without the network."""

from __future__ import annotations

import socket

import pytest

from mmstudio.gui.paths import CLIPART_BUNDLE, CLIPART_DATASET, DEMO_BUNDLE, DEMO_DATASET


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the demo tried to use the network")

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_the_demo_files_are_in_the_repository():
    for bundle in (DEMO_BUNDLE, CLIPART_BUNDLE):
        for name in ("bundle.json", "model.safetensors", "index.safetensors"):
            assert (bundle / name).is_file(), f"{bundle / name} is missing: run scripts/make_demo.py"
    assert DEMO_DATASET.is_file() and CLIPART_DATASET.is_file()
    assert (CLIPART_DATASET.parent / "NOTICE.md").is_file() and (DEMO_DATASET.parent / "NOTICE.md").is_file()


def test_one_click_on_the_welcome_page_opens_the_demo_data_and_model(qtbot, window):
    window.show_welcome()
    assert window.current_panel_name() == "Welcome"
    button = window.welcome.demo_buttons["digits"]
    assert button.isEnabled()
    routed = {}
    for name in ("Query", "Evaluate"):  # the Query/Evaluate panels take a bundle (stand-ins here)
        window.panels[name].set_bundle = lambda path, n=name: routed.setdefault(n, path)
    with qtbot.waitSignal(window.data_panel.dataset_loaded, timeout=30000) as blocker:
        button.click()
    assert blocker.args[0].spec.path == str(DEMO_DATASET)
    assert len(blocker.args[0].items) == 500
    assert routed == {"Query": str(DEMO_BUNDLE), "Evaluate": str(DEMO_BUNDLE)}
    assert window.current_bundle == str(DEMO_BUNDLE)
    assert window.current_panel_name() == "Query"


def test_the_digits_demo_model_answers_seven_with_sevens_offline(no_network):
    from mmstudio import engine

    result = engine.query(str(DEMO_BUNDLE), text="seven", top=10)
    assert result["target"] == "image"
    labels = [r["label"] for r in result["results"]]
    assert labels.count("7") >= 9, labels
    first = result["results"][0]["path"]
    assert first.startswith(str(DEMO_DATASET.parent)) and first.endswith(".png")  # paths resolve in this clone
    assert engine.predict(str(DEMO_BUNDLE), image=first)["label"] == "7"  # and it classifies


def test_the_clipart_demo_model_finds_drawings_for_words_offline(no_network):
    from mmstudio import engine

    result = engine.query(str(CLIPART_BUNDLE), text="flag", top=5)
    assert result["target"] == "image"
    hits = [r for r in result["results"] if "flag" in r["path"].lower()]
    assert len(hits) >= 3, [r["path"] for r in result["results"]]


@pytest.mark.parametrize("bundle, dataset", [(DEMO_BUNDLE, DEMO_DATASET), (CLIPART_BUNDLE, CLIPART_DATASET)])
def test_the_query_panel_session_uses_the_shipped_index_and_writes_nothing(bundle, dataset):
    from mmstudio import engine
    from mmstudio.config import DatasetSpec
    from mmstudio.data import open_dataset

    before = sorted(p.name for p in bundle.iterdir())
    session = engine.QuerySession(str(bundle))
    path = session.index(open_dataset(DatasetSpec(str(dataset))))  # as the Data panel opens it
    assert path == str(bundle / "index.safetensors")
    assert sorted(p.name for p in bundle.iterdir()) == before  # a clone stays clean


def test_the_launch_command_opens_the_welcome_page_and_the_demo_answers(tmp_path):
    """`mmstudio` with nothing given, as the README launches it: the welcome page first, then the
    demo button; the probe asks the demo model "seven" and writes what it answered."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = tmp_path / "probe.json"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(root),
        "MMSTUDIO_DEMO_PROBE": str(probe),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "mmstudio"], env=env, cwd=str(tmp_path), timeout=300, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(probe.read_text())
    assert answer["first_panel"] == "Welcome"
    assert answer["panel"] == "Query" and answer["bundle"] == str(DEMO_BUNDLE)
    assert answer["labels"].count("7") >= 9, answer

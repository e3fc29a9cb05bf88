"""``train --json`` lines turn back into the same event objects (the GUI's process runs)."""

from __future__ import annotations

import json

import pytest

from mmstudio import engine
from mmstudio.engine import events as ev

SAMPLES = [
    ev.RunStarted("/runs/a", "cuda:0", "bf16", ("image", "text"), ("cat", "dog"), 100, 20, 12345, 5, 7, 2),
    ev.DataPrepared("audio", 3, 10, 0.5),
    ev.StepLogged(1, 3, 0.25, 1e-3, 512.5),
    ev.EpochDone(2, 14, 0.5, {"accuracy": 0.9, "loss": 0.3}, 1.5, 100.0, True),
    ev.CheckpointSaved("/runs/a/checkpoints/last", "last", 2),
    ev.Paused(4),
    ev.Resumed(4),
    ev.RunFinished(
        "/runs/a/bundle",
        "completed",
        5,
        35,
        12.5,
        {"best_epoch": 4, "val": {"accuracy": 0.9}, "modality_weights": {"image": 0.6}},
    ),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_json_round_trip(event):
    line = json.dumps(event.as_dict())
    again = engine.event_from_dict(json.loads(line))
    assert again == event and type(again) is type(event)


def test_every_event_class_has_a_sample():
    assert {type(e) for e in SAMPLES} == set(ev._EVENTS.values())


def test_unknown_or_broken_lines_are_clear_errors():
    with pytest.raises(ValueError, match="unknown event 'Exploded'"):
        engine.event_from_dict({"event": "Exploded"})
    with pytest.raises(ValueError, match="not an event"):
        engine.event_from_dict(["RunFinished"])
    with pytest.raises(ValueError, match="Paused"):
        engine.event_from_dict({"event": "Paused"})  # its step is missing
    newer = {**SAMPLES[5].as_dict(), "added_later": 1}  # a newer engine's extra field: ignored
    assert engine.event_from_dict(newer) == SAMPLES[5]

"""RunConfig round-trips through run.toml and JSON; typos are errors, not silently ignored."""

from __future__ import annotations

import json

import pytest

from mmstudio.config import (
    AudioSpec,
    DatasetSpec,
    ImageSpec,
    ModelSpec,
    RunConfig,
    SplitSpec,
    TextSpec,
    TrainSpec,
)


def _run() -> RunConfig:
    return RunConfig(
        DatasetSpec("data/pairs.csv", columns={"title": "text"}, split=SplitSpec(0.9, 0.0, 0.1, 3)),
        ModelSpec(
            modalities=("image", "audio"),
            image=ImageSpec("resnet18", size=64, augment=True, options={"width": 16}),
            text=TextSpec("lstm", level="char", options={"bidirectional": True}),
            audio=AudioSpec("mel_lstm", features="mfcc"),
            fusion="tensor",
            fusion_options={"rank": 8},
            task="classify+align",
            label_smoothing=0.1,
        ),
        TrainSpec(epochs=3, optimizer="sgd", precision="bf16", device="cuda", early_stopping=2),
        name="demo",
    )


def test_toml_and_json_round_trip(tmp_path):
    run = _run()
    assert RunConfig.from_toml(run.to_toml()) == run
    assert RunConfig.from_dict(json.loads(json.dumps(run.to_dict()))) == run
    run.save(str(tmp_path / "run.toml"))
    assert RunConfig.load(str(tmp_path / "run.toml")) == run
    run.save(str(tmp_path / "run.json"))
    assert RunConfig.load(str(tmp_path / "run.json")) == run


def test_unknown_keys_and_values_are_errors():
    data = _run().to_dict()
    data["train"]["epocs"] = 3
    with pytest.raises(ValueError, match="epocs"):
        RunConfig.from_dict(data)
    with pytest.raises(ValueError, match="optimizer"):
        TrainSpec(optimizer="adam")
    with pytest.raises(ValueError, match="modality"):
        ModelSpec(modalities=("video",))


def test_newer_schema_is_refused():
    data = _run().to_dict()
    data["schema_version"] = 99
    with pytest.raises(ValueError, match="newer"):
        RunConfig.from_dict(data)

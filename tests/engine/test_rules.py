"""One rulebook (engine.check): every rule about a run, each problem naming its field and what
would work; the registries' metadata is what the CLI, the docs table and the checks read."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import tiny_run

from mmstudio import cli, engine
from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec
from mmstudio.data import open_dataset
from mmstudio.engine.components import ENCODERS, FUSIONS, components_markdown
from mmstudio.engine.pretrained import no_weight_files
from mmstudio.engine.rules import check

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset(synth_manifest):
    return open_dataset(str(synth_manifest))


def _fields(problems) -> list[str]:
    return [p.field for p in problems]


def test_a_sound_run_has_no_problems(synth_manifest, dataset):
    run = tiny_run(synth_manifest, fusion="attention", task="classify+align")
    assert check(run) == [] and check(run, dataset) == [] and check(run, dataset.summary()) == []


def test_unknown_names_name_the_field_and_the_choices(synth_manifest, dataset):
    run = tiny_run(synth_manifest, fusion="nope").replace(
        model=ModelSpec(fusion="nope", audio=dataclasses.replace(ModelSpec().audio, encoder="wav2vec"))
    )
    problems = check(run, dataset)
    assert _fields(problems) == ["model.audio.encoder", "model.fusion"]
    assert problems[1].choices == tuple(FUSIONS.names()) and "concat" in problems[1].message
    assert "mel_cnn" in problems[0].choices


def test_options_are_checked_against_the_entry(synth_manifest):
    text = dataclasses.replace(ModelSpec().text, encoder="transformer", options={"layrs": 3})
    run = tiny_run(synth_manifest, text=text, fusion="attention", fusion_options={"heads": "four"})
    problems = check(run)
    assert _fields(problems) == ["model.text.options", "model.fusion_options"]
    assert "no option 'layrs'" in problems[0].message and "layers" in problems[0].choices
    assert "must be a int like 4, got 'four'" in problems[1].message


def test_combinations_need_the_dataset(synth_manifest, dataset):
    one = tiny_run(synth_manifest, modalities=("image",), task="align")
    assert _fields(check(one)) == ["model.task"] and "aligns two or more" in str(check(one)[0])
    summary = {**dataset.summary(), "labels": {"only": 48}}
    assert _fields(check(tiny_run(synth_manifest), summary)) == ["model.task"]
    assert check(tiny_run(synth_manifest, task="align"), summary) == []
    no_audio = {**dataset.summary(), "modalities": ["image", "text"]}
    problems = check(tiny_run(synth_manifest, modalities=("image", "audio")), no_audio)
    assert _fields(problems) == ["model.modalities"] and problems[0].choices == ("image", "text")


def test_sizes_devices_paths_and_splits(synth_manifest, dataset, tmp_path):
    run = RunConfig(
        DatasetSpec(str(synth_manifest)),
        ModelSpec(
            dim=0, label_smoothing=1.0, image=dataclasses.replace(ModelSpec().image, weights=str(tmp_path / "w.pt"))
        ),
        TrainSpec(lr=-1.0, dropout=-0.1, device="gpu", val_split="holdout"),  # lr 0: chosen from the data
    )
    problems = check(run, dataset)
    assert _fields(problems) == [
        "model.dim",
        "model.label_smoothing",
        "train.lr",
        "train.dropout",
        "model.image.weights",
        "train.device",
        "train.val_split",
    ]
    assert "below 1" in problems[1].message and "w.pt does not exist" in problems[4].message
    assert problems[6].choices == ("auto", "none", "test")  # the synth data has train and test
    cuda = tiny_run(synth_manifest, train={"device": "cuda", "precision": "bf16"})
    assert check(cuda) == []  # the GPU count is unknown: the device is tried when training starts
    assert _fields(check(cuda, gpus=0)) == ["train.device", "train.precision"]
    assert _fields(check(tiny_run(synth_manifest, train={"device": "cpu", "precision": "fp16"}))) == ["train.precision"]


def test_train_raises_before_making_a_folder(synth_manifest, tmp_path):
    gen = engine.train(tiny_run(synth_manifest, fusion="nope"), str(tmp_path / "out"))
    with pytest.raises(engine.RunProblems, match="model.fusion: unknown fusion 'nope'"):
        next(gen)
    assert not (tmp_path / "out").exists()


def test_rules_and_metadata_need_no_torch(synth_manifest):
    code = (
        "import sys; from mmstudio.config import RunConfig, DatasetSpec; from mmstudio import engine; "
        f"print(engine.check(RunConfig(DatasetSpec({str(synth_manifest)!r}))), engine.fusion_names()[0][0], "
        "engine.fusion_level('late'), 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        check=True,
    ).stdout.split()
    assert out == ["[]", "attention", "late:", "each", "modality", "decides,", "decisions", "are", "averaged", "False"]


@pytest.mark.parametrize(
    ("kind", "name"),
    [(m, n) for m, reg in ENCODERS.items() for n in reg.names()] + [("fusion", n) for n in FUSIONS.names()],
)
def test_declared_options_are_what_the_component_takes(kind, name):
    """Every declared option is a real keyword of the component, and its declared default is the
    component's own: built with the declared options, it has the same weights as without."""
    registry = FUSIONS if kind == "fusion" else ENCODERS[kind]
    extra = {
        "fusion": {"modalities": ("image", "text"), "num_classes": 3},
        "image": {"in_channels": 1},
        "text": {"vocab_size": 20},
        "audio": {"n_mels": 16, "frames": 21},
    }[kind]
    shapes = []
    for options in ({}, dict(registry.entry(name).options)):
        with no_weight_files():  # shapes only: published weights need not be on this machine
            torch_module = registry.create(name, dim=8, **extra, **options)
        shapes.append([tuple(p.shape) for p in torch_module.parameters()])
    assert shapes[0] == shapes[1]


def test_components_doc_is_current():
    """docs/components.md is generated from the registries (scripts/gen_components_doc.py)."""
    assert (ROOT / "docs" / "components.md").read_text(encoding="utf-8") == components_markdown()


def test_a_registered_fusion_appears_in_the_cli_help_the_checks_and_the_docs(synth_manifest):
    """Adding a fusion is one registered class with its metadata: everything else reads it."""
    from mmstudio.engine.fusion import Fusion

    @FUSIONS.register("mean_pool", level="mid", options={"scale": 1.0}, tasks=("classify",))
    class MeanPool(Fusion):
        """Mean of the present modalities' features."""

        def __init__(self, modalities, dim, dropout=0.1, num_classes=0, scale: float = 1.0) -> None:
            super().__init__(modalities, dim, dropout, num_classes)
            self.scale = scale

        def forward(self, feats, mask):
            present = self.present(mask, feats[self.modalities[0]]).unsqueeze(-1)
            return self.scale * (self.stack(feats) * present).sum(1) / present.sum(1).clamp_min(1)

    try:
        train_help = cli.build_parser()._subparsers._group_actions[0].choices["train"].format_help()
        assert "mean_pool" in " ".join(train_help.split())
        assert (
            "| fusion | `mean_pool` | Mean of the present modalities' features. | `scale=1.0` | mid |"
            in components_markdown()
        )
        assert ("mean_pool", "Mean of the present modalities' features.") in engine.fusion_names()
        run = tiny_run(synth_manifest, fusion="mean_pool")
        assert check(run) == []
        assert _fields(check(run.replace(model=run.model.replace(task="classify+align")))) == ["model.fusion"]
        model = engine.parameter_count(run.model, ("image", "text"), num_classes=3)
        assert model > 0
    finally:
        FUSIONS.unregister("mean_pool")
    assert "mean_pool" not in FUSIONS


def test_zero_is_allowed_where_it_is_the_default(synth_manifest):
    """A number field whose default is 0 means "chosen from the data" (or "off") at 0; where the
    default is not 0, 0 is out of range."""
    run = tiny_run(synth_manifest, head_hidden=0, train={"max_steps": 0, "early_stopping": 0})
    assert check(run) == []
    zero_size = run.replace(model=run.model.replace(image=dataclasses.replace(run.model.image, size=0)))
    default_size = type(run.model.image)().size
    assert _fields(check(zero_size)) == ([] if default_size == 0 else ["model.image.size"])


def test_every_built_in_component_is_declared_without_torch():
    """Each factory the engine's modules register has a declaration in engine.components (so
    the CLI and the Model panel know it before torch loads): add a BUILTIN_* row for a new one."""
    import mmstudio.engine.encoders  # noqa: F401 - imports every encoder module
    import mmstudio.engine.fusion  # noqa: F401 - imports every fusion module

    undeclared = [
        (kind, e.name)
        for kind in (*ENCODERS, "fusion")
        for e in (FUSIONS if kind == "fusion" else ENCODERS[kind]).entries()
        if not e.module
    ]
    assert undeclared == []

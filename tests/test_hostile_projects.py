"""Damaged and hostile ``.mmstudio`` project files (issue 16): every one is refused with one
ProjectError naming the file (and the field), none crashes the loader or loads silently."""

from __future__ import annotations

import json
import os

import pytest

from mmstudio.project import Project, ProjectError, load_project, save_project


def _good(tmp_path) -> dict:
    path = tmp_path / "good.mmstudio"
    from mmstudio.config import DatasetSpec, RunConfig

    data = tmp_path / "data.csv"
    data.write_text("image,label\n")
    save_project(
        Project(
            datasets=[DatasetSpec(str(data))],
            run_configs=[RunConfig(DatasetSpec(str(data)))],
            runs=[str(tmp_path / "runs" / "r1")],
            bundle=str(tmp_path / "b"),
            name="p",
        ),
        str(path),
    )
    return json.loads(path.read_text())


def _edit(**changes):
    def make(good: dict) -> str:
        data = json.loads(json.dumps(good))
        for dotted, value in changes.items():
            node, *keys, last = [data, *dotted.split(".")]
            for key in keys:
                node = node[int(key)] if isinstance(node, list) else node[key]
            node[int(last) if isinstance(node, list) else last] = value
        return json.dumps(data)

    return make


#: name -> (the file's bytes or text from the good project's dict, what the message names)
DAMAGE = {
    "random bytes": (lambda g: os.urandom(4000), "not UTF-8"),
    "non-UTF-8 name": (
        lambda g: json.dumps(g).replace('"p"', '"caf\udce9"').encode("utf-8", "surrogateescape"),
        "not UTF-8",
    ),
    "empty file": (lambda g: "", "bad JSON"),
    "truncated": (lambda g: json.dumps(g)[:100], "bad JSON"),
    "a list": (lambda g: "[1, 2, 3]", "not an MMStudio project"),
    "a number": (lambda g: "42", "not an MMStudio project"),
    "no format": (lambda g: json.dumps({k: v for k, v in g.items() if k != "format"}), "not an MMStudio project"),
    "datasets an object": (_edit(datasets={"a": 1}), "datasets: expected a list"),
    "datasets a number": (_edit(datasets=3), "datasets: expected a list"),
    "dataset entry a list": (_edit(**{"datasets.0": [1]}), "datasets[0]: expected a table"),
    "run config a number": (_edit(**{"run_configs.0": 7}), "run_configs[0]: expected a table"),
    "nested 10,000 deep": (
        lambda g: json.dumps({**g, "name": "__X__"}).replace('"__X__"', "[" * 10_000 + "]" * 10_000),
        "nested too deeply",
    ),
    "5,000-digit number": (
        lambda g: json.dumps({**g, "name": "__X__"}).replace('"__X__"', "7" * 5000),
        "number with 5,000 digits",
    ),
    "schema version -1": (_edit(schema_version=-1), "schema_version"),
    "schema version 1.5": (_edit(schema_version=1.5), "schema_version"),
    "schema version text": (_edit(schema_version="1"), "schema_version"),
    "schema version newer": (_edit(schema_version=99), "newer MMStudio"),
    "name a list": (_edit(name=["a"]), "name: expected text"),
    "current panel a number": (_edit(current_panel=3), "current_panel: expected text"),
    "NUL in a dataset path": (_edit(**{"datasets.0.path": "data\x00.csv"}), "datasets[0].path: a path with a NUL"),
    "NUL in a run path": (_edit(**{"runs.0.absolute": "/tmp/r\x00"}), "runs[0]"),
    "bundle a number": (_edit(bundle=5), "bundle"),
    "model dim 10^9": (_edit(**{"run_configs.0.model": {"dim": 10**9}}), "run_configs[0].model.dim"),
    "unknown run key": (_edit(**{"run_configs.0.train": {"epochz": 3}}), "unknown key(s) epochz"),
    "unknown layout": (_edit(**{"datasets.0.spec.layout": "zip"}), "datasets[0].spec.layout"),
    "unknown column role": (_edit(**{"datasets.0.spec.columns": {"a": "boss"}}), "datasets[0].spec.columns.a"),
    "NaN split ratio": (lambda g: json.dumps(g).replace('"train": 0.8', '"train": NaN', 1), "split.train"),
    "40 MB of spaces": (lambda g: " " * (40 << 20), "too large"),
}


@pytest.mark.fault(
    case="Damaged or hostile .mmstudio project files: " + "; ".join(DAMAGE),
    how="a saved project's JSON edited, or replaced (`tests/test_hostile_projects.py`)",
    behaviour="ProjectError naming the file and, where one is to blame, the field "
    "(`run_configs[0].model.dim: 1000000000 is out of range (1..8192)`); the "
    "window shows it in a dialog (`tests/gui/test_hostile_project_dialog.py`)",
)
@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_project_is_refused_naming_the_file(tmp_path, name):
    make, expected = DAMAGE[name]
    content = make(_good(tmp_path))
    path = tmp_path / "bad.mmstudio"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(ProjectError) as info:
        load_project(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: ") and expected in message, message


def test_the_good_project_loads(tmp_path):
    path = tmp_path / "p.mmstudio"
    path.write_text(json.dumps(_good(tmp_path)))
    assert load_project(str(path)).name == "p"


@pytest.mark.fault(
    case="A run.toml with a path holding an emoji, quotes, backslashes and a newline",
    how="`RunConfig.save` then `RunConfig.load` (`tests/test_hostile_projects.py`)",
    behaviour="Written by tomli-w and read back equal (the old hand-written writer escaped "
    "the emoji as a surrogate pair TOML rejects)",
)
def test_run_toml_round_trips_any_path(tmp_path):
    from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec

    odd = str(tmp_path / 'data 🐱 "quoted" back\\slash\nnew line é' / "manifest.csv")
    run = RunConfig(
        DatasetSpec(odd, columns={"bild 🖼": "image", "x.y": "text"}),
        ModelSpec(modalities=("image", "text"), fusion_options={"heads": 2}),
        TrainSpec(lr=3e-4, epochs=2),
        name="🐱 run",
    )
    path = tmp_path / "run.toml"
    run.save(str(path))
    assert "🐱" in path.read_text(encoding="utf-8")  # written as is, not escaped
    assert RunConfig.load(str(path)) == run


@pytest.mark.fault(
    case="A run.toml with a wrong-typed or out-of-range value, or that is not TOML",
    how='`mmstudio train --config run.toml` with `dim = 1000000000`, `epochs = "3"`, '
    "random bytes (`tests/test_hostile_projects.py`)",
    behaviour="Exit status 2 before anything is written, no traceback: `run.toml: model.dim: "
    "1000000000 is out of range (1..8192)` (the file and the field named)",
)
@pytest.mark.parametrize(
    "content, expected",
    [
        ('[dataset]\npath = "d.csv"\n[model]\ndim = 1000000000\n', "model.dim: 1000000000 is out of range"),
        ('[dataset]\npath = "d.csv"\n[train]\nepochs = "3"\n', "train.epochs: expected a whole number, got text"),
        ("\x00\xff\xfe garbage", "not UTF-8"),
        ('[dataset\npath = "d.csv"\n', "not valid TOML"),
    ],
)
def test_cli_refuses_a_bad_run_toml_with_exit_2(tmp_path, capsys, content, expected):
    from mmstudio import cli

    config = tmp_path / "run.toml"
    config.write_bytes(content.encode("latin-1"))
    code = cli.main(["train", "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and f"{config}: " in err and expected in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()

"""Project files (mmstudio.project, Qt-free): round trip, moved folders, versions, bad files."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, SplitSpec, TrainSpec
from mmstudio.project import (
    PROJECT_SCHEMA_VERSION,
    Project,
    ProjectError,
    load_project,
    save_project,
)


def _project(root) -> Project:
    data = root / "data" / "manifest.csv"
    data.parent.mkdir(parents=True)
    data.write_text("id,image\n")
    spec = DatasetSpec(
        str(data),
        layout="manifest",
        columns={"image": "image", "speaker": "ignore"},
        split=SplitSpec(train=0.7, val=0.1, test=0.2, seed=5),
    )
    run = RunConfig(
        spec,
        ModelSpec(modalities=("image", "audio"), fusion="gated", dim=32),
        TrainSpec(epochs=7, lr=3e-3),
        name="first",
    )
    bundle = root / "runs" / "r1" / "bundle"
    bundle.mkdir(parents=True)
    return Project(
        datasets=[spec],
        run_configs=[run],
        runs=[str(root / "runs" / "r1")],
        bundle=str(bundle),
        current_panel="Model",
        name="p",
    )


def test_round_trip_is_exact_and_paths_are_stored_relative_and_absolute(tmp_path):
    project = _project(tmp_path)
    path = tmp_path / "p.mmstudio"
    save_project(project, str(path))
    data = json.loads(path.read_text())
    assert data["schema_version"] == PROJECT_SCHEMA_VERSION and data["format"] == "mmstudio.project"
    assert data["datasets"][0]["path"] == "data/manifest.csv"
    assert data["datasets"][0]["absolute"] == str(tmp_path / "data" / "manifest.csv")
    assert data["runs"][0]["path"] == "runs/r1"
    assert load_project(str(path)) == project
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]  # the atomic save left nothing behind


def test_a_folder_moved_whole_still_opens(tmp_path):
    save_project(_project(tmp_path / "a"), str(tmp_path / "a" / "p.mmstudio"))
    shutil.move(str(tmp_path / "a"), str(tmp_path / "b"))
    project = load_project(str(tmp_path / "b" / "p.mmstudio"))
    assert project.datasets[0].path == str(tmp_path / "b" / "data" / "manifest.csv")
    assert project.run_configs[0].dataset.path == project.datasets[0].path
    assert project.missing_paths() == []


def test_a_project_file_moved_alone_still_finds_its_data(tmp_path):
    save_project(_project(tmp_path / "a"), str(tmp_path / "a" / "p.mmstudio"))
    (tmp_path / "elsewhere").mkdir()
    shutil.move(str(tmp_path / "a" / "p.mmstudio"), str(tmp_path / "elsewhere" / "p.mmstudio"))
    project = load_project(str(tmp_path / "elsewhere" / "p.mmstudio"))
    assert project.datasets[0].path == str(tmp_path / "a" / "data" / "manifest.csv")


def test_missing_data_is_listed_and_relocate_moves_everything_under_a_folder(tmp_path):
    project = _project(tmp_path / "a")
    save_project(project, str(tmp_path / "p.mmstudio"))
    shutil.move(str(tmp_path / "a"), str(tmp_path / "moved"))
    loaded = load_project(str(tmp_path / "p.mmstudio"))
    assert sorted(loaded.missing_paths()) == sorted(
        [str(tmp_path / "a" / "data" / "manifest.csv"), str(tmp_path / "a" / "runs" / "r1" / "bundle")]
    )
    fixed = loaded.relocate(str(tmp_path / "a"), str(tmp_path / "moved"))
    assert fixed.missing_paths() == []
    assert fixed.run_configs[0].dataset.path == str(tmp_path / "moved" / "data" / "manifest.csv")


def test_newer_schema_and_bad_files_are_refused_with_the_file_named(tmp_path):
    path = tmp_path / "p.mmstudio"
    save_project(Project(), str(path))
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "schema_version": PROJECT_SCHEMA_VERSION + 1}))
    with pytest.raises(ProjectError, match="newer MMStudio") as err:
        load_project(str(path))
    assert str(path) in str(err.value)
    path.write_text("{not json")
    with pytest.raises(ProjectError, match="bad JSON at line 1"):
        load_project(str(path))
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ProjectError, match="not an MMStudio project"):
        load_project(str(path))
    with pytest.raises(ProjectError, match="cannot read"):
        load_project(str(tmp_path / "absent.mmstudio"))

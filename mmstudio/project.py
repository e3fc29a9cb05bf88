"""Project files (``*.mmstudio``): the datasets, run configs and runs a user works with.

Standard library only (like :mod:`mmstudio.config`), so the window, the CLI and tests read and
write projects without Qt or torch. A project is one JSON document with ``schema_version``::

    {"schema_version": 1, "format": "mmstudio.project", "name": "...",
     "datasets": [{"path": "data/manifest.csv", "absolute": "/home/me/p/data/manifest.csv",
                   "spec": {DatasetSpec fields}}],
     "run_configs": [{RunConfig.to_dict()}], "runs": [{"path": ..., "absolute": ...}],
     "bundle": {"path": ..., "absolute": ...} | null, "current_panel": "Data"}

Every path is stored twice: relative to the project file (so a folder moved or copied whole
still opens) and absolute (so a project file moved alone still finds its data). Saves are atomic
(a temporary file, then ``os.replace``): a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from mmstudio.config import DatasetSpec, RunConfig, from_dict, to_dict
from mmstudio.errors import LoadError, SchemaError
from mmstudio.file_schemas import PROJECT
from mmstudio.fileio import atomic_write_text
from mmstudio.schema import check, read_json, version

PROJECT_FORMAT = "mmstudio.project"
PROJECT_SCHEMA_VERSION = 1
SUFFIX = ".mmstudio"
MIME_TYPE = "application/x-mmstudio-project"


#: A project lists paths and settings: a few hundred kilobytes at most.
MAX_BYTES = 32 << 20


class ProjectError(LoadError):
    """A project file that cannot be read; the message names the file and the problem."""


@dataclass
class Project:
    """What a project holds. Paths here are absolute; the file stores them relative too."""

    datasets: list[DatasetSpec] = field(default_factory=list)
    run_configs: list[RunConfig] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    bundle: str = ""
    current_panel: str = "Data"
    name: str = ""

    def to_dict(self, base_dir: str) -> dict[str, Any]:
        """The JSON form, with paths stored relative to ``base_dir`` (the project's folder)."""
        return {
            "schema_version": PROJECT_SCHEMA_VERSION,
            "format": PROJECT_FORMAT,
            "name": self.name,
            "datasets": [{**_path_entry(spec.path, base_dir), "spec": _spec_dict(spec)} for spec in self.datasets],
            "run_configs": [_run_dict(run, base_dir) for run in self.run_configs],
            "runs": [_path_entry(p, base_dir) for p in self.runs],
            "bundle": _path_entry(self.bundle, base_dir) if self.bundle else None,
            "current_panel": self.current_panel,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: str) -> Project:
        data = migrate(data)
        datasets = [
            DatasetSpec(**{**_spec_fields(d.get("spec", {})), "path": _resolve(d, base_dir)})
            for d in data.get("datasets", [])
        ]
        runs_cfg = []
        for d in data.get("run_configs", []):
            d = dict(d)
            dataset_entry = d.pop("dataset_path", None)
            run = RunConfig.from_dict(d)
            if dataset_entry:
                run = run.replace(dataset=run.dataset.replace(path=_resolve(dataset_entry, base_dir)))
            runs_cfg.append(run)
        bundle = data.get("bundle")
        return cls(
            datasets=datasets,
            run_configs=runs_cfg,
            runs=[_resolve(r, base_dir) for r in data.get("runs", [])],
            bundle=_resolve(bundle, base_dir) if bundle else "",
            current_panel=str(data.get("current_panel", "Data")),
            name=str(data.get("name", "")),
        )

    def missing_paths(self) -> list[str]:
        """Datasets and bundle that are not where the project says (moved or deleted)."""
        wanted = [d.path for d in self.datasets] + ([self.bundle] if self.bundle else [])
        return [p for p in wanted if not os.path.exists(p)]

    def relocate(self, old: str, new: str) -> Project:
        """The same project with every path under ``old`` moved under ``new`` (a moved folder)."""

        def move(path: str) -> str:
            if path == old:
                return new
            rel = os.path.relpath(path, old) if path.startswith(old.rstrip(os.sep) + os.sep) else None
            return os.path.join(new, rel) if rel else path

        return dataclasses.replace(
            self,
            datasets=[d.replace(path=move(d.path)) for d in self.datasets],
            run_configs=[r.replace(dataset=r.dataset.replace(path=move(r.dataset.path))) for r in self.run_configs],
            runs=[move(p) for p in self.runs],
            bundle=move(self.bundle) if self.bundle else "",
        )


def save_project(project: Project, path: str, extra: dict[str, Any] | None = None) -> None:
    """Write ``path`` atomically (temporary file in the same folder, then ``os.replace``).

    ``extra`` keys are stored beside the project's (an autosave notes which file it recovers)."""
    path = os.path.abspath(path)
    text = json.dumps({**project.to_dict(os.path.dirname(path)), **(extra or {})}, indent=2)
    atomic_write_text(path, text)


def load_project(path: str) -> Project:
    """Read a project file; any fault (damaged, hostile, too new) is a :class:`ProjectError`
    naming the file and the field, checked against :data:`~mmstudio.file_schemas.PROJECT`."""
    path = os.path.abspath(path)
    try:
        data = read_json(path, MAX_BYTES)
        if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
            raise ProjectError(path, f'not an MMStudio project (no "format": "{PROJECT_FORMAT}")')
        check(data, PROJECT, path)
        return Project.from_dict(data, os.path.dirname(path))
    except ProjectError:
        raise
    except SchemaError as exc:
        raise ProjectError(path, exc.problem, exc.field) from None
    except LoadError as exc:
        raise ProjectError(exc.path or path, exc.problem, exc.field) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ProjectError(path, str(exc)) from None


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a project written by an older MMStudio; refuse one from a newer one."""
    version(data.get("schema_version", 1), "schema_version", PROJECT_SCHEMA_VERSION)
    return {**data, "schema_version": PROJECT_SCHEMA_VERSION}


# ---------------------------------------------------------------------------------------------


def _path_entry(path: str, base_dir: str) -> dict[str, str]:
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base_dir).replace(os.sep, "/")
    except ValueError:  # another drive on Windows
        relative = absolute
    return {"path": relative, "absolute": absolute}


def _resolve(entry: Any, base_dir: str) -> str:
    """The stored path: relative to the project if that exists, else absolute, else relative."""
    if isinstance(entry, str):
        entry = {"path": entry}
    relative = entry.get("path", "")
    candidates = [os.path.normpath(os.path.join(base_dir, relative))] if relative else []
    if entry.get("absolute"):
        candidates.append(entry["absolute"])
    for c in candidates:
        if os.path.exists(c):
            return c
    return candidates[0] if candidates else ""


def _spec_dict(spec: DatasetSpec) -> dict[str, Any]:
    data = to_dict(spec)
    data.pop("path")
    return data


def _spec_fields(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data.pop("path", None)
    return vars(from_dict(DatasetSpec, {"path": "", **data}))


def _run_dict(run: RunConfig, base_dir: str) -> dict[str, Any]:
    data = run.to_dict()
    data["dataset_path"] = _path_entry(run.dataset.path, base_dir) if run.dataset.path else None
    return data

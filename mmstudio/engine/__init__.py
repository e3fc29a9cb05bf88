"""MMStudio's engine: torch models, training, evaluation, bundles, retrieval and export.

This is the public face the GUI and the CLI use. Names resolve lazily, so ``import
mmstudio.engine`` is cheap and torch is imported only when a name is first used.

- ``train(run, out_dir, control=None, resume=False, dataset=None)``: a generator of events
  (``RunStarted``, ``DataPrepared``, ``StepLogged``, ``EpochDone``, ``CheckpointSaved``,
  ``Paused``, ``Resumed``, ``RunFinished``) returning a ``RunResult``; ``Control`` pauses/stops.
  Under ``torchrun`` it trains with DistributedDataParallel (``distributed_context()`` says which
  rank this is); ``OutOfMemory`` (a ``MemoryError``) carries advice. ``event_from_dict`` rebuilds
  an event from a ``train --json`` line.
- ``evaluate(bundle, data, split="test")`` -> metrics dict; ``predict(bundle, image=, audio=, text=)``.
- ``load_bundle(path)`` -> ``Bundle``; ``BundleError`` for unusable bundles.
- ``build_index(bundle, data, out=None)``, ``query(bundle, text=|image=|audio=, target=, top=)``.
- ``evaluation_report(bundle, data, split, progress=)`` -> the Evaluate panel's report (per-sample
  predictions, ablation, robustness, weights, retrieval); ``save_report(report, folder)`` (CSV+JSON);
  ``samples_in_cell(report, true, pred)``, ``misclassified(report)`` -> item indices.
- ``QuerySession(bundle)``: ``index(dataset)`` (cached per collection), ``query(...)``,
  ``classify(...)``, ``embedding_map(target, "pca"|"tsne")``; ``project(vectors, method)``.
- ``export(bundle, format="onnx"|"pt2", out=...)``.
- ``check(run, dataset=None, gpus=None)`` -> ``[Problem(field, message, choices)]``: every rule
  about a run, without torch (``train`` raises ``RunProblems`` when it finds any).
- ``encoder_names()``, ``fusion_names()``, ``describe(kind, name)``, ``component(kind, name)`` (the
  registry entry: help, options, level, tasks), ``fusion_level(name)``, ``components_markdown()``
  (no torch); ``parameter_count(run, ...)``,
  ``suggest_run(dataset)`` (a first RunConfig for a dataset), ``memory_estimate(run, ...)``,
  ``gpu_info()`` (CUDA devices: name and memory).
- ``list_runs(root)``, ``read_status(out_dir)``, ``read_curves(out_dir)``: the runs recorded on disk;
  ``headline(metrics)`` (the metric a run is judged by), ``new_run_dir(root, name)`` (no torch).
- ``PRESETS``, ``apply_preset(run, name, gpus)``: the Model panel's quick/accurate starting points.
"""
from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "train": "mmstudio.engine.trainer",
    "evaluate": "mmstudio.engine.evaluation",
    "load_bundle": "mmstudio.engine.bundle",
    "Bundle": "mmstudio.engine.bundle",
    "BundleError": "mmstudio.engine.bundle",
    "build_index": "mmstudio.engine.retrieval",
    "load_index": "mmstudio.engine.retrieval",
    "query": "mmstudio.engine.retrieval",
    "export": "mmstudio.engine.exporting",
    "predict": "mmstudio.engine.prediction",
    "encoder_names": "mmstudio.engine.components",
    "fusion_names": "mmstudio.engine.components",
    "describe": "mmstudio.engine.components",
    "catalog": "mmstudio.engine.components",
    "parameter_count": "mmstudio.engine.model_catalog",
    "suggest_run": "mmstudio.engine.model_catalog",
    "memory_estimate": "mmstudio.engine.model_catalog",
    "gpu_info": "mmstudio.engine.devices",
    "list_runs": "mmstudio.engine.runlog",
    "read_status": "mmstudio.engine.runlog",
    "read_curves": "mmstudio.engine.runlog",
    "Event": "mmstudio.engine.events",
    "RunStarted": "mmstudio.engine.events",
    "DataPrepared": "mmstudio.engine.events",
    "StepLogged": "mmstudio.engine.events",
    "EpochDone": "mmstudio.engine.events",
    "CheckpointSaved": "mmstudio.engine.events",
    "Paused": "mmstudio.engine.events",
    "Resumed": "mmstudio.engine.events",
    "RunFinished": "mmstudio.engine.events",
    "RunResult": "mmstudio.engine.events",
    "Control": "mmstudio.engine.events",
    "drive": "mmstudio.engine.events",
    "event_from_dict": "mmstudio.engine.events",
    "OutOfMemory": "mmstudio.engine.devices",
    "distributed_context": "mmstudio.engine.distributed",
    "evaluation_report": "mmstudio.engine.report",
    "save_report": "mmstudio.engine.report",
    "samples_in_cell": "mmstudio.engine.report",
    "misclassified": "mmstudio.engine.report",
    "QuerySession": "mmstudio.engine.query_session",
    "collection_key": "mmstudio.engine.query_session",
    "project": "mmstudio.engine.projection",
    "headline": "mmstudio.engine.runlog",
    "new_run_dir": "mmstudio.engine.runlog",
    "PRESETS": "mmstudio.engine.presets",
    "apply_preset": "mmstudio.engine.presets",
    "check": "mmstudio.engine.rules",
    "Problem": "mmstudio.engine.rules",
    "RunProblems": "mmstudio.engine.rules",
    "DatasetFacts": "mmstudio.engine.rules",
    "component": "mmstudio.engine.components",
    "fusion_level": "mmstudio.engine.components",
    "components_markdown": "mmstudio.engine.components",
}

__all__ = list(sorted(_NAMES))


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'mmstudio.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

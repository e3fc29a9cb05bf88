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
- ``predict_dataset(bundle, data, split="all")`` -> one row per item (missing modalities masked)
  and the accuracy; ``write_predictions(rows, "preds.csv"|"preds.jsonl")``; ``prediction_format``.
- ``load_bundle(path)`` -> ``Bundle``; ``BundleError`` for unusable bundles.
- ``build_index(bundle, data, out=None)``, ``query(bundle, text=|image=|audio=, target=, top=)``.
- ``evaluation_report(bundle, data, split, progress=)`` -> the Evaluate panel's report (per-sample
  predictions, ablation, robustness, weights, retrieval); ``save_report(report, folder)`` (CSV+JSON);
  ``samples_in_cell(report, true, pred)``, ``misclassified(report)`` -> item indices.
- ``QuerySession(bundle)``: ``index(dataset)`` (an on-disk collection in the user cache, updated
  incrementally), ``open_collection(folder)``, ``query(..., label=, split=, has=, knob=)``,
  ``more_like(index)``, ``classify(...)``, ``embedding_map(target, "pca"|"tsne")``;
  ``project(vectors, method)``; ``find_collection(bundle, data)``, ``has_bundle_index(bundle)``.
- ``index_collection(bundle, data, split, control=)``: a generator of ``IndexProgress`` (done,
  total, items/s, ETA) returning an ``IndexResult``; resumable, incremental, builds the FAISS
  index above 50,000 rows. ``CollectionSearch(folder)``: filtered exact/approximate search.
- ``export(bundle, format="onnx"|"pt2", out=FOLDER)``: a self-describing package (model with
  metadata, masks per modality, ``preprocess.json``, ``tokenizer.json``, numpy-only ``predict.py``,
  ``README.md`` model card); ``read_export_metadata(model_file)``.
- ``check(run, dataset=None, gpus=None)`` -> ``[Problem(field, message, choices)]``: every rule
  about a run, without torch (``train`` raises ``RunProblems`` when it finds any).
- ``encoder_names()``, ``fusion_names()``, ``describe(kind, name)``, ``component(kind, name)`` (the
  registry entry: help, options, level, tasks), ``fusion_level(name)``, ``components_markdown()``
  (no torch); ``parameter_count(run, ...)``,
  ``suggest_run(dataset)`` (a first RunConfig for a dataset, automatic settings chosen from it),
  ``suggest_settings(dataset)`` (that run and the reasons), ``resolve_settings(run, dataset,
  device_type)`` (a run's automatic fields chosen from the data), ``memory_estimate(run, ...)``,
  ``gpu_info()`` (CUDA devices: name and memory).
- ``list_runs(root)``, ``read_status(out_dir)``, ``read_curves(out_dir)``: the runs recorded on disk;
  ``headline(metrics)`` (the metric a run is judged by), ``new_run_dir(root, name)`` (no torch).
- Experiments (a folder of runs sharing data, split and seeds): ``grid_plan(run, modalities,
  fusions, seeds)`` / ``search_plan(run, trials, timeout_s)``, ``save_plan(folder, plan)``,
  ``run_experiment(folder, control)`` (a generator of the runs' events and
  ``ExperimentProgress``; resumable), ``experiment_results(folder)`` (ranked table, gain with a
  paired bootstrap CI), ``list_experiments(root)``, ``export_table(table, path)`` (no torch).
- ``describe_files(bundle, image=, audio=, beam=)``: a generating bundle's texts for a file (best
  first, with alternatives); ``comparison_rows(report)``: its scores beside the baselines'.
- ``PRESETS``, ``apply_preset(run, name, gpus)``: the Model panel's quick/accurate starting points.
- ``weights_list()`` (no torch): the published weights encoders can start from (size, licence,
  present); ``default_weights(encoder)``, ``weights_dir()``; ``download_weights(name,
  on_progress, cancelled)`` (only when the user asks; ``WeightsError`` offline,
  ``DownloadCancelled``); ``import_weights(file, name="", force=False)`` (checked copy).
- ``compress_bundle(bundle, "dynamic_int8"|"static_int8"|"prune", out, sparsity=, finetune=)``: a smaller
  bundle (int8 weights in safetensors, or pruned); ``compare_variants(bundle, data, split, out_root)``:
  each variant's size on disk, CPU latency and metric; ``keep_variant(row, folder)``,
  ``variants_folder(bundle)``. ``TASK_HELP``: what each task trains (``regress``: a number).
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "train": "mmstudio.engine.trainer",
    "evaluate": "mmstudio.engine.evaluation",
    "load_bundle": "mmstudio.engine.bundle",
    "load_dataset": "mmstudio.engine.data",
    "record_input_stats": "mmstudio.engine.inputstats",
    "Bundle": "mmstudio.engine.bundle",
    "BundleError": "mmstudio.engine.bundle",
    "build_index": "mmstudio.engine.retrieval",
    "load_index": "mmstudio.engine.retrieval",
    "query": "mmstudio.engine.retrieval",
    "export": "mmstudio.engine.exporting",
    "read_export_metadata": "mmstudio.engine.exporting",
    "predict": "mmstudio.engine.prediction",
    "predict_dataset": "mmstudio.engine.predicting",
    "write_predictions": "mmstudio.engine.predicting",
    "prediction_format": "mmstudio.engine.predicting",
    "encoder_names": "mmstudio.engine.components",
    "fusion_names": "mmstudio.engine.components",
    "describe": "mmstudio.engine.components",
    "catalog": "mmstudio.engine.components",
    "parameter_count": "mmstudio.engine.model_catalog",
    "suggest_run": "mmstudio.engine.model_catalog",
    "suggest_settings": "mmstudio.engine.model_catalog",
    "resolve_settings": "mmstudio.engine.autoconfig",
    "with_text_encoder": "mmstudio.engine.autoconfig",
    "decode_threads": "mmstudio.engine.autoconfig",
    "decode_threads_text": "mmstudio.engine.autoconfig",
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
    "find_collection": "mmstudio.engine.query_session",
    "has_bundle_index": "mmstudio.engine.query_session",
    "index_collection": "mmstudio.engine.indexing",
    "IndexProgress": "mmstudio.engine.indexing",
    "IndexResult": "mmstudio.engine.indexing",
    "CollectionSearch": "mmstudio.engine.search",
    "project": "mmstudio.engine.projection",
    "headline": "mmstudio.engine.runlog",
    "new_run_dir": "mmstudio.engine.runlog",
    "PRESETS": "mmstudio.engine.presets",
    "apply_preset": "mmstudio.engine.presets",
    "preset_changes": "mmstudio.engine.presets",
    "check": "mmstudio.engine.rules",
    "Problem": "mmstudio.engine.rules",
    "RunProblems": "mmstudio.engine.rules",
    "DatasetFacts": "mmstudio.engine.rules",
    "component": "mmstudio.engine.components",
    "fusion_level": "mmstudio.engine.components",
    "components_markdown": "mmstudio.engine.components",
    "describe_files": "mmstudio.engine.generation",
    "comparison_rows": "mmstudio.engine.generation_report",
    "weights_list": "mmstudio.engine.pretrained",
    "default_weights": "mmstudio.engine.pretrained",
    "weights_dir": "mmstudio.engine.pretrained",
    "WeightsError": "mmstudio.engine.pretrained",
    "download_weights": "mmstudio.engine.downloads",
    "DownloadCancelled": "mmstudio.engine.downloads",
    "import_weights": "mmstudio.engine.weights_check",
    "TASK_HELP": "mmstudio.engine.components",
    "compress_bundle": "mmstudio.engine.compress",
    "compare_variants": "mmstudio.engine.compress_measure",
    "keep_variant": "mmstudio.engine.compress_measure",
    "variants_folder": "mmstudio.engine.compress_measure",
    "VARIANTS": "mmstudio.engine.compress_measure",
    # experiments: a fusion grid or an Optuna search, a folder of runs (issue 20)
    "run_experiment": "mmstudio.engine.experiments",
    "ExperimentProgress": "mmstudio.engine.experiment_plan",
    "Plan": "mmstudio.engine.experiment_plan",
    "SEARCHABLE": "mmstudio.engine.experiment_plan",
    "grid_plan": "mmstudio.engine.experiment_plan",
    "search_plan": "mmstudio.engine.experiment_plan",
    "grid_runs": "mmstudio.engine.experiment_plan",
    "save_plan": "mmstudio.engine.experiment_plan",
    "load_plan": "mmstudio.engine.experiment_plan",
    "is_experiment": "mmstudio.engine.experiment_plan",
    "finished_names": "mmstudio.engine.experiment_plan",
    "list_experiments": "mmstudio.engine.experiment_plan",
    "experiment_summary": "mmstudio.engine.experiment_plan",
    "experiment_results": "mmstudio.engine.experiment_tables",
    "export_table": "mmstudio.engine.experiment_tables",
    "table_markdown": "mmstudio.engine.experiment_tables",
    "table_csv": "mmstudio.engine.experiment_tables",
    "gain_sentence": "mmstudio.engine.experiment_tables",
    "table_records": "mmstudio.engine.experiment_tables",
    "table_columns": "mmstudio.engine.experiment_tables",
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

"""The parameter count and memory of a configuration (built on the meta device: instant, no
memory), and a first run for a dataset. The names and help of encoders and fusions are in
:mod:`mmstudio.engine.components` (no torch)."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from mmstudio.config import DatasetSpec, ModelSpec, RunConfig, TrainSpec
from mmstudio.engine.autoconfig import resolve, with_placeholders
from mmstudio.engine.model import ModelShape, MultimodalModel, count_parameters
from mmstudio.engine.preprocess import Preprocessor
from mmstudio.engine.pretrained import no_weight_files


def parameter_count(
    run: RunConfig | ModelSpec,
    modalities: tuple[str, ...] | None = None,
    num_classes: int = 10,
    vocab_size: int = 5000,
    channels: int = 1,
) -> int:
    """Parameters of the model a config describes (modalities default to the spec's, or all)."""
    spec = run.model if isinstance(run, RunConfig) else run
    _, _, model = _meta_model(spec, tuple(modalities or ()), num_classes, vocab_size, channels)
    return count_parameters(model)


def suggest_run(dataset, device: str = "auto") -> RunConfig:
    """The run MMStudio proposes for a dataset: its modalities, ``classify`` when it has labels
    (else ``align``), every automatic setting chosen from the data exactly as ``mmstudio
    train`` would (:func:`suggest_settings` says why)."""
    return suggest_settings(dataset, device)[0]


def suggest_settings(dataset, device: str = "auto") -> tuple[RunConfig, list]:
    """(:func:`suggest_run`'s run, the :class:`~mmstudio.engine.autoconfig.AutoSetting` list)."""
    from mmstudio.engine.data import load_dataset
    from mmstudio.engine.devices import pick_device

    dataset = load_dataset(dataset)
    modalities = tuple(dataset.modalities)
    labelled = len(dataset.class_names) >= 2
    numbers = not labelled and any(it.target is not None for it in dataset.items)  # predict them
    if not labelled and not numbers and len(modalities) < 2:
        raise ValueError("this dataset has no labels and one modality: nothing to learn")
    kind = pick_device(device).type
    model = ModelSpec(modalities=modalities, task="classify" if labelled else ("regress" if numbers else "align"))
    run = RunConfig(dataset.spec, model, TrainSpec(device=device), name="")
    return resolve(run, dataset, kind)


def memory_estimate(
    run: RunConfig, num_classes: int = 10, vocab_size: int = 5000, channels: int = 1, dataset: Any = None
) -> dict[str, int]:
    """Bytes a training step needs, estimated on the meta device (no memory, no time):
    weights, gradients and AdamW's two moments (16 bytes per fp32 parameter), plus activations:
    every module output of one forward pass at the run's batch size, which backward keeps.
    Mixed precision on CUDA halves the activations. A guide, not a promise: allocator slack and
    cuDNN workspaces come on top.

    With ``dataset`` the model is the one ``train(run)`` builds from it (automatic fields chosen
    from the data, the tokenizer built from the training texts, the image channels, the classes):
    ``num_classes``, ``vocab_size`` and ``channels`` are then ignored. Without it they and typical
    values stand in for what the data would decide."""
    if dataset is not None:
        run, shape, model = _data_model(run, dataset)
        spec = run.model
    else:
        run = with_placeholders(run)
        spec, shape, model = _meta_model(run.model, (), num_classes, vocab_size, channels)
    tr = run.train
    mods, b = shape.modalities, tr.batch_size
    with torch.device("meta"):
        inputs = {
            "image": torch.zeros(b, shape.channels, spec.image.size, spec.image.size, dtype=torch.uint8),
            "text": torch.ones(b, spec.text.max_tokens, dtype=torch.int64),
            "audio": torch.zeros(b, shape.n_mels, shape.frames, dtype=torch.float16),
        }
        inputs = {m: x for m, x in inputs.items() if m in mods}
        mask = {m: torch.ones(b, dtype=torch.bool) for m in mods}
    params = count_parameters(model)
    total = [0]

    def count(_module, _args, output) -> None:
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, torch.Tensor):
                total[0] += t.numel() * t.element_size()

    hooks = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
    try:
        model.train()
        model(inputs, mask)
    except Exception:  # noqa: BLE001 - a data-dependent step (a decoder's loss asks whether any
        pass  # target token is there) cannot run on meta: the module outputs up to it are counted
    finally:
        for h in hooks:
            h.remove()
    activations = total[0]
    if tr.precision in ("bf16", "fp16") or (tr.precision == "auto" and tr.device == "cuda"):
        activations //= 2
    weights = params * 16
    return {
        "parameters": params,
        "weights_bytes": weights,
        "activation_bytes": activations,
        "total_bytes": weights + activations,
        "batch_size": b,
    }


def _meta_model(
    spec: ModelSpec, modalities: tuple[str, ...], num_classes: int, vocab_size: int, channels: int
) -> tuple[ModelSpec, ModelShape, MultimodalModel]:
    """The model a spec describes, built on the meta device (no memory, no time): modalities
    default to the spec's, or all; one modality trains as ``classify``; weights files are not
    read; the audio input shape is the preprocessor's."""
    spec = with_placeholders(RunConfig(DatasetSpec(""), spec)).model
    mods = tuple(modalities or spec.modalities or ("image", "text", "audio"))
    if spec.task == "generate":  # the text is the target: always there
        mods = tuple(m for m in ("image", "text", "audio") if m in mods or m == "text")
    elif spec.task not in ("classify", "regress") and len(mods) < 2:
        spec = spec.replace(task="classify")
    spec = spec.replace(image=dataclasses.replace(spec.image, weights=""))
    n_mels, frames = Preprocessor.from_model_spec(spec, mods).audio_shape
    shape = ModelShape(mods, max(2, num_classes), channels, min(vocab_size, spec.text.vocab_size), n_mels, frames)
    with torch.device("meta"), no_weight_files():  # shapes only: no weights file is read
        return spec, shape, MultimodalModel(spec, shape)


def model_shape(spec: ModelSpec, modalities: tuple[str, ...], class_names: list, train_items: list, tokenizer=None):
    """(the preprocessor, the :class:`~mmstudio.engine.model.ModelShape`) a run's model is built
    with, from its training items: the tokenizer built from their texts (``tokenizer``: one a
    checkpoint kept), their image channels, the audio input shape, the regression targets'
    scale. Training and the size estimate both call this, so they build the same model."""
    from mmstudio.engine.data import build_tokenizer, choose_channels
    from mmstudio.engine.regression import fit_targets

    if "text" in modalities and tokenizer is None:
        tokenizer = build_tokenizer(spec, train_items)
    channels = choose_channels(spec, train_items) if "image" in modalities else 1
    pre = Preprocessor.from_model_spec(spec, modalities, channels, tokenizer)
    vocab = len(tokenizer) if tokenizer else 2
    shape = ModelShape(modalities, len(class_names), channels, vocab, *pre.audio_shape, pre.mean, pre.std)
    return pre, fit_targets(shape, spec, train_items)


def _data_model(run: RunConfig, dataset: Any) -> tuple[RunConfig, ModelShape, MultimodalModel]:
    """(the run as ``train`` resolves it, its shape, its model on the meta device): the same
    steps as the trainer's preparation (:func:`model_shape`), no file decoded
    beyond the probes the automatic settings and the channel choice read."""
    from mmstudio.engine.data import choose_modalities, load_dataset, training_items

    dataset = load_dataset(dataset)
    run, _ = resolve(run, dataset, _device_type(run.train.device))
    spec = run.model
    mods = choose_modalities(spec, dataset)
    train_items, _ = training_items(dataset, run.train.val_split, run.train.seed)
    class_names = dataset.class_names if "classify" in spec.task else []
    _, shape = model_shape(spec, mods, class_names, train_items)
    meta = spec.replace(image=dataclasses.replace(spec.image, weights=""))
    with torch.device("meta"), no_weight_files():  # shapes only: no weights file is read
        return run, shape, MultimodalModel(meta, shape, dropout=run.train.dropout)


def _device_type(name: str) -> str:
    """The device type a run trains on ("cuda" when it names a GPU this machine lacks: the
    estimate is for the machine it was written for)."""
    from mmstudio.engine.devices import pick_device

    try:
        return pick_device(name).type
    except ValueError:
        return "cuda"

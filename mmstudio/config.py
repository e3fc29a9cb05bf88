"""Frozen, serialisable descriptions of what a run uses: the dataset, the model, the training.

Standard library only (tomli-w aside, for writing TOML), so the window, the CLI and a bundle can
all read and write a run without importing torch. Every dict form carries ``schema_version``; :func:`migrate` upgrades older ones.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

#: Column roles a manifest column can take (``ignore`` keeps the column out of the dataset).
#: ``target`` is a number to predict (the ``regress`` task).
COLUMN_ROLES = ("id", "image", "audio", "text", "label", "split", "target", "ignore")
#: Layouts the data layer understands; ``auto`` lets it guess.
LAYOUTS = ("auto", "class_folders", "manifest", "captions", "transcripts", "filename_labels", "paired_folders")
#: Default filename pattern for ``filename_labels``: the label is what comes before the first
#: ``_`` or ``-`` (``7_jackson_32.wav`` -> ``7``).
DEFAULT_LABEL_PATTERN = r"^(?P<label>[^_\-]+)[_\-]"


@dataclass(frozen=True)
class SplitSpec:
    """How items without a split column are split: stratified by label, reproducible by seed."""

    train: float = 0.8  # share of the items, for data without a split column
    val: float = 0.1
    test: float = 0.1
    seed: int = 0  # the same seed gives the same split

    def __post_init__(self) -> None:
        parts = (self.train, self.val, self.test)
        if any(p < 0 for p in parts) or sum(parts) <= 0:
            raise ValueError(f"split ratios must be non-negative and not all zero, got {parts}")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset is and how to read it. Everything left at its default is guessed.

    ``columns`` maps a manifest column name to one of :data:`COLUMN_ROLES`; columns not named are
    guessed from their content. Several columns may have the role ``text``: they are joined.
    """

    path: str  # a dataset folder or a CSV/TSV/JSONL manifest
    layout: str = "auto"  # auto, class_folders, manifest, captions, transcripts, filename_labels, paired_folders
    #: column name -> id, image, audio, text, label, split, target or ignore
    columns: Mapping[str, str] = field(default_factory=dict)
    label_pattern: str = DEFAULT_LABEL_PATTERN  # filename_labels: a regex with (?P<label>...)
    split: SplitSpec = field(default_factory=SplitSpec)
    max_image_pixels: int = 50_000_000  # larger images are refused (decompression bombs)

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; choose one of {', '.join(LAYOUTS)}")
        bad = {c: r for c, r in self.columns.items() if r not in COLUMN_ROLES}
        if bad:
            raise ValueError(f"unknown column role(s) {bad}; roles are {', '.join(COLUMN_ROLES)}")
        # Freeze the mapping so a spec can be hashed and shared across threads safely.
        object.__setattr__(self, "columns", dict(self.columns))

    def replace(self, **changes: Any) -> DatasetSpec:
        return dataclasses.replace(self, **changes)


#: Modalities a model can take, in the order models and bundles list them.
MODALITY_NAMES = ("image", "text", "audio")
TASKS = ("classify", "align", "classify+align", "regress", "generate")
#: Losses of the ``regress`` task (on standardised targets).
REGRESS_LOSSES = ("mse", "huber", "l1")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: How text is cut into tokens ("auto": chosen for the encoder, see engine.autoconfig).
TEXT_LEVELS = ("auto", "word", "char", "subword")


@dataclass(frozen=True)
class ImageSpec:
    """Image encoder and preprocessing. ``weights``: published weights by name (found in the torch
    hub cache, :mod:`mmstudio.engine.pretrained`) or a local .pth/.safetensors file; the encoder's
    ``tune`` option says whether they stay frozen (the default) or are fine-tuned."""

    encoder: str = "cnn"  # cnn, or a torchvision backbone: resnet18/34/50, mobilenet_v3_small/large, efficientnet_b0, convnext_tiny
    size: int = 0  # 0: chosen from the images (engine.autoconfig)
    #: 0 picks 1 (grey) when every training image is grey, else 3.
    channels: int = 0
    augment: bool = False  # random small shifts, turns and zooms of training images
    weights: str = ""  # published weights (mmstudio weights list), or a local .pth/.safetensors file
    options: Mapping[str, Any] = field(default_factory=dict)  # encoder options (width, layers, ...)


@dataclass(frozen=True)
class TextSpec:
    """Text encoder and tokenizer (built from the training split, saved in the bundle)."""

    encoder: str = "ngram"  # ngram, bag, gru, lstm, transformer
    level: str = "auto"  # auto (subword for gru/lstm/transformer, else word), word, char or subword
    vocab_size: int = 0  # 0: every token of the training texts, capped (engine.autoconfig)
    max_tokens: int = 0  # 0: the longest training text (ngram, bag) or the 95th percentile, capped
    ngrams: int = 0  # 1: words; 2: words and word pairs; 0: 2 for order-free encoders, else 1
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level not in TEXT_LEVELS:
            raise ValueError(f"text level must be one of {', '.join(TEXT_LEVELS)}, got {self.level!r}")
        if self.ngrams not in (0, 1, 2):
            raise ValueError(f"text ngrams must be 0 (auto), 1 or 2, got {self.ngrams!r}")


@dataclass(frozen=True)
class AudioSpec:
    """Audio encoder and features: resampled to one rate, padded/cropped, log-mel or MFCC."""

    encoder: str = "mel_cnn"  # mel_cnn, mel_lstm, or pretrained wav2vec2_base, hubert_base (16 kHz)
    sample_rate: int = 0  # 0: the clips' own rate, at most 16 kHz (engine.autoconfig)
    seconds: float = 0.0  # 0: the 95th percentile of the training clips' durations, capped
    features: str = "logmel"  # "logmel" or "mfcc"
    n_mels: int = 40  # mel bands (or MFCC coefficients)
    hop_ms: float = 20.0  # time between two feature frames
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features not in ("logmel", "mfcc"):
            raise ValueError(f"audio features must be 'logmel' or 'mfcc', got {self.features!r}")


@dataclass(frozen=True)
class ModelSpec:
    """Which modalities, encoders, fusion and task a model has.

    ``modalities`` empty means every modality the dataset has. ``dim`` is the feature size each
    encoder outputs (the fusion's input); ``embed_dim`` the shared space of the ``align`` task.
    """

    modalities: tuple[str, ...] = ()  # empty: every modality the dataset has
    image: ImageSpec = field(default_factory=ImageSpec)
    text: TextSpec = field(default_factory=TextSpec)
    audio: AudioSpec = field(default_factory=AudioSpec)
    fusion: str = "concat"  # early, concat, weighted_sum, product, gated, attention, tensor, late
    fusion_options: Mapping[str, Any] = field(default_factory=dict)
    dim: int = 128  # features each encoder outputs (the fusion's input)
    task: str = "classify"  # classify, align (retrieval), classify+align, regress (a number) or generate (text)
    embed_dim: int = 128  # the shared space of align
    head_hidden: int = 0  # 0: a linear head; >0: one hidden layer of that size
    label_smoothing: float = 0.0  # classify: share of the target spread over the other classes
    class_weights: bool = False  # weight classes by inverse training frequency
    align_weight: float = 1.0  # weight of the align loss in classify+align
    temperature: float = 0.07  # initial InfoNCE temperature (learned)
    regress_loss: str = "mse"  # regress: mse, huber or l1 (on standardised targets)
    # generate: the text is the target; the other modalities are the inputs (engine.decoders)
    decoder: str = "transformer"  # generate: transformer (cross-attention) or ctc (audio only)
    decoder_options: Mapping[str, Any] = field(default_factory=dict)  # layers, heads, width, ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        bad = [m for m in self.modalities if m not in MODALITY_NAMES]
        if bad:
            raise ValueError(f"unknown modality {bad[0]!r}; modalities are {', '.join(MODALITY_NAMES)}")
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; tasks are {', '.join(TASKS)}")
        if self.regress_loss not in REGRESS_LOSSES:
            raise ValueError(f"unknown regress loss {self.regress_loss!r}; choose {', '.join(REGRESS_LOSSES)}")
        for name in ("fusion_options", "decoder_options"):
            object.__setattr__(self, name, dict(getattr(self, name)))

    def replace(self, **changes: Any) -> ModelSpec:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainSpec:
    """Optimisation and training loop settings. ``device``/``precision`` ``auto`` pick CUDA + bf16
    when present, else CPU + fp32 (bf16 on CPU is far slower, see DESIGN.md)."""

    epochs: int = 0  # 0: about 1,000 steps, with early stopping (engine.autoconfig)
    batch_size: int = 0  # 0: about 50 steps per epoch, 16 to 128 (256 on CUDA)
    optimizer: str = "adamw"  # adamw or sgd
    lr: float = 0.0  # 0: 3e-3 at batch 64, square-root scaled with the batch size
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.01  # AdamW's decoupled decay
    l1: float = 0.0  # L1 penalty on weight matrices
    schedule: str = "cosine"  # cosine or constant, after the warm-up
    warmup_epochs: float = 0.5
    dropout: float = 0.1  # in encoders' projections and heads (and of whole tokens in ngram)
    modality_dropout: float = 0.0  # chance of hiding a modality of a training sample
    grad_clip: float = 1.0  # largest gradient norm (0: no clipping)
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU), fp32, bf16, fp16
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    seed: int = 0  # the same seed gives the same run
    early_stopping: int = 0  # patience in epochs without improvement; 0 turns it off
    val_split: str = "auto"  # a split name, "none", or "auto" (val if present, else 10% of train)
    max_steps: int = 0  # stop after this many steps (0: no limit); for quick checks
    num_threads: int = 0  # CPU threads for torch (0: leave torch's choice)
    compile: bool = False  # torch.compile the model
    log_every_s: float = 0.5  # seconds between two logged steps
    auto_batch: bool = False  # CUDA: probe for the largest batch that fits (batch_size: start)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose {', '.join(SCHEDULES)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose {', '.join(PRECISIONS)}")
        if self.epochs < 0 or self.batch_size < 0:
            raise ValueError("epochs and batch_size must be positive (or 0: chosen from the data)")

    def replace(self, **changes: Any) -> TrainSpec:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs: the GUI edits one, the CLI reads ``run.toml``, a bundle
    stores one."""

    dataset: DatasetSpec
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    name: str = ""  # shown in the runs list

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **to_dict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Checked against :data:`mmstudio.file_schemas.RUN` first (``SchemaError`` names the field)."""
        from mmstudio.file_schemas import RUN

        RUN.check(data, "")
        return from_dict(cls, migrate(dict(data)))

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> RunConfig:
        return cls.from_dict(loads_toml(text))

    def save(self, path: str) -> None:
        """Write ``run.toml`` (or ``.json``) atomically."""
        from mmstudio.fileio import atomic_write_text

        text = self.to_toml() if str(path).endswith(".toml") else json.dumps(self.to_dict(), indent=2)
        atomic_write_text(str(path), text)

    @classmethod
    def load(cls, path: str) -> RunConfig:
        """Read ``run.toml`` (or ``.json``); any fault is a ``LoadError`` naming the file and field."""
        from mmstudio.file_schemas import load_run

        return load_run(str(path))


# ---------------------------------------------------------------------------------------------
# Generic (de)serialisation of the frozen dataclasses above and of those the engine adds.


def to_dict(obj: Any) -> Any:
    """Plain JSON-able form of a (nested) config dataclass."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    """Build dataclass ``cls`` from a dict, recursing into dataclass-typed fields.

    Unknown keys are an error naming the key: a typo in ``run.toml`` must not be silently ignored.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected a table, got {type(data).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names) - {"schema_version"}
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown key(s) {', '.join(sorted(unknown))}")
    kwargs = {}
    hints = _field_types(cls)
    for key, value in data.items():
        if key == "schema_version":
            continue
        sub = hints.get(key)
        if isinstance(sub, type) and dataclasses.is_dataclass(sub) and isinstance(value, Mapping):
            value = from_dict(sub, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def _field_types(cls: type) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError, AttributeError):  # pragma: no cover - exotic annotations
        return {}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a config dict written by an older MMStudio to the current schema."""
    version = int(data.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"this file was written by a newer MMStudio (schema {version}); "
            f"this version reads schema {SCHEMA_VERSION} and older"
        )
    data = dict(data)
    data["schema_version"] = SCHEMA_VERSION
    return data


def dumps_json(obj: Any) -> str:
    data = to_dict(obj)
    if isinstance(data, dict):
        data = {"schema_version": SCHEMA_VERSION, **data}
    return json.dumps(data, indent=2, sort_keys=False)


# ---------------------------------------------------------------------------------------------
# TOML: the standard library reads it (tomllib) and tomli-w writes it (full TOML escaping, so any
# path, emoji included, reads back as written).


def loads_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Write nested dicts of scalars and lists as TOML; ``None`` values are left out."""
    import tomli_w

    return tomli_w.dumps(_without_none(data))


def _without_none(value: Any) -> Any:
    """TOML has no null: drop ``None`` values (readers use the field's default)."""
    if isinstance(value, Mapping):
        return {str(k): _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value if v is not None]
    return value

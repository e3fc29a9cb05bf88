"""Frozen, serialisable descriptions of what a run uses: the dataset, the model, the training.

Standard library only, so the window, the CLI and a bundle can all read and write a run without
importing torch. Every dict form carries ``schema_version``; :func:`migrate` upgrades older ones.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomllib

SCHEMA_VERSION = 1

#: Column roles a manifest column can take (``ignore`` keeps the column out of the dataset).
COLUMN_ROLES = ("id", "image", "audio", "text", "label", "split", "ignore")
#: Layouts the data layer understands; ``auto`` lets it guess.
LAYOUTS = ("auto", "class_folders", "manifest", "captions", "transcripts", "filename_labels",
           "paired_folders")
#: Default filename pattern for ``filename_labels``: the label is what comes before the first
#: ``_`` or ``-`` (``7_jackson_32.wav`` -> ``7``).
DEFAULT_LABEL_PATTERN = r"^(?P<label>[^_\-]+)[_\-]"


@dataclass(frozen=True)
class SplitSpec:
    """How items without a split column are split: stratified by label, reproducible by seed."""

    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    seed: int = 0

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

    path: str
    layout: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    label_pattern: str = DEFAULT_LABEL_PATTERN
    split: SplitSpec = field(default_factory=SplitSpec)
    max_image_pixels: int = 50_000_000

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
TASKS = ("classify", "align", "classify+align")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class ImageSpec:
    """Image encoder and preprocessing. ``weights`` is an optional local .pth/.safetensors file."""

    encoder: str = "cnn"
    size: int = 28
    #: 0 picks 1 (grey) when every training image is grey, else 3.
    channels: int = 0
    augment: bool = False
    weights: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextSpec:
    """Text encoder and tokenizer (built from the training split, saved in the bundle)."""

    encoder: str = "bag"
    level: str = "word"  # "word" or "char"
    vocab_size: int = 5000
    max_tokens: int = 32
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level not in ("word", "char"):
            raise ValueError(f"text level must be 'word' or 'char', got {self.level!r}")


@dataclass(frozen=True)
class AudioSpec:
    """Audio encoder and features: resampled to one rate, padded/cropped, log-mel or MFCC."""

    encoder: str = "mel_cnn"
    sample_rate: int = 8000
    seconds: float = 1.0
    features: str = "logmel"  # "logmel" or "mfcc"
    n_mels: int = 40
    hop_ms: float = 20.0
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

    modalities: tuple[str, ...] = ()
    image: ImageSpec = field(default_factory=ImageSpec)
    text: TextSpec = field(default_factory=TextSpec)
    audio: AudioSpec = field(default_factory=AudioSpec)
    fusion: str = "concat"
    fusion_options: Mapping[str, Any] = field(default_factory=dict)
    dim: int = 128
    task: str = "classify"
    embed_dim: int = 128
    head_hidden: int = 0  # 0: a linear head; >0: one hidden layer of that size
    label_smoothing: float = 0.0
    class_weights: bool = False  # weight classes by inverse training frequency
    align_weight: float = 1.0  # weight of the align loss in classify+align
    temperature: float = 0.07  # initial InfoNCE temperature (learned)

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        bad = [m for m in self.modalities if m not in MODALITY_NAMES]
        if bad:
            raise ValueError(f"unknown modality {bad[0]!r}; modalities are {', '.join(MODALITY_NAMES)}")
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; tasks are {', '.join(TASKS)}")
        for name in ("fusion_options",):
            object.__setattr__(self, name, dict(getattr(self, name)))

    def replace(self, **changes: Any) -> ModelSpec:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainSpec:
    """Optimisation and training loop settings. ``device``/``precision`` ``auto`` pick CUDA + bf16
    when present, else CPU + fp32 (bf16 on CPU is far slower, see DESIGN.md)."""

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD only
    weight_decay: float = 1e-4
    l1: float = 0.0
    schedule: str = "cosine"
    warmup_epochs: float = 0.5
    dropout: float = 0.1
    modality_dropout: float = 0.0
    grad_clip: float = 1.0
    precision: str = "auto"
    device: str = "auto"
    seed: int = 0
    early_stopping: int = 0  # patience in epochs without improvement; 0 turns it off
    val_split: str = "auto"  # a split name, "none", or "auto" (val if present, else 10% of train)
    max_steps: int = 0  # stop after this many steps (0: no limit); for quick checks
    num_threads: int = 0  # CPU threads for torch (0: leave torch's choice)
    compile: bool = False
    log_every_s: float = 0.5
    auto_batch: bool = False  # CUDA: probe for the largest batch that fits (batch_size: start)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose {', '.join(SCHEDULES)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose {', '.join(PRECISIONS)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")

    def replace(self, **changes: Any) -> TrainSpec:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs: the GUI edits one, the CLI reads ``run.toml``, a bundle
    stores one."""

    dataset: DatasetSpec
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    name: str = ""

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **to_dict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
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
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if str(path).endswith(".json"):
            return cls.from_dict(json.loads(text))
        return cls.from_toml(text)


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
        raise ValueError(f"this file was written by a newer MMStudio (schema {version}); "
                         f"this version reads schema {SCHEMA_VERSION} and older")
    data = dict(data)
    data["schema_version"] = SCHEMA_VERSION
    return data


def dumps_json(obj: Any) -> str:
    data = to_dict(obj)
    if isinstance(data, dict):
        data = {"schema_version": SCHEMA_VERSION, **data}
    return json.dumps(data, indent=2, sort_keys=False)


# ---------------------------------------------------------------------------------------------
# TOML: the standard library reads it (tomllib); this small writer covers what configs hold
# (tables of strings, numbers, booleans and flat lists), so no extra dependency is needed.


def loads_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Write nested dicts of scalars and lists as TOML; ``None`` values are left out."""
    lines: list[str] = []
    _toml_table(lines, [], data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping) and v is not None}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    for key, value in scalars.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables.items():
        _toml_table(lines, path + [str(key)], value)


def _toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "_-" for c in key):
        return key
    return json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value != value:  # NaN
            return "nan"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")

"""The schema of every file MMStudio reads (standard library only; checked by :mod:`.schema`).

Ranges are generous for real use and small enough that nothing built from a checked file can
ask for terabytes: a model dimension of 8,192, a vocabulary of 1,000,000, ten minutes of audio.
A file within these ranges may still be refused later by :func:`mmstudio.engine.check` rules.
Tables are open (a newer writer's extra key still loads) except where the reader itself refuses
unknown keys (run configs: a typo must not pass silently; ``config.from_dict`` says which).
"""

from __future__ import annotations

import tomllib

from mmstudio.config import (
    COLUMN_ROLES,
    LAYOUTS,
    MODALITY_NAMES,
    OPTIMIZERS,
    PRECISIONS,
    REGRESS_LOSSES,
    SCHEDULES,
    TASKS,
    TEXT_LEVELS,
    RunConfig,
)
from mmstudio.errors import LoadError, SchemaError
from mmstudio.schema import (
    Anything,
    Bool,
    Int,
    List,
    Map,
    Null,
    Num,
    OneOf,
    Str,
    check_depth,
    parse_json,
    read_text,
)

#: ``run.toml`` is a few kilobytes; anything this large is not one.
MAX_RUN_BYTES = 1 << 20

NAME = Str(max_len=200)
PATH = Str(max_len=4096, path=True)
OPTIONS = Map(
    max_keys=100,
    values=OneOf(
        (Int(), Num(), Str(max_len=4096), Bool(), Null(), List(OneOf((Int(), Num(), Str(max_len=200))), max_len=64))
    ),
)
FRACTION = Num(0.0, 1.0)
COUNT = Int(0, 10**12)
SEED = Int(-(2**63), 2**64 - 1)

SPLIT = Map({"train": Num(0, 1e6), "val": Num(0, 1e6), "test": Num(0, 1e6), "seed": SEED})
DATASET = Map(
    {
        "path": PATH,
        "layout": Str(choices=LAYOUTS),
        "label_pattern": Str(max_len=1000),
        "columns": Map(values=Str(choices=COLUMN_ROLES), max_keys=1000),
        "split": SPLIT,
        "max_image_pixels": Int(1, 10**10),
    }
)
# 0 in a size, a count or a rate: chosen from the data when the run starts (engine.autoconfig).
IMAGE = Map(
    {
        "encoder": NAME,
        "size": Int(0, 4096),
        "channels": Int(0, 4),
        "augment": Bool(),
        "weights": Str(max_len=4096, path=True),
        "options": OPTIONS,
    }
)
TEXT = Map(
    {
        "encoder": NAME,
        "level": Str(choices=TEXT_LEVELS),
        "vocab_size": Int(0, 1_000_000),
        "max_tokens": Int(0, 8192),
        "ngrams": Int(0, 2),
        "options": OPTIONS,
    }
)
AUDIO = Map(
    {
        "encoder": NAME,
        "sample_rate": OneOf((Int(0, 0), Int(1000, 384_000))),
        "seconds": Num(0, 600.0),
        "features": Str(choices=("logmel", "mfcc")),
        "n_mels": Int(1, 512),
        "hop_ms": Num(0.5, 1000.0),
        "options": OPTIONS,
    }
)
MODEL = Map(
    {
        "modalities": List(Str(choices=MODALITY_NAMES), max_len=len(MODALITY_NAMES)),
        "image": IMAGE,
        "text": TEXT,
        "audio": AUDIO,
        "fusion": NAME,
        "fusion_options": OPTIONS,
        "dim": Int(1, 8192),
        "task": Str(choices=TASKS),
        "embed_dim": Int(1, 8192),
        "head_hidden": Int(0, 65536),
        "label_smoothing": FRACTION,
        "class_weights": Bool(),
        "align_weight": Num(0, 1e6),
        "temperature": Num(1e-6, 1e6),
        "regress_loss": Str(choices=REGRESS_LOSSES),
        "decoder": NAME,
        "decoder_options": OPTIONS,
    }
)
TRAIN = Map(
    {
        "epochs": Int(0, 1_000_000),
        "batch_size": Int(0, 1_000_000),
        "optimizer": Str(choices=OPTIMIZERS),
        "lr": Num(0, 1e3),
        "momentum": Num(0, 1),
        "weight_decay": Num(0, 1e3),
        "l1": Num(0, 1e3),
        "schedule": Str(choices=SCHEDULES),
        "warmup_epochs": Num(0, 1e6),
        "dropout": FRACTION,
        "modality_dropout": FRACTION,
        "grad_clip": Num(0, 1e12),
        "precision": Str(choices=PRECISIONS),
        "device": NAME,
        "seed": SEED,
        "early_stopping": Int(0, 1_000_000),
        "val_split": NAME,
        "max_steps": COUNT,
        "num_threads": Int(0, 4096),
        "compile": Bool(),
        "log_every_s": Num(0, 86400),
        "auto_batch": Bool(),
    }
)
PROJECT_PATH = OneOf((PATH, Map({"path": PATH, "absolute": PATH})))
#: A run: ``run.toml``, ``run.json``, the ``config`` of ``bundle.json`` and projects' run configs.
RUN = Map(
    {
        "schema_version": Int(1, 10**6),
        "dataset": DATASET,
        "model": MODEL,
        "train": TRAIN,
        "name": NAME,
        "dataset_path": OneOf((Null(), PROJECT_PATH)),
    },
    required=("dataset",),
)

# ---- .mmstudio project files -----------------------------------------------------------------
PROJECT = Map(
    {
        "schema_version": Anything(),
        "format": Str(max_len=100),
        "name": NAME,
        "datasets": List(
            Map(
                {"path": PATH, "absolute": PATH, "spec": Map({k: v for k, v in DATASET.fields.items() if k != "path"})}
            ),
            max_len=1000,
        ),
        "run_configs": List(RUN, max_len=10_000),
        "runs": List(PROJECT_PATH, max_len=100_000),
        "bundle": OneOf((Null(), PROJECT_PATH)),
        "current_panel": Str(max_len=100),
    },
    required=("format",),
)

# ---- bundle.json ----------------------------------------------------------------------------
MAX_CLASSES = 100_000
SHAPE = Map(
    {
        "modalities": List(Str(choices=MODALITY_NAMES), min_len=1, max_len=len(MODALITY_NAMES)),
        "num_classes": Int(0, MAX_CLASSES),
        "channels": Int(1, 4),
        "vocab_size": Int(2, 1_000_000),
        "n_mels": Int(1, 512),
        "frames": Int(1, 2_000_000),
        "image_mean": List(Num(-1e3, 1e3), max_len=4),
        "image_std": List(Num(1e-6, 1e3), max_len=4),
        "target_mean": Num(-1e30, 1e30),
        "target_std": Num(1e-30, 1e30),
    },
    required=("modalities",),
)
#: A word/char tokenizer lists its vocabulary; a subword one names its ``tokenizer.json`` beside
#: bundle.json (checked again, with its own limits, when it is read: engine.subword).
TOKENIZER = Map(
    {
        "level": Str(choices=("word", "char", "subword")),
        "lower": Bool(),
        "vocab": List(Str(max_len=1000), min_len=2, max_len=1_000_000),
        "ngrams": Int(1, 2),
        "idf": List(Num(0, 1e3), max_len=1_000_000),
        "file": Str(max_len=255, path=True),
        "size": Int(2, 1_000_000),
        "sha256": Str(max_len=64),
    },
)
#: The training inputs' ranges (engine.inputstats): modality -> measure -> [low, high].
INPUT_STATS = Map(
    {m: Map(values=List(Num(-1e9, 1e9), min_len=2, max_len=2), max_keys=8) for m in MODALITY_NAMES}, closed=True
)
PREPROCESSING = Map(
    {
        "modalities": List(Str(choices=MODALITY_NAMES), max_len=3),
        "channels": Int(0, 4),
        "image_mean": List(Num(-1e3, 1e3), max_len=4),
        "image_std": List(Num(1e-6, 1e3), max_len=4),
        "audio_shape": List(Int(0, 2_000_000), max_len=4),
        "tokenizer": OneOf((Null(), TOKENIZER)),
    }
)
WEIGHTS = Map(
    {"file": Str(max_len=255, path=True), "sha256": Str(max_len=64), "bytes": COUNT, "tensors": Int(0, 10**7)},
    required=("file",),
)
#: How a compressed bundle was made (engine.compress): int8 methods name the encoder parts
#: quantised statically; prune records the sparsity.
COMPRESSION = Map(
    {
        "method": Str(choices=("dynamic_int8", "static_int8", "prune")),
        "static": Map(values=Str(choices=("features", "backbone")), max_keys=3),
        "notes": Map(values=Str(max_len=1000), max_keys=3),
        "calibration_items": COUNT,
        "sparsity": FRACTION,
        "achieved": FRACTION,
        "finetune_steps": COUNT,
    },
    required=("method",),
    closed=True,
)
BUNDLE = Map(
    {
        "format": Str(max_len=100),
        "bundle_version": Int(1, 10**6),
        "created": Str(max_len=100),
        "config": RUN,
        "shape": SHAPE,
        "class_names": List(Str(max_len=1000), max_len=MAX_CLASSES),
        "preprocessing": PREPROCESSING,
        "metrics": Map(max_keys=1000),
        "versions": Map(max_keys=100),
        "weights": WEIGHTS,
        "input_stats": INPUT_STATS,
        # what each encoder started from: catalogue name (or file name) and SHA-256, never a path
        "pretrained": Map(max_keys=3, values=Map({"name": Str(max_len=300), "sha256": Str(max_len=64)})),
        "compression": COMPRESSION,
    },
    required=("format", "bundle_version", "config", "shape", "preprocessing", "weights"),
)

# ---- an embedding index's item list (safetensors metadata) --------------------------------------
_ITEM_TEXT = OneOf((Null(), Str(max_len=1_000_000)))
_ITEM_PATH = OneOf((Null(), PATH))
INDEX_ITEMS = List(
    Map(
        {
            "id": _ITEM_TEXT,
            "image": _ITEM_PATH,
            "audio": _ITEM_PATH,
            "text": _ITEM_TEXT,
            "label": _ITEM_TEXT,
            "split": _ITEM_TEXT,
        }
    ),
    max_len=50_000_000,
)

# ---- a checkpoint's state.json ---------------------------------------------------------------
CHECKPOINT_STATE = Map(
    {
        "epoch": Int(0, 10**9),
        "step": COUNT,
        "batch": COUNT,
        "bad": COUNT,
        "best": OneOf((Null(), Num(finite=False))),
        "best_epoch": Int(0, 10**9),
        "history": List(Map(max_keys=1000), max_len=10**6),
        "seconds": Num(0, 1e11),
    },
    required=("epoch", "step", "history"),
)

# ---- a run folder's status.json and events.jsonl lines ----------------------------------------
STATUS = Map(
    {
        "status": Str(max_len=40),
        "pid": OneOf((Null(), Int(0, 2**31))),
        "host": Str(max_len=255),
        "started": OneOf((Null(), Num(0, 1e11))),
        "resumed": OneOf((Null(), Num(0, 1e11))),
        "seconds": Num(0, 1e11),
        "error": Str(max_len=100_000),
        "epoch": Int(0, 10**9),
        "epochs_total": Int(0, 10**9),
        "best_metric": OneOf((Null(), Str(max_len=100))),
        "best_value": OneOf((Null(), Num(finite=False))),
        "best_epoch": Int(0, 10**9),
        "train_loss": Num(finite=False),
        "bundle": OneOf((Null(), PATH)),
        "device": Str(max_len=100),
        "modalities": List(Str(max_len=20), max_len=3),
        "classes": Int(0, 10**7),
        "reason": Str(max_len=100),
    }
)
STEP_EVENT = Map(
    {"event": Str(choices=("StepLogged",)), "step": Int(0, 10**12), "loss": Num(finite=False), "lr": Num(finite=False)},
    required=("step", "loss", "lr"),
)
EPOCH_EVENT = Map(
    {
        "event": Str(choices=("EpochDone",)),
        "epoch": Int(0, 10**9),
        "train_loss": Num(finite=False),
        "metrics": Map(max_keys=1000, values=Anything()),
        "weights": OneOf((Null(), Map(max_keys=100, values=Num(finite=False)))),
    },
    required=("epoch", "train_loss"),
)


def load_run(path: str) -> RunConfig:
    """``run.toml`` (or a ``.json`` run) checked against :data:`RUN`; faults are ``LoadError``."""
    text = read_text(path, MAX_RUN_BYTES)
    if path.endswith(".json"):
        data = parse_json(text, path)
    else:
        try:
            data = tomllib.loads(text)
        except RecursionError:
            raise LoadError(path, "not a valid file: TOML nested too deeply") from None
        except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
            raise LoadError(path, f"not valid TOML ({exc})") from None
        check_depth(data, path)
    return run_from_dict(data, path)


def run_from_dict(data: object, path: str) -> RunConfig:
    """A :class:`RunConfig` from a parsed file's value; any fault names ``path`` and the field."""
    try:
        if not isinstance(data, dict):
            RUN.check(data, "")  # raises: names what the file holds instead of a table
            raise SchemaError("", "expected a table")  # not reached: check raised
        return RunConfig.from_dict(data)
    except SchemaError as exc:
        raise exc.in_file(path) from None
    except (TypeError, ValueError) as exc:
        raise LoadError(path, str(exc)) from None

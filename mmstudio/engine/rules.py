"""One rulebook: every rule about a run, checked before any file is decoded or folder created.

``check(run, dataset)`` returns the :class:`Problem` list (empty when the run can train). The
CLI, ``train()``, the Model panel and project loading all ask it, so a rule is written once and
every front end says the same thing. Each problem names the config field and what would work.
No torch here: it answers in milliseconds, before anything heavy is imported.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mmstudio.config import MODALITY_NAMES, TASKS, RunConfig
from mmstudio.engine.components import DECODERS, ENCODERS, FUSIONS
from mmstudio.engine.pretrained import is_name
from mmstudio.engine.pretrained_rules import pretrained_rules
from mmstudio.registry import Entry, Registry

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


@dataclass(frozen=True)
class Problem:
    """Why a run cannot train: ``field`` is the config path (``model.fusion``), ``choices`` what
    would work when there is a list of them."""

    field: str
    message: str
    choices: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RunProblems(ValueError):
    """``train()`` raises this when :func:`check` finds problems; the message lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class DatasetFacts:
    """What the rules need to know about a dataset: cheap facts from its scan, nothing decoded."""

    path: str
    modalities: tuple[str, ...]
    classes: int
    splits: tuple[str, ...]
    targets: int = 0  # items with a number to predict (the regress task)

    @classmethod
    def of(cls, dataset: Any) -> DatasetFacts:
        """From a :class:`mmstudio.data.Dataset` or its ``summary()`` dict."""
        summary = dataset.summary() if hasattr(dataset, "summary") else dataset
        return cls(
            str(summary["path"]),
            tuple(summary["modalities"]),
            len(summary["labels"]),
            tuple(summary["splits"]),
            int(summary.get("targets", 0)),
        )


def check(run: RunConfig, dataset: Any = None, gpus: int | None = None) -> list[Problem]:
    """Every problem with ``run`` (on ``dataset``, a Dataset or its summary, when known; on a
    machine with ``gpus`` CUDA devices, when known). Empty when the run can train."""
    facts = None if dataset is None else (dataset if isinstance(dataset, DatasetFacts) else DatasetFacts.of(dataset))
    out: list[Problem] = []
    for rule in RULES:
        out += rule(run, facts, gpus)
    return out


def require(run: RunConfig, dataset: Any = None, gpus: int | None = None) -> None:
    """Raise :class:`RunProblems` when :func:`check` finds any."""
    problems = check(run, dataset, gpus)
    if problems:
        raise RunProblems(problems)


def modalities_of(run: RunConfig, facts: DatasetFacts | None) -> tuple[str, ...] | None:
    """The modalities the model will use (None when that depends on a dataset not yet known)."""
    if run.model.modalities:
        return tuple(run.model.modalities)
    return facts.modalities if facts is not None else None


# ---------------------------------------------------------------------------------------------
# The rules. Each takes (run, dataset facts or None, GPU count or None) and returns problems.

Rule = Callable[[RunConfig, "DatasetFacts | None", "int | None"], list[Problem]]


def _dataset_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    path = run.dataset.path
    if facts is None and path and not os.path.exists(path):
        return [Problem("dataset.path", f"{path} does not exist")]
    return []


def _modality_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    out = []
    have = facts.modalities if facts is not None else MODALITY_NAMES
    missing = [m for m in run.model.modalities if m not in have]
    if missing:
        out.append(
            Problem(
                "model.modalities",
                f"the dataset has no {', '.join(missing)}; it has {', '.join(have) or 'nothing usable'}",
                tuple(have),
            )
        )
    mods = modalities_of(run, facts)
    if mods is not None and not [m for m in mods if m in have]:
        out.append(
            Problem(
                "model.modalities", "include at least one modality: the fusion needs something to fuse", tuple(have)
            )
        )
    task = run.model.task
    if "align" in task and mods is not None and len(mods) < 2:
        out.append(
            Problem(
                "model.task",
                f"'{task}' aligns two or more modalities; include another one or choose classify",
                ("classify",),
            )
        )
    if "classify" in task and facts is not None and facts.classes < 2:
        out.append(
            Problem(
                "model.task",
                f"classify needs at least two labels; this dataset has {facts.classes}; choose align",
                ("align",),
            )
        )
    if task == "regress" and facts is not None and facts.targets == 0:
        out.append(
            Problem(
                "model.task",
                "regress predicts a number and no item has one; give a numeric column the role 'target'",
                ("classify", "align"),
            )
        )
    return out


def _component_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    spec, out = run.model, []
    mods = modalities_of(run, facts) or MODALITY_NAMES
    for m in mods:
        if m in ENCODERS and not (spec.task == "generate" and m == "text"):  # generate writes text
            sub = getattr(spec, m)
            out += _name_and_options(ENCODERS[m], f"model.{m}", sub.encoder, sub.options, spec.task, "encoder")
    if "classify" in spec.task or spec.task == "regress":
        out += _name_and_options(FUSIONS, "model", spec.fusion, spec.fusion_options, spec.task, "fusion")
    return out


def _name_and_options(
    registry: Registry[Any], prefix: str, name: str, options: Mapping[str, Any], task: str, key: str
) -> list[Problem]:
    """An unknown name, a task it does not support, an option it does not take or of a wrong type."""
    field = f"{prefix}.{key}"
    if name not in registry:
        return [Problem(field, registry.unknown(name), tuple(registry.names()))]
    entry = registry.entry(name)
    out = []
    if not entry.supports(task):
        out.append(
            Problem(
                field,
                f"{registry.kind} {name!r} does not support the task {task!r} (it supports {', '.join(entry.tasks)})",
                entry.tasks,
            )
        )
    options_field = f"{prefix}.{'options' if key == 'encoder' else key + '_options'}"
    for option, value in options.items():
        problem = _option_problem(entry, registry.kind, option, value)
        if problem:
            out.append(Problem(options_field, problem, tuple(entry.options)))
    return out


def _option_problem(entry: Entry, kind: str, option: str, value: Any) -> str:
    if option not in entry.options:
        takes = ", ".join(entry.options) or "no options"
        return f"{kind} {entry.name!r} has no option {option!r}; it takes {takes}"
    default = entry.options[option]
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if ok:
        return ""
    return (
        f"option {option!r} of {kind} {entry.name!r} must be a {type(default).__name__} like {default!r}, got {value!r}"
    )


#: (field, low, high, bounds): ``bounds`` says which ends are allowed ("[]", "[)", "(]", "()").
RANGES: tuple[tuple[str, float, float | None, str], ...] = (
    ("model.dim", 1, None, "[]"),
    ("model.embed_dim", 1, None, "[]"),
    ("model.head_hidden", 0, None, "[]"),
    ("model.label_smoothing", 0, 1, "[)"),
    ("model.align_weight", 0, None, "[]"),
    ("model.temperature", 0, None, "()"),
    ("model.image.size", 8, 4096, "[]"),
    ("model.text.vocab_size", 2, None, "[]"),
    ("model.text.max_tokens", 1, None, "[]"),
    ("model.audio.sample_rate", 1000, None, "[]"),
    ("model.audio.seconds", 0, 600, "(]"),
    ("model.audio.n_mels", 1, 512, "[]"),
    ("model.audio.hop_ms", 0, None, "()"),
    ("train.lr", 0, None, "()"),
    ("train.momentum", 0, 1, "[]"),
    ("train.weight_decay", 0, None, "[]"),
    ("train.l1", 0, None, "[]"),
    ("train.warmup_epochs", 0, None, "[]"),
    ("train.dropout", 0, 1, "[)"),
    ("train.modality_dropout", 0, 1, "[)"),
    ("train.grad_clip", 0, None, "[]"),
    ("train.early_stopping", 0, None, "[]"),
    ("train.max_steps", 0, None, "[]"),
    ("train.num_threads", 0, None, "[]"),
    ("train.log_every_s", 0, None, "[]"),
)


def _range_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    out = []
    for field, low, high, bounds in RANGES:
        owner: Any = run
        *path, name = field.split(".")
        for part in path:
            owner = getattr(owner, part)
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(Problem(field, f"must be a number, got {value!r}"))
        elif value == 0 and _default(owner, name) == 0:
            continue  # 0 is the field's default: "chosen from the data" (engine.autoconfig)
        elif not _within(value, low, high, bounds):
            out.append(Problem(field, f"must be {_describe_range(low, high, bounds)}, got {value!r}"))
    if run.model.image.channels not in (0, 1, 3):
        out.append(Problem("model.image.channels", "must be 0 (from the data), 1 or 3", ("0", "1", "3")))
    return out


def _default(owner: Any, name: str) -> Any:
    """The dataclass default of ``owner.name`` (None when it has a factory or none)."""
    found = [f.default for f in dataclasses.fields(owner) if f.name == name]
    return found[0] if found and found[0] is not dataclasses.MISSING else None


def _within(value: float, low: float, high: float | None, bounds: str) -> bool:
    above = value >= low if bounds[0] == "[" else value > low
    below = high is None or (value <= high if bounds[1] == "]" else value < high)
    return above and below


def _describe_range(low: float, high: float | None, bounds: str) -> str:
    text = f"{'at least' if bounds[0] == '[' else 'above'} {low}"
    if high is not None:
        text += f" and {'at most' if bounds[1] == ']' else 'below'} {high}"
    return text


def _path_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    weights = run.model.image.weights
    mods = modalities_of(run, facts) or MODALITY_NAMES
    if weights and "image" in mods and not is_name(weights) and not os.path.isfile(weights):
        return [
            Problem(
                "model.image.weights",
                f"the image weights file {weights} does not exist (and no published weights are "
                "called so: mmstudio weights list)",
            )
        ]
    return []


def _device_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    tr, out = run.train, []
    if not DEVICE_PATTERN.match(tr.device or "auto"):
        out.append(
            Problem(
                "train.device",
                f"unknown device {tr.device!r}; choose auto, cpu, cuda or cuda:N",
                ("auto", "cpu", "cuda"),
            )
        )
    elif tr.device.startswith("cuda") and gpus == 0:
        out.append(
            Problem(
                "train.device",
                f"device {tr.device!r} needs a CUDA GPU and none was found; choose cpu or auto",
                ("auto", "cpu"),
            )
        )
    if tr.precision in ("bf16", "fp16") and (tr.device == "cpu" or gpus == 0):
        out.append(
            Problem(
                "train.precision",
                f"{tr.precision} is for CUDA; on the CPU it is far slower: choose auto or fp32",
                ("auto", "fp32"),
            )
        )
    return out


def _split_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    split = run.train.val_split
    if split in ("auto", "none"):
        return []
    if facts is not None and split not in facts.splits:
        choices = ("auto", "none", *[s for s in facts.splits if s != "train"])
        return [Problem("train.val_split", f"the dataset has no split {split!r}; choose {', '.join(choices)}", choices)]
    return []


def _generate_rules(run: RunConfig, facts: DatasetFacts | None, gpus: int | None) -> list[Problem]:
    """generate: a text to learn to write, an input to read, a known decoder that fits them."""
    spec = run.model
    if spec.task != "generate":
        return []
    out = _name_and_options(DECODERS, "model", spec.decoder, spec.decoder_options, spec.task, "decoder")
    if facts is not None and "text" not in facts.modalities:
        out.append(Problem("model.task", "generate learns to write texts and this dataset has none", ("classify",)))
    mods = modalities_of(run, facts)
    inputs = None if mods is None else tuple(m for m in mods if m != "text")
    if inputs is not None and not inputs:
        out.append(Problem("model.modalities", "generate needs an input besides the text", ("image", "audio")))
    if spec.decoder == "ctc" and inputs is not None and inputs != ("audio",):
        out.append(Problem("model.decoder", "ctc reads audio frames: use audio alone as the input", ("transformer",)))
    return out


RULES: tuple[Rule, ...] = (
    _dataset_rules,
    _modality_rules,
    _component_rules,
    _range_rules,
    _path_rules,
    _device_rules,
    _split_rules,
    _generate_rules,
    pretrained_rules,
)

__all__ = ["DatasetFacts", "Problem", "RunProblems", "TASKS", "check", "modalities_of", "require"]

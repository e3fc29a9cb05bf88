"""The encoder and fusion registries and the built-in components' metadata, without torch.

Each built-in is declared here with its help line, options (and defaults), level and tasks; the
module named registers the factory with ``@REGISTRY.register(name)`` and is imported only when a
model is built. So the CLI's ``--help``, the run checks (:mod:`.rules`), the Model panel and
``docs/components.md`` know every name instantly, without importing torch. A component defined
elsewhere (a plugin, a test) registers factory and metadata in one decorator instead.
"""

from __future__ import annotations

from typing import Any

from mmstudio.config import TASKS
from mmstudio.registry import LEVELS, Entry, Registry

IMAGE_ENCODERS: Registry[Any] = Registry("image encoder")
TEXT_ENCODERS: Registry[Any] = Registry("text encoder")
AUDIO_ENCODERS: Registry[Any] = Registry("audio encoder")
ENCODERS: dict[str, Registry[Any]] = {"image": IMAGE_ENCODERS, "text": TEXT_ENCODERS, "audio": AUDIO_ENCODERS}
FUSIONS: Registry[Any] = Registry("fusion")
#: Text decoders of the ``generate`` task (the inputs' encoders feed them; text is the target).
DECODERS: Registry[Any] = Registry("decoder")

#: Fusions feed the classifier (or the regress task's one number); the align task compares
#: the encoders' embeddings directly.
FUSION_TASKS = ("classify", "classify+align", "regress")


#: What each task trains and how it is judged: the CLI's help, the Model panel and the docs.
TASK_HELP: dict[str, str] = {
    "classify": "Predict a label (cross-entropy); judged by accuracy and macro-F1.",
    "align": "A shared embedding space for cross-modal queries (InfoNCE); judged by Recall@K.",
    "classify+align": "Both at once, one loss added to the other.",
    "regress": (
        "Predict a number (a column with role 'target'): MSE, Huber or L1 loss on standardised targets; "
        "judged by MAE, RMSE and R² beside always predicting the training mean."
    ),
    "generate": (
        "Write the text column from the other inputs (a decoder, teacher forcing with label smoothing; "
        "greedy or beam search); judged by BLEU, CIDEr-D, CER/WER and exact match beside baselines."
    ),
}


#: ``vectors``: a GloVe/word2vec/fastText text file the embeddings start from (engine.vectors).
_RECURRENT = {"embed": 64, "hidden": 128, "layers": 1, "bidirectional": False, "vectors": ""}
#: Encoders that can start from published weights take ``tune`` (engine.pretrained.TUNE_MODES):
#: auto (frozen with pretrained weights), frozen, finetune.
_TUNE = {"tune": "auto"}

#: The built-in encoders: (modality, name, options and their defaults, help). Each registers its
#: factory in ``mmstudio.engine.encoders.<modality>``.
BUILTIN_ENCODERS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("image", "cnn", {"width": 32}, "Small 3-block conv net; fast on CPU for small images (28-64 px)."),
    ("image", "resnet18", _TUNE, "ResNet-18 (torchvision, 11 M parameters; ImageNet weights)."),
    ("image", "resnet34", _TUNE, "ResNet-34 (torchvision, 21 M parameters; ImageNet weights)."),
    ("image", "resnet50", _TUNE, "ResNet-50 (torchvision, 25 M parameters; ImageNet weights)."),
    ("image", "mobilenet_v3_small", _TUNE, "MobileNetV3-Small (torchvision, 1.5 M parameters; ImageNet weights)."),
    ("image", "mobilenet_v3_large", _TUNE, "MobileNetV3-Large (torchvision, 5.5 M parameters; ImageNet weights)."),
    ("image", "efficientnet_b0", _TUNE, "EfficientNet-B0 (torchvision, 5.3 M parameters; ImageNet weights)."),
    ("image", "convnext_tiny", _TUNE, "ConvNeXt-Tiny (torchvision, 28 M parameters; ImageNet weights)."),
    (
        "text",
        "ngram",
        {
            "embed": 128,
            "init": 0.01,
            "norm": False,
            "lr_scale": 3.0,
            "vectors": "",
            "linear": False,
            "l2": 0.0,
            "sublinear": False,
        },
        "TF-IDF-weighted words and word pairs (fast, strong default).",
    ),
    ("text", "bag", {"embed": 64, "vectors": ""}, "Mean of word embeddings (order-free, fastest)."),
    ("text", "gru", _RECURRENT, "GRU over embeddings, mean-pooled."),
    ("text", "lstm", _RECURRENT, "LSTM over embeddings (option bidirectional), mean-pooled."),
    (
        "text",
        "transformer",
        {"width": 64, "heads": 4, "layers": 2, "max_len": 512},
        "Small transformer encoder with learned positions.",
    ),
    ("audio", "mel_cnn", {"width": 32}, "Conv net over the log-mel map."),
    (
        "audio",
        "mel_lstm",
        {"hidden": 128, "layers": 1, "bidirectional": True},
        "Bidirectional LSTM over log-mel frames.",
    ),
    (
        "audio",
        "wav2vec2_base",
        _TUNE,
        "wav2vec 2.0 base (torchaudio, 95 M parameters, pretrained on LibriSpeech); hears 16 kHz waveforms.",
    ),
    (
        "audio",
        "hubert_base",
        _TUNE,
        "HuBERT base (torchaudio, 95 M parameters, pretrained on LibriSpeech); hears 16 kHz waveforms.",
    ),
)

#: The built-in fusions: (name, module that registers it, level, options, help).
BUILTIN_FUSIONS: tuple[tuple[str, str, str, dict[str, Any], str], ...] = (
    ("concat", "basic", "mid", {}, "Concatenate modality features (missing ones as zeros)."),
    ("early", "basic", "early", {"hidden": 0}, "Concatenate features early, then one shared deep network."),
    ("weighted_sum", "basic", "mid", {}, "Sum of features with learned, readable modality weights."),
    ("product", "basic", "mid", {}, "Element-wise product of features (missing ones as 1)."),
    (
        "gated",
        "learned",
        "mid",
        {},
        "Gated multimodal unit: learned per-sample, per-feature gates weigh the modalities.",
    ),
    (
        "attention",
        "learned",
        "mid",
        {"heads": 4, "layers": 1},
        "Transformer over one token per modality, read from a CLS token.",
    ),
    ("tensor", "learned", "mid", {"rank": 4}, "Low-rank tensor fusion: multiplicative interactions of all orders."),
    (
        "late",
        "learned",
        "late",
        {"learned": True},
        "Decision level: one classifier per modality, averaged (or learned weights).",
    ),
)


#: The built-in decoders of ``generate``: (name, options and their defaults, help).
BUILTIN_DECODERS: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "transformer",
        {"width": 128, "heads": 4, "layers": 2},
        "Transformer decoder with cross-attention to the encoders' feature sequences; greedy or beam search.",
    ),
    ("ctc", {}, "CTC over the audio encoder's frame sequence (audio only); greedy or prefix beam search."),
)


def _declare_builtins() -> None:
    for modality, name, options, help_text in BUILTIN_ENCODERS:
        ENCODERS[modality].declare(name, module=f"mmstudio.engine.encoders.{modality}", options=options, help=help_text)
    for name, module, level, options, help_text in BUILTIN_FUSIONS:
        FUSIONS.declare(
            name,
            module=f"mmstudio.engine.fusion.{module}",
            level=level,
            options=options,
            tasks=FUSION_TASKS,
            help=help_text,
        )
    for name, options, help_text in BUILTIN_DECODERS:
        DECODERS.declare(name, module="mmstudio.engine.decoders", options=options, tasks=("generate",), help=help_text)


_declare_builtins()


def registry(kind: str) -> Registry[Any]:
    """The registry of ``kind``: "fusion", "decoder", or a modality ("image", "text", "audio")."""
    if kind == "fusion":
        return FUSIONS
    if kind == "decoder":
        return DECODERS
    if kind not in ENCODERS:
        raise KeyError(f"unknown component kind {kind!r}; choose fusion, decoder, {', '.join(ENCODERS)}")
    return ENCODERS[kind]


def encoder_names() -> dict[str, list[tuple[str, str]]]:
    """``{"image": [(name, help), ...], "text": [...], "audio": [...]}``."""
    return {m: [(e.name, e.help) for e in reg.entries()] for m, reg in ENCODERS.items()}


def fusion_names() -> list[tuple[str, str]]:
    return [(e.name, e.help) for e in FUSIONS.entries()]


def describe(kind: str, name: str) -> str:
    """One-line explanation of an encoder (``kind`` image/text/audio) or fusion."""
    return registry(kind).describe(name)


def component(kind: str, name: str) -> Entry:
    """The registry entry (help, options, level, tasks) of an encoder or fusion."""
    return registry(kind).entry(name)


def fusion_level(name: str) -> str:
    """ "early: features meet ..." for the Model panel ("" for an unknown name)."""
    if name not in FUSIONS:
        return ""
    level = FUSIONS.entry(name).level or "mid"
    return f"{level}: {LEVELS[level]}"


def catalog() -> dict[str, Any]:
    return {
        "encoders": {m: dict(v) for m, v in encoder_names().items()},
        "fusions": dict(fusion_names()),
        "decoders": {e.name: e.help for e in DECODERS.entries()},
        "tasks": {t: TASK_HELP.get(t, "") for t in TASKS},
    }


def components_markdown() -> str:
    """``docs/components.md``: every encoder, fusion and decoder with its help, options and level."""
    lines = [
        "# Encoders, fusions and decoders",
        "",
        "Generated from the registries by `scripts/gen_components_doc.py`; do not edit.",
        "",
        "| kind | name | what it is | options (defaults) | level | tasks |",
        "|---|---|---|---|---|---|",
    ]
    for kind in (*ENCODERS, "fusion", "decoder"):
        for e in registry(kind).entries():
            options = ", ".join(f"`{k}={v!r}`" for k, v in e.options.items()) or "–"
            lines.append(
                f"| {kind} | `{e.name}` | {e.help} | {options} | {e.level or '–'} | {', '.join(e.tasks) or 'all'} |"
            )
    lines += ["", "## Tasks", "", "| task | what it trains |", "|---|---|"]
    lines += [f"| `{t}` | {TASK_HELP.get(t, '')} |" for t in TASKS]
    return "\n".join(lines) + "\n"

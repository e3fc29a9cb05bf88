"""What travels with an exported model so that it can be used without MMStudio: every
preprocessing parameter (``preprocess.json``), the tokenizer (``tokenizer.json``), a numpy-only
preprocessing and prediction script (``predict.py``) and a model card (``README.md``).

The same facts (class names, input specs, version) also go into the model file itself: ONNX
``metadata_props`` and ``.pt2`` extra files (see :func:`model_metadata`).
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from mmstudio import __version__
from mmstudio.engine.bundle import Bundle
from mmstudio.engine.subword import SubwordTokenizer, hf_json
from mmstudio.engine.tokenizer import _WORD
from mmstudio.fileio import atomic_write_text

PREPROCESS, TOKENIZER, SCRIPT, CARD = "preprocess.json", "tokenizer.json", "predict.py", "README.md"


def input_specs(bundle: Bundle) -> dict[str, dict[str, Any]]:
    """Name -> dtype and shape (``batch`` first) of every model input, masks included."""
    pre, specs = bundle.preprocessor, {}
    for m in bundle.modalities:
        if m == "image":
            specs[m] = {"dtype": "uint8", "shape": ["batch", pre.channels, pre.image.size, pre.image.size]}
        elif m == "text":
            specs[m] = {"dtype": "int64", "shape": ["batch", pre.text.max_tokens]}
        else:
            specs[m] = {"dtype": "float16", "shape": ["batch", *pre.audio_shape]}
    for m in bundle.modalities:
        specs[f"mask_{m}"] = {
            "dtype": "bool",
            "shape": ["batch"],
            "meaning": f"True where the sample has {m}; False: masked as missing",
        }
    return specs


def preprocess_spec(bundle: Bundle, outputs: list[str]) -> dict[str, Any]:
    """Every parameter :mod:`mmstudio.engine.standalone` needs to turn raw files into inputs."""
    pre = bundle.preprocessor
    spec: dict[str, Any] = {
        "format": "mmstudio.preprocess",
        "version": 1,
        "mmstudio": __version__,
        "modalities": list(bundle.modalities),
        "class_names": list(bundle.class_names),
        "inputs": input_specs(bundle),
        "outputs": outputs,
    }
    if "image" in bundle.modalities:
        spec["image"] = {
            "size": pre.image.size,
            "channels": pre.channels,
            "dtype": "uint8",
            "decode": "EXIF orientation applied; alpha composited on white; grey (L) for 1 channel, else RGB",
            "resize": "bilinear with antialiasing to size x size (aspect not kept)",
            "normalise_inside_model": {"mean": list(pre.mean), "std": list(pre.std), "scale": 1 / 255},
        }
    if "audio" in bundle.modalities:
        a = pre.audio
        spec["audio"] = {
            "sample_rate": a.sample_rate,
            "seconds": a.seconds,
            "samples": pre.samples,
            "mono": "mean of the channels",
            "resample": {"method": "sinc_interp_hann", "lowpass_filter_width": 6, "rolloff": 0.99},
            "fit": "centre crop when longer, zero-pad at the end when shorter",
            "features": a.features,
            "stft": {
                "n_fft": pre.n_fft,
                "win_length": pre.n_fft,
                "hop_length": pre.hop,
                "window": "hann (periodic)",
                "center": True,
                "pad_mode": "reflect",
                "power": 2.0,
                "onesided": True,
            },
            "mel": {"n_mels": a.n_mels, "f_min": 0.0, "f_max": float(a.sample_rate // 2), "scale": "htk", "norm": None},
            "log_offset": 1e-6,
            "mfcc": {"n_mfcc": a.n_mels, "dct": "type II, orthonormal", "amin": 1e-10, "top_db": 80.0},
            "dtype": "float16 (the studio's cache dtype; the model casts to float32 inside)",
            "shape": list(pre.audio_shape),
        }
    if "text" in bundle.modalities:
        spec["text"] = {
            "max_tokens": pre.text.max_tokens,
            "tokenizer_file": TOKENIZER,
            "padding": "ids after the text are 0",
        }
    return spec


def tokenizer_json(bundle: Bundle) -> dict[str, Any] | None:
    """The package's ``tokenizer.json``: a subword model in the `tokenizers` library's own format
    (``predict.py`` applies its BPE merges itself; the library can load it too), else the word or
    character vocabulary with how text is split."""
    tok = bundle.preprocessor.tokenizer
    if tok is None:
        return None
    if isinstance(tok, SubwordTokenizer):
        return hf_json(tok)
    return {
        "format": "mmstudio.tokenizer",
        "version": 1,
        "level": tok.level,
        "lower": tok.lower,
        "normalize": "NFKC",
        "pattern": _WORD.pattern,
        "ngrams": tok.ngrams,
        "pad_id": 0,
        "unk_id": 1,
        "vocab": list(tok.vocab),
    }


def model_metadata(bundle: Bundle, spec: dict[str, Any]) -> dict[str, str]:
    """String key/values stored inside the model file (ONNX metadata_props, .pt2 extra files)."""
    return {
        "mmstudio_version": __version__,
        "class_names": json.dumps(list(bundle.class_names)),
        "inputs": json.dumps(spec["inputs"]),
        "outputs": json.dumps(spec["outputs"]),
        "modalities": json.dumps(list(bundle.modalities)),
        "preprocess": json.dumps(spec),
        "bundle_sha256": bundle.meta.get("weights", {}).get("sha256", ""),
    }


def write_package(folder: str, bundle: Bundle, spec: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """Write the files beside the model; returns their names."""
    names = [PREPROCESS, SCRIPT, CARD]
    atomic_write_text(os.path.join(folder, PREPROCESS), json.dumps(spec, indent=2) + "\n")
    tok = tokenizer_json(bundle)
    if tok is not None:
        atomic_write_text(os.path.join(folder, TOKENIZER), json.dumps(tok, ensure_ascii=False) + "\n")
        names.insert(1, TOKENIZER)
    tmp = os.path.join(folder, f"{SCRIPT}.tmp{os.getpid()}")
    shutil.copyfile(os.path.join(os.path.dirname(__file__), "standalone.py"), tmp)
    os.replace(tmp, os.path.join(folder, SCRIPT))
    atomic_write_text(os.path.join(folder, CARD), model_card(bundle, spec, info))
    return names


def model_card(bundle: Bundle, spec: dict[str, Any], info: dict[str, Any]) -> str:
    """A short README: what the model does, its data, metrics, inputs, intended use, licences."""
    config = bundle.meta.get("config", {})
    data = config.get("dataset", {}).get("path", "unknown")
    model = config.get("model", {})
    encoders = ", ".join(f"{m}: {model.get(m, {}).get('encoder', '?')}" for m in bundle.modalities)
    metrics = bundle.meta.get("metrics", {})
    shown = {
        k: v for k, v in {**metrics.get("val", {}), **metrics.get("test", {})}.items() if isinstance(v, (int, float))
    }
    lines = [
        f"# {os.path.basename(os.path.normpath(bundle.path))}: an MMStudio model",
        "",
        f"Exported by MMStudio {__version__} as `{os.path.basename(info['path'])}` "
        f"({info['format']}). Task: {model.get('task', '?')}; modalities: "
        f"{', '.join(bundle.modalities)} ({encoders}; fusion {model.get('fusion', '?')}).",
        "",
        "## Classes",
        "",
        ", ".join(bundle.class_names) or _no_classes(bundle),
        "",
        "## Data",
        "",
        f"Trained on `{data}` (split {json.dumps(config.get('dataset', {}).get('split', {}))}).",
        f"Licence of the data: {_data_licence(data)}",
        "",
        "## Metrics (validation, at training time)",
        "",
    ]
    lines += [f"- {k}: {v:.4f}" for k, v in shown.items()] or ["- none recorded"]
    lines += ["", "## Inputs", "", "| name | dtype | shape |", "| --- | --- | --- |"]
    lines += [f"| `{n}` | {s['dtype']} | {s['shape']} |" for n, s in spec["inputs"].items()]
    lines += [
        "",
        f"Outputs: {', '.join(f'`{o}`' for o in spec['outputs'])}. Every preprocessing "
        f"parameter is in `{PREPROCESS}`; `{SCRIPT}` applies them with numpy, Pillow and "
        "soundfile only and runs `model.onnx` with onnxruntime:",
        "",
        "```",
        'python predict.py --image digit.png --text "a seven"   # leave out any modality',
        "```",
        "",
        "A missing modality is expressed by its mask (`mask_<modality>` False), "
        "as in the studio; its input is then ignored (zeros are fine).",
        "",
        "## Intended use",
        "",
        "Research and teaching: classifying and matching inputs like the training data. "
        "Not checked for fairness, robustness or inputs unlike the training data; do not use "
        "it for decisions about people.",
        "",
    ]
    return "\n".join(lines)


def _no_classes(bundle: Bundle) -> str:
    if model_task(bundle) == "regress":
        return (
            f"(regress: output `value` is the predicted number in the target's units; training targets "
            f"had mean {bundle.shape.target_mean:.6g} and standard deviation {bundle.shape.target_std:.6g})"
        )
    return "(align only: no classes)"


def model_task(bundle: Bundle) -> str:
    return bundle.run.model.task


def _data_licence(path: str) -> str:
    """The first lines of a NOTICE/LICENSE/README beside the dataset, else a plain 'not recorded'."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    for name in ("NOTICE.md", "NOTICE", "LICENSE", "LICENSE.md", "LICENCE"):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            with open(candidate, encoding="utf-8", errors="replace") as fh:
                text = " ".join(fh.read(600).split())
            return f"from `{name}` beside the data: {text}"
    return "not recorded with the data; check its source before sharing this model."

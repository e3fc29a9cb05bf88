"""Model bundles: ``model.safetensors`` + ``bundle.json``, and training checkpoints built on them.

Loading rebuilds the model from the JSON alone and reads tensors with safetensors: nothing is
unpickled. The JSON records the weights' SHA-256, so a changed or truncated file is caught and
named. Writes go to a temporary directory that then replaces the old one, so an interrupted save
leaves the previous bundle intact.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import torch

import mmstudio
from mmstudio.config import RunConfig
from mmstudio.engine.model import ModelShape, MultimodalModel
from mmstudio.engine.preprocess import Preprocessor
from mmstudio.engine.pretrained import no_weight_files, pretrained_identity
from mmstudio.engine.tokenizer import Tokenizer
from mmstudio.errors import LoadError, SchemaError
from mmstudio.file_schemas import BUNDLE
from mmstudio.fileio import atomic_write_text, is_disk_full, member_path, sha256_file, write_failed
from mmstudio.schema import check, read_json, version

BUNDLE_FORMAT = "mmstudio.bundle"
BUNDLE_VERSION = 1
WEIGHTS, META = "model.safetensors", "bundle.json"


#: bundle.json holds the config, class names, vocabulary and metrics: a few megabytes at most.
MAX_META_BYTES = 64 << 20


class BundleError(LoadError):
    """A bundle or checkpoint that cannot be used; the message names the file and why."""


@dataclass
class Bundle:
    """A loaded bundle: the model (eval mode) and everything needed to feed it."""

    path: str
    model: MultimodalModel
    run: RunConfig
    shape: ModelShape
    class_names: list[str]
    preprocessor: Preprocessor
    metrics: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.shape.modalities


def versions() -> dict[str, str]:
    import torchaudio
    import torchvision

    return {
        "mmstudio": mmstudio.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "torchaudio": torchaudio.__version__,
        "python": platform.python_version(),
    }


def write_bundle_files(
    folder: str,
    model: MultimodalModel,
    run: RunConfig,
    shape: ModelShape,
    class_names: list[str],
    pre: Preprocessor,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Write the two bundle files into an existing (temporary) folder."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = os.path.join(folder, WEIGHTS)
    save_file(state, weights, metadata={"format": BUNDLE_FORMAT})
    meta = {
        "format": BUNDLE_FORMAT,
        "bundle_version": BUNDLE_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": run.to_dict(),
        "shape": shape.to_dict(),
        "class_names": list(class_names),
        "preprocessing": pre.to_dict(),
        "metrics": metrics or {},
        "versions": versions(),
        "pretrained": pretrained_identity(run.model, shape.modalities),
        "weights": {
            "file": WEIGHTS,
            "sha256": sha256_file(weights),
            "bytes": os.path.getsize(weights),
            "tensors": len(state),
        },
    }
    with open(os.path.join(folder, META), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)


def save_bundle(
    path: str,
    model: MultimodalModel,
    run: RunConfig,
    shape: ModelShape,
    class_names: list[str],
    pre: Preprocessor,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Atomically (re)write the bundle folder ``path``; ``extra`` maps file names to writers."""

    def fill(tmp: str) -> None:
        write_bundle_files(tmp, model, run, shape, class_names, pre, metrics)
        for name, writer in (extra or {}).items():
            writer(os.path.join(tmp, name))

    return atomic_dir(path, fill)


def atomic_dir(path: str, fill) -> str:
    """Build a folder in a temporary sibling, then swap it in place of ``path``.

    Whatever goes wrong (a full disk, an error, a kill), the previous ``path`` survives: as
    itself, or as ``path.old`` when the process died between the two renames (readers fall back
    to it). An ``OSError`` is re-raised with a message naming ``path`` and saying so.
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=parent)
    old = path + ".old"
    try:
        fill(tmp)
        _default_permissions(tmp)
        if os.path.exists(path):
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        full = is_disk_full(exc, tmp)  # safetensors and torch.save say so in their own words
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.exists(path) and os.path.exists(old):
            os.replace(old, path)  # undo the first rename
        failed = write_failed(exc, path, full)
        if failed is not None:
            raise failed from exc
        raise
    return path


def _default_permissions(folder: str) -> None:
    """mkdtemp makes private folders; a bundle gets the usual permissions (umask applies)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for name in os.listdir(folder):
        os.chmod(os.path.join(folder, name), 0o666 & ~umask)


def resolve(path: str) -> str:
    """The bundle folder for ``path``: a bundle, a run folder holding ``bundle/``, or
    ``bundle.json`` itself; falls back to the ``.old`` copy a crashed swap left behind."""
    path = os.path.abspath(path)
    if os.path.basename(path) == META:
        path = os.path.dirname(path)
    for cand in (path, os.path.join(path, "bundle"), path + ".old"):
        if os.path.isfile(os.path.join(cand, META)):
            return cand
    raise BundleError(f"{path}: not a model bundle (no {META} found)")


def read_meta(path: str) -> tuple[str, dict[str, Any]]:
    """The bundle folder and its ``bundle.json``, checked against :data:`file_schemas.BUNDLE`
    (types, ranges, sizes, version) before anything is built from it."""
    folder = resolve(path)
    meta_path = os.path.join(folder, META)
    try:
        meta = read_json(meta_path, MAX_META_BYTES)
        if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
            raise BundleError(meta_path, "not an MMStudio bundle description")
        version(meta.get("bundle_version", 0), "bundle_version", BUNDLE_VERSION)
        check(meta, BUNDLE, meta_path)
    except SchemaError as exc:
        raise BundleError(meta_path, exc.problem, exc.field) from None
    except LoadError as exc:
        raise _bundle_error(exc, meta_path) from None
    return folder, meta


def _bundle_error(exc: LoadError, path: str) -> BundleError:
    if isinstance(exc, BundleError):
        return exc
    return BundleError(exc.path or path, exc.problem, exc.field) if exc.path else BundleError(str(exc))


def weights_path(folder: str, meta: dict[str, Any]) -> str:
    """The weights file a bundle names: only a file inside its own folder (symlinks resolved)."""
    name = meta["weights"]["file"]
    try:
        return member_path(folder, name)
    except ValueError as exc:
        raise BundleError(os.path.join(folder, META), str(exc), "weights.file") from None


def load_bundle(path: str, device: str = "cpu") -> Bundle:
    """Open a bundle: rebuild the model from ``bundle.json`` and load its checked weights."""
    folder, meta = read_meta(path)
    meta_path = os.path.join(folder, META)
    weights = weights_path(folder, meta)
    try:
        run = RunConfig.from_dict(meta["config"])
        shape = ModelShape.from_dict(meta["shape"])
        prep = meta["preprocessing"]
        tok = Tokenizer.from_dict(prep["tokenizer"]) if prep.get("tokenizer") else None
        pre = Preprocessor.from_model_spec(run.model, shape.modalities, shape.channels, tok)
        _check_size(run, shape, weights, meta_path)
        with no_weight_files():  # the trained weights are all in model.safetensors
            model = MultimodalModel(run.model, shape, dropout=run.train.dropout)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{meta_path}: incompatible bundle description ({exc})") from exc
    load_weights(model, weights, meta["weights"].get("sha256"))
    model.to(device).eval()
    return Bundle(
        folder, model, run, shape, list(meta.get("class_names", [])), pre, dict(meta.get("metrics", {})), meta
    )


def _check_size(run: RunConfig, shape: ModelShape, weights: str, meta_path: str) -> None:
    """Refuse a description whose model is far larger than its weights file, before allocating:
    built on the meta device, a model costs nothing; the real one must fit in what is stored."""
    with torch.device("meta"), no_weight_files():
        ghost = MultimodalModel(run.model, shape, dropout=run.train.dropout)
    needed = sum(t.numel() * t.element_size() for t in ghost.state_dict().values())
    try:
        stored = os.path.getsize(weights)
    except OSError:
        return  # load_weights names the missing file
    if needed > 2 * stored + (1 << 20):
        raise BundleError(
            meta_path,
            f"describes a model of {needed:,} bytes but "
            f"{os.path.basename(weights)} holds {stored:,}; the description "
            "was changed or belongs to another model",
            "shape",
        )


def load_weights(model: torch.nn.Module, weights: str, sha256: str | None) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not os.path.isfile(weights):
        raise BundleError(f"{weights}: weights file is missing")
    if sha256 and sha256_file(weights) != sha256:
        raise BundleError(
            f"{weights}: does not match the checksum in {META} (the file was changed, truncated or corrupted)"
        )
    try:
        state = load_file(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{weights}: unreadable or truncated safetensors file ({exc})") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BundleError(
            f"{weights}: weights do not fit the model described in {META}: {str(exc).splitlines()[0]}"
        ) from exc


def update_metrics(path: str, metrics: dict[str, Any]) -> None:
    """Merge ``metrics`` into a bundle's JSON (atomic replace of the one file)."""
    folder, meta = read_meta(path)
    meta["metrics"] = {**meta.get("metrics", {}), **metrics}
    atomic_write_text(os.path.join(folder, META), json.dumps(meta, indent=2))


def set_input_stats(path: str, stats: dict[str, Any]) -> None:
    """Record the training inputs' ranges (:mod:`.inputstats`) in a bundle's JSON."""
    folder, meta = read_meta(path)
    meta["input_stats"] = stats
    atomic_write_text(os.path.join(folder, META), json.dumps(meta, indent=2))

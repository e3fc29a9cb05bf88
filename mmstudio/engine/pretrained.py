"""Pretrained weights: which exist, where they live on this machine, and who they are.

The catalogue lists the weights MMStudio's encoders can start from: torchvision's ImageNet
classifiers and torchaudio's speech pipelines. Files live where those libraries look for them,
``torch.hub.get_dir()/checkpoints/<the URL's file name>``, so weights downloaded by any PyTorch
program are found and ours serve them too. Nothing here downloads (see :mod:`.downloads`, run
only when the user asks); a missing file is a clear message saying how to get it.

Identity: a file is known by its catalogue name and its SHA-256, which bundles record instead of
a path (the trained weights themselves are in ``model.safetensors``). Standard library only, so
the run checks, the CLI's listing and the Model panel read it before torch loads.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

#: The tune option of pretrained encoders: auto (frozen when pretrained weights are used),
#: frozen (the backbone's outputs are computed once and cached; only fusion and heads train),
#: finetune (the last blocks train too, at a tenth of the learning rate).
TUNE_MODES = ("auto", "frozen", "finetune")
#: The learning rate of unfrozen backbone blocks in fine-tune mode, relative to the run's.
FINETUNE_LR_SCALE = 0.1

_IMAGENET = "BSD-3-Clause (torchvision); trained on ImageNet-1k, whose terms allow non-commercial research use"
_FAIRSEQ = "MIT (fairseq, via torchaudio); trained on LibriSpeech 960 h (CC BY 4.0)"
_TV = "https://download.pytorch.org/models/"
_TA = "https://download.pytorch.org/torchaudio/models/"


@dataclass(frozen=True)
class WeightsInfo:
    """One set of published weights: ``name`` is what run.toml and the CLI use."""

    name: str
    modality: str
    encoder: str  # the registered encoder these weights fit
    url: str
    mbytes: float  # download size, MB (10^6 bytes)
    licence: str
    source: str  # the library object that publishes them (torchvision.models.ResNet18_Weights...)

    @property
    def file_name(self) -> str:
        """The name torch.hub gives the file (the URL's last part)."""
        return self.url.rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str:
        """The SHA-256 prefix torchvision puts in its file names (``resnet18-f37072fd.pth``);
        "" when the name carries none (torchaudio's)."""
        found = re.search(r"-([a-f0-9]{6,})\.", self.file_name)
        return found.group(1) if found else ""

    def path(self) -> str:
        return os.path.join(hub_dir(), "checkpoints", self.file_name)

    def present(self) -> bool:
        return os.path.isfile(self.path())

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "modality": self.modality,
            "encoder": self.encoder,
            "mbytes": self.mbytes,
            "licence": self.licence,
            "source": self.source,
            "url": self.url,
            "file": self.path(),
            "present": self.present(),
        }


def _tv(arch: str, tag: str, file: str, mb: float, enum: str) -> WeightsInfo:
    return WeightsInfo(
        f"{arch}.{tag.lower()}", "image", arch, _TV + file, mb, _IMAGENET, f"torchvision.models.{enum}.{tag}"
    )


#: Every set of weights MMStudio knows. tests/engine/test_pretrained.py checks each against the
#: installed torchvision/torchaudio (URL, size), so an upgrade that moves one is caught.
CATALOGUE: dict[str, WeightsInfo] = {
    w.name: w
    for w in (
        _tv("resnet18", "IMAGENET1K_V1", "resnet18-f37072fd.pth", 44.661, "ResNet18_Weights"),
        _tv("resnet34", "IMAGENET1K_V1", "resnet34-b627a593.pth", 83.275, "ResNet34_Weights"),
        _tv("resnet50", "IMAGENET1K_V2", "resnet50-11ad3fa6.pth", 97.79, "ResNet50_Weights"),
        _tv(
            "mobilenet_v3_small",
            "IMAGENET1K_V1",
            "mobilenet_v3_small-047dcff4.pth",
            9.829,
            "MobileNet_V3_Small_Weights",
        ),
        _tv(
            "mobilenet_v3_large",
            "IMAGENET1K_V2",
            "mobilenet_v3_large-5c1a4163.pth",
            21.107,
            "MobileNet_V3_Large_Weights",
        ),
        _tv(
            "efficientnet_b0",
            "IMAGENET1K_V1",
            "efficientnet_b0_rwightman-7f5810bc.pth",
            20.451,
            "EfficientNet_B0_Weights",
        ),
        _tv("convnext_tiny", "IMAGENET1K_V1", "convnext_tiny-983f1562.pth", 109.119, "ConvNeXt_Tiny_Weights"),
        WeightsInfo(
            "wav2vec2_base.ls960",
            "audio",
            "wav2vec2_base",
            _TA + "wav2vec2_fairseq_base_ls960.pth",
            377.7,
            _FAIRSEQ,
            "torchaudio.pipelines.WAV2VEC2_BASE",
        ),
        WeightsInfo(
            "hubert_base.ls960",
            "audio",
            "hubert_base",
            _TA + "hubert_fairseq_base_ls960.pth",
            377.5,
            _FAIRSEQ,
            "torchaudio.pipelines.HUBERT_BASE",
        ),
    )
}

#: Audio encoders that exist only pretrained: the encoder name implies its weights.
AUDIO_WEIGHTS = {w.encoder: w.name for w in CATALOGUE.values() if w.modality == "audio"}


class WeightsError(ValueError):
    """Weights that are unknown, absent or unusable; the message says what to do."""


def hub_dir() -> str:
    """``torch.hub.get_dir()``, computed the same way without importing torch."""
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "hub"):
        return str(torch.hub.get_dir())
    home = os.getenv("TORCH_HOME") or os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return os.path.join(os.path.expanduser(home), "hub")


def find(name: str) -> WeightsInfo:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise WeightsError(f"unknown weights {name!r}; known: {', '.join(sorted(CATALOGUE))}") from None


def default_for(encoder: str) -> WeightsInfo | None:
    """The catalogue's weights for ``encoder`` (None when it has none)."""
    return next((w for w in CATALOGUE.values() if w.encoder == encoder), None)


def is_name(weights: str) -> bool:
    """Whether a spec's ``weights`` names catalogue weights (else it is a local file path)."""
    return weights in CATALOGUE


def weights_of(modality: str, encoder: str, weights: str = "") -> WeightsInfo | None:
    """The catalogue weights a modality's encoder starts from (None: random init or a local file)."""
    if modality == "audio":
        name = AUDIO_WEIGHTS.get(encoder)
        return CATALOGUE[name] if name else None
    return CATALOGUE.get(weights) if weights else None


def missing_message(info: WeightsInfo) -> str:
    return (
        f"the {info.name} weights are not on this machine ({info.path()} is missing): run "
        f"`mmstudio weights get {info.name}` (downloads {info.mbytes:.0f} MB), or on an offline "
        f"machine copy {info.file_name} over and run `mmstudio weights import FILE` "
        "(or Settings > Models in the studio)"
    )


def require_present(info: WeightsInfo) -> str:
    """The weights file's path; :class:`WeightsError` saying how to get it when it is absent."""
    if not info.present():
        raise WeightsError(missing_message(info))
    return info.path()


# ---------------------------------------------------------------------------------------------
# Identity: SHA-256 of files, remembered per (path, size, mtime) so a run hashes each file once.

_SHA: dict[tuple[str, int, int], str] = {}
_SHA_LOCK = threading.Lock()


def file_sha256(path: str) -> str:
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    with _SHA_LOCK:
        if key in _SHA:
            return _SHA[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    with _SHA_LOCK:
        _SHA[key] = digest.hexdigest()
    return _SHA[key]


def identity(modality: str, encoder: str, weights: str) -> dict[str, str] | None:
    """What a bundle records of the weights an encoder started from: name (or file name) and
    SHA-256; None when it started from random numbers. A file gone since training is recorded
    by name alone."""
    info = weights_of(modality, encoder, weights)
    path = info.path() if info else weights
    if not path:
        return None
    out = {"name": info.name if info else os.path.basename(path)}
    with contextlib.suppress(OSError):
        out["sha256"] = file_sha256(path)
    return out


# ---------------------------------------------------------------------------------------------
# Building a model without reading weight files: bundles hold the trained weights themselves.

_NO_FILES: contextvars.ContextVar[bool] = contextvars.ContextVar("mmstudio_no_weight_files", default=False)


@contextlib.contextmanager
def no_weight_files() -> Iterator[None]:
    """Encoders built inside this block do not read pretrained weight files (the caller loads
    all weights itself, as opening a bundle does): a bundle opens where the file never was."""
    token = _NO_FILES.set(True)
    try:
        yield
    finally:
        _NO_FILES.reset(token)


def reading_files() -> bool:
    return not _NO_FILES.get()


def pretrained_identity(spec, modalities: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``bundle.json``'s ``pretrained``: per modality, the weights (or word vectors) its encoder
    started from, by name and SHA-256."""
    out: dict[str, dict[str, str]] = {}
    for m in modalities:
        sub = getattr(spec, m)
        if m == "text":
            vectors = str(sub.options.get("vectors", "") or "")
            found = identity("image", "", vectors) if vectors else None  # a file: name and checksum
        else:
            found = identity(m, sub.encoder, getattr(sub, "weights", ""))
        if found:
            out[m] = found
    return out


def tune_of(spec, modality: str) -> str:
    """The tune mode a modality's encoder trains in: frozen, finetune, or all (no published
    weights: every layer learns)."""
    sub = getattr(spec, modality)
    tune = str(sub.options.get("tune", "auto"))
    info = weights_of(modality, sub.encoder, getattr(sub, "weights", ""))
    if tune == "auto":
        return "frozen" if info is not None else "all"
    return tune if tune in TUNE_MODES else "all"


def frozen_modalities(spec, modalities: tuple[str, ...]) -> tuple[str, ...]:
    """The modalities whose encoders are frozen pretrained backbones (their outputs cached)."""
    return tuple(m for m in modalities if m != "text" and tune_of(spec, m) == "frozen")


def weights_list() -> list[dict]:
    """Every known set of weights as a dict (name, modality, encoder, MB, licence, source, url,
    file, present): the CLI's ``weights list`` and the weights manager show these."""
    return [w.as_dict() for w in CATALOGUE.values()]


def default_weights(encoder: str) -> str:
    """The name of ``encoder``'s published weights ("" when it has none)."""
    info = default_for(encoder)
    return info.name if info else ""


def weights_dir() -> str:
    """Where weights files live: the torch hub cache's ``checkpoints`` folder."""
    return os.path.join(hub_dir(), "checkpoints")

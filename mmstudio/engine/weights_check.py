"""Reading catalogue weights files safely (``weights_only=True``) and checking they fit.

The architectures come from the libraries that publish the weights (torchvision's model
builders, torchaudio's pipeline parameters), built on the meta device when only shapes matter.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import torch
from torch import nn

from mmstudio.engine.pretrained import CATALOGUE, WeightsError, WeightsInfo, file_sha256, find


def architecture(info: WeightsInfo) -> nn.Module:
    """The network ``info``'s weights belong to, randomly initialised."""
    if info.modality == "image":
        import torchvision.models as tvm

        return getattr(tvm, info.encoder)(weights=None)
    import torchaudio.models
    import torchaudio.pipelines

    bundle = getattr(torchaudio.pipelines, info.source.rsplit(".", 1)[-1])
    return torchaudio.models.wav2vec2_model(**bundle._params)


def load_state(path: str) -> dict[str, torch.Tensor]:
    """A state dict from ``path``, read without unpickling code."""
    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure here means the same to the user
        raise WeightsError(
            f"{path}: not a plain tensor state dict (refused to unpickle code, or the file is damaged): {exc}"
        ) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: not a state dict of tensors")
    return state


def check_fits(info: WeightsInfo, path: str) -> dict[str, torch.Tensor]:
    """The state dict in ``path`` when it has every tensor of ``info``'s architecture, in the
    right shapes; else :class:`WeightsError` naming the first that does not fit."""
    state = load_state(path)
    with torch.device("meta"):
        own = architecture(info).state_dict()
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        key = (missing or wrong)[0]
        what = "lacks" if missing else "has another shape for"
        raise WeightsError(
            f"{path}: does not fit {info.name} ({info.encoder}): it {what} {key!r} "
            f"({len(missing)} missing, {len(wrong)} of another shape)"
        )
    return state


def load_into(module: nn.Module, info: WeightsInfo, path: str) -> None:
    """Load ``info``'s weights from ``path`` into ``module`` (its whole architecture, strictly)."""
    state = check_fits(info, path)
    module.load_state_dict({k: v for k, v in state.items() if k in module.state_dict()}, strict=True)


# ---------------------------------------------------------------------------------------------
# Import: a file brought by hand (an offline machine) into the hub cache, checked first.


def import_file(source: str, name: str = "", force: bool = False) -> WeightsInfo:
    """Copy ``source`` into the hub cache as catalogue weights ``name`` (guessed from the file
    name when not given), after checking it: its SHA-256 against the prefix torchvision's file
    names carry, and that it loads without unpickling and fits the encoder's architecture.
    ``force`` accepts a file whose checksum differs (weights trained elsewhere). The copy is
    atomic; nothing is written when a check fails."""
    if not os.path.isfile(source):
        raise WeightsError(f"{source}: no such file")
    info = find(name) if name else _guess(source)
    digest = file_sha256(source)
    if info.hash_prefix and not digest.startswith(info.hash_prefix) and not force:
        raise WeightsError(
            f"{source}: checksum {digest[:12]}… does not match the published {info.name} weights "
            f"(SHA-256 starting {info.hash_prefix}); the file is damaged or other weights "
            "(--force imports it anyway)"
        )
    check_fits(info, source)
    dest = info.path()
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = f"{dest}.{os.getpid()}.importing"
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return info


def _guess(source: str) -> WeightsInfo:
    base = os.path.basename(source)
    for info in CATALOGUE.values():
        if base == info.file_name:
            return info
    raise WeightsError(
        f"{source}: cannot tell which weights this is from its name; give the name "
        f"(mmstudio weights import FILE --name NAME; known: {', '.join(sorted(CATALOGUE))})"
    )


#: The engine's public name for :func:`import_file`.
import_weights = import_file

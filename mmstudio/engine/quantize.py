"""PyTorch's int8 quantisation applied to a loaded model, and the int8 weights a compressed
bundle stores (:mod:`.compress`).

*Dynamic* int8 (``torch.ao.quantization.quantize_dynamic``) swaps every ``Linear``, ``LSTM`` and
``GRU`` for a version with int8 weights whose activations are quantised on the fly. *Static*
int8 (FX graph mode, ``prepare_fx``/``convert_fx``) also quantises activations, with ranges
calibrated on training items; it applies to the convolutional part of an image or audio encoder
(``features`` / ``backbone``) when FX can trace it. Text encoders (embedding tables, recurrent
layers) have no static int8 kernels in PyTorch: they get dynamic int8 only.

On disk a quantised bundle keeps each quantised weight as int8 values and one float32 scale per
output row (symmetric), in safetensors; loading expands them and quantises again the same way,
so nothing is unpickled and what loads is what was measured.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import torch
from torch import nn

#: Module types whose weights dynamic int8 quantises (and a compressed bundle stores as int8).
DYNAMIC_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.LSTM, nn.GRU)
#: Further weights stored as int8 on disk only (expanded to float32 on load): embedding tables
#: and convolutions have no dynamic int8 kernel, but their size on disk shrinks fourfold.
STORED_TYPES: tuple[type[nn.Module], ...] = (nn.Embedding, nn.EmbeddingBag, nn.Conv1d, nn.Conv2d)
#: The sub-module of an encoder that static int8 quantises, tried in order.
STATIC_PARTS = ("features", "backbone")
Q8, SCALE = "q8:", "q8scale:"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """``torch.ao.quantization`` warns that it moves to torchao; nothing a user can act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def int8_weight_names(model: nn.Module) -> list[str]:
    """State-dict keys of the weights a compressed bundle stores as int8."""
    out = []
    for prefix, module in model.named_modules():
        if isinstance(module, DYNAMIC_TYPES + STORED_TYPES):
            for name, p in module.named_parameters(recurse=False):
                if p.dim() >= 2 and "weight" in name:
                    out.append(f"{prefix}.{name}" if prefix else name)
    return out


def to_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 values, float32 scale per output row): symmetric, ``weight ≈ q * scale``."""
    rows = weight.detach().float().reshape(weight.shape[0], -1)
    scale = (rows.abs().amax(1) / 127.0).clamp_min(1e-12)
    q = torch.round(rows / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q.reshape(weight.shape).contiguous(), scale.contiguous()


def from_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    shape = [-1] + [1] * (q.dim() - 1)
    return q.float() * scale.reshape(shape)


def pack_state(state: dict[str, torch.Tensor], names: list[str]) -> dict[str, torch.Tensor]:
    """``state`` with each weight of ``names`` replaced by its int8 values and row scales."""
    out = {}
    chosen = set(names)
    for key, value in state.items():
        if key in chosen:
            out[Q8 + key], out[SCALE + key] = to_int8(value)
        else:
            out[key] = value
    return out


def unpack_state(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 state dict of :func:`pack_state`'s output (extra tensors kept as they are)."""
    out = {}
    for key, value in stored.items():
        if key.startswith(Q8):
            name = key[len(Q8) :]
            out[name] = from_int8(value, stored[SCALE + name])
        elif not key.startswith(SCALE):
            out[key] = value
    return out


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """``model`` (in place) with int8 Linear/LSTM/GRU layers; CPU inference only."""
    with quiet():
        return torch.ao.quantization.quantize_dynamic(model, set(DYNAMIC_TYPES), dtype=torch.qint8, inplace=True)


def static_part(encoder: nn.Module) -> str | None:
    return next((name for name in STATIC_PARTS if isinstance(getattr(encoder, name, None), nn.Module)), None)


def prepare_static(
    model, example: dict[str, torch.Tensor], only: set[str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Insert observers into each encoder's convolutional part (in place; ``only``: these
    modalities): returns ({modality: part name} prepared, {modality: why not})."""
    from torch.ao.quantization.quantize_fx import prepare_fx

    done, why_not = {}, {}
    mapping = _qconfig_mapping()
    feats = _part_inputs(model, example)
    for m, encoder in model.encoders.items():
        if only is not None and m not in only:
            continue
        part = static_part(encoder)
        if part is None or m not in feats:
            why_not[m] = f"the {m} encoder has no convolutional part to quantise statically (dynamic int8 only)"
            continue
        try:
            with quiet():
                prepared = prepare_fx(getattr(encoder, part).eval(), mapping, (feats[m],))
        except Exception as exc:  # noqa: BLE001 - FX cannot trace every module; say why
            why_not[m] = f"FX could not trace the {m} encoder ({type(exc).__name__}: {str(exc)[:120]})"
            continue
        setattr(encoder, part, prepared)
        done[m] = part
    return done, why_not


def _qconfig_mapping():
    """The backend's default int8 mapping, with min/max activation observers: their state is
    two numbers per tensor (a histogram observer's is 2,048), so a bundle stores it cheaply."""
    from torch.ao.quantization import MinMaxObserver, QConfig, get_default_qconfig_mapping

    engine = torch.backends.quantized.engine
    mapping = get_default_qconfig_mapping(engine)
    default = mapping.global_qconfig
    with quiet():
        activation = MinMaxObserver.with_args(reduce_range=engine in ("x86", "fbgemm"))
    return mapping.set_global(QConfig(activation=activation, weight=default.weight))


def convert_static(model, parts: dict[str, str]) -> None:
    """Replace each prepared (and calibrated) part by its int8 version (in place)."""
    from torch.ao.quantization.quantize_fx import convert_fx

    for m, part in parts.items():
        encoder = model.encoders[m]
        with quiet():
            setattr(encoder, part, convert_fx(getattr(encoder, part)))


def observer_state(model, parts: dict[str, str]) -> dict[str, torch.Tensor]:
    """The calibrated activation ranges of the prepared parts, as plain tensors to store."""
    out = {}
    for m, part in parts.items():
        for key, value in getattr(model.encoders[m], part).state_dict().items():
            if "activation_post_process" in key:
                out[f"observer:{m}:{key}"] = value.detach().clone().contiguous()
    return out


def load_observers(model, parts: dict[str, str], stored: dict[str, torch.Tensor]) -> None:
    for m, part in parts.items():
        prefix = f"observer:{m}:"
        state = {k[len(prefix) :]: v for k, v in stored.items() if k.startswith(prefix)}
        getattr(model.encoders[m], part).load_state_dict(state, strict=False)


def _part_inputs(model, example: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What each encoder's quantisable part receives for ``example`` (captured by a hook)."""
    captured: dict[str, torch.Tensor] = {}
    hooks = []
    for m, encoder in model.encoders.items():
        part = static_part(encoder)
        if part is not None and m in example:
            hooks.append(
                getattr(encoder, part).register_forward_pre_hook(
                    lambda _mod, args, m=m: captured.setdefault(m, args[0].detach())
                )
            )
    try:
        with torch.no_grad():
            model.encode({m: x for m, x in example.items() if m in model.encoders})
    finally:
        for h in hooks:
            h.remove()
    return captured

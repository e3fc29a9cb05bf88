"""Export a bundle's model for use outside MMStudio: ONNX (one named input per modality,
checked against PyTorch with onnxruntime when installed) or ``torch.export`` (``.pt2``).
TorchScript is deprecated since PyTorch 2.9, so it is not offered."""
from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from mmstudio.engine.bundle import Bundle, load_bundle
from mmstudio.engine.model import MultimodalModel


class ExportWrapper(nn.Module):
    """Positional inputs in the model's modality order, every modality present; outputs are
    ``logits`` and/or one unit embedding per modality (``emb_<modality>``)."""

    def __init__(self, model: MultimodalModel) -> None:
        super().__init__()
        self.model = model
        self.modalities = tuple(model.modalities)

    def forward(self, *xs: torch.Tensor):
        inputs = dict(zip(self.modalities, xs))
        ref = xs[0]
        mask = {m: torch.ones(ref.shape[0], dtype=torch.bool, device=ref.device)
                for m in self.modalities}
        out = self.model(inputs, mask)
        result = []
        if "logits" in out:
            result.append(out["logits"])
        for m in self.modalities:
            if "embeddings" in out:
                result.append(out["embeddings"][m])
        return tuple(result)

    def output_names(self) -> list[str]:
        names = ["logits"] if self.model.classify else []
        return names + ([f"emb_{m}" for m in self.modalities] if self.model.align else [])


def example_inputs(bundle: Bundle, batch: int = 2) -> tuple[torch.Tensor, ...]:
    pre, out = bundle.preprocessor, []
    for m in bundle.modalities:
        if m == "image":
            out.append(torch.randint(0, 256, (batch, pre.channels, pre.image.size, pre.image.size),
                                     dtype=torch.uint8))
        elif m == "text":
            ids = torch.randint(1, max(2, len(pre.tokenizer or [])), (batch, pre.text.max_tokens))
            out.append(ids)
        else:
            out.append(torch.randn(batch, *pre.audio_shape))
    return tuple(out)


def export(bundle, format: str = "onnx", out: str | None = None, check: bool = True) -> dict[str, Any]:
    """Write the exported model to ``out``; returns what was written and the check result."""
    import warnings

    with warnings.catch_warnings():
        # torch.export/onnx warn about their own internals (deprecations, read-only buffers);
        # they say nothing actionable to a user exporting a model.
        warnings.simplefilter("ignore")
        return _export(bundle, format, out, check)


def _export(bundle, format: str, out: str | None, check: bool) -> dict[str, Any]:
    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    wrapper = ExportWrapper(bundle.model.eval()).eval()
    args = example_inputs(bundle)
    out = out or os.path.join(bundle.path, "model." + ("onnx" if format == "onnx" else "pt2"))
    batch = torch.export.Dim("batch", min=1, max=4096)
    dynamic = (tuple({0: batch} for _ in args),)  # one entry: the *xs group
    info: dict[str, Any] = {"format": format, "path": os.path.abspath(out),
                            "inputs": list(bundle.modalities), "outputs": wrapper.output_names()}
    if format == "pt2":
        program = torch.export.export(wrapper, args, dynamic_shapes=dynamic)
        torch.export.save(program, out)
        if check:
            loaded = torch.export.load(out).module()
            info["max_abs_diff"] = _diff(wrapper(*args), loaded(*args))
    elif format == "onnx":
        torch.onnx.export(wrapper, args, out, input_names=list(bundle.modalities),
                          output_names=wrapper.output_names(), dynamic_shapes=dynamic,
                          dynamo=True, external_data=False, verbose=False)
        if check:
            info.update(_check_onnx(out, wrapper, args, list(bundle.modalities)))
    else:
        raise ValueError(f"unknown export format {format!r}; choose onnx or pt2")
    return info


def _check_onnx(path: str, wrapper: nn.Module, args, names: list[str]) -> dict[str, Any]:
    try:
        import onnxruntime as ort
    except ImportError:
        return {"checked": False, "note": "onnxruntime not installed; output not checked"}
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})
    diff = _diff(wrapper(*args), tuple(torch.from_numpy(g) for g in got))
    return {"checked": True, "max_abs_diff": diff, "ok": diff < 1e-3}


@torch.no_grad()
def _diff(expected, got) -> float:
    return max(float((e.float() - g.float()).abs().max()) for e, g in zip(expected, got))

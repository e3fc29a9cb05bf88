"""Export a bundle's model as a self-describing package for use outside MMStudio: a folder
with the model (ONNX, checked against PyTorch with onnxruntime when installed, or
``torch.export``'s ``.pt2``), its preprocessing, tokenizer, a numpy-only ``predict.py`` and a model
card (:mod:`mmstudio.engine.export_package`). TorchScript is deprecated since PyTorch 2.9, so it is
not offered."""

from __future__ import annotations

import io
import json
import logging
import os
from typing import Any

import torch
from torch import nn

from mmstudio.engine.bundle import Bundle, load_bundle
from mmstudio.engine.export_package import model_metadata, preprocess_spec, write_package
from mmstudio.engine.model import MultimodalModel
from mmstudio.fileio import atomic_write, atomic_write_bytes

MODEL_FILES = {"onnx": "model.onnx", "pt2": "model.pt2"}


class ExportWrapper(nn.Module):
    """Positional inputs: one per modality in the model's order, then one boolean mask per
    modality (False: that sample lacks it, as in the studio). Audio comes in the studio's cache
    dtype, float16, and is cast to float32 inside. Outputs are ``logits``
    and/or one unit embedding per modality (``emb_<modality>``)."""

    def __init__(self, model: MultimodalModel) -> None:
        super().__init__()
        self.model = model
        self.modalities = tuple(model.modalities)

    def forward(self, *xs: torch.Tensor):
        n = len(self.modalities)
        inputs = {m: (x.float() if m == "audio" else x) for m, x in zip(self.modalities, xs[:n])}
        mask = dict(zip(self.modalities, xs[n:]))
        out = self.model(inputs, mask)
        result = []
        if "logits" in out:
            result.append(out["logits"])
        if "value" in out:
            result.append(out["value"])
        for m in self.modalities:
            if "embeddings" in out:
                result.append(out["embeddings"][m])
        return tuple(result)

    def input_names(self) -> list[str]:
        return list(self.modalities) + [f"mask_{m}" for m in self.modalities]

    def output_names(self) -> list[str]:
        names = ["logits"] if self.model.classify else (["value"] if self.model.regress else [])
        return names + ([f"emb_{m}" for m in self.modalities] if self.model.align else [])


def example_inputs(bundle: Bundle, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right dtypes and shapes; the second sample lacks its first modality
    (so the masks are traced as real inputs, not constants)."""
    pre, out = bundle.preprocessor, []
    for m in bundle.modalities:
        if m == "image":
            out.append(torch.randint(0, 256, (batch, pre.channels, pre.image.size, pre.image.size), dtype=torch.uint8))
        elif m == "text":
            ids = torch.randint(1, max(2, len(pre.tokenizer or [])), (batch, pre.text.max_tokens))
            out.append(ids)
        else:
            out.append(torch.randn(batch, *pre.audio_shape).to(torch.float16))
    masks = [torch.ones(batch, dtype=torch.bool) for _ in bundle.modalities]
    if len(masks) > 1:
        masks[0][-1] = False
    return tuple(out + masks)


def export(
    bundle, format: str = "onnx", out: str | None = None, check: bool = True, quantize: str | None = None
) -> dict[str, Any]:
    """Write the export package into the folder ``out`` (default ``BUNDLE/export-FORMAT``);
    returns what was written and the check result. ``quantize="int8"`` (ONNX only) stores int8
    weights (onnxruntime's dynamic quantisation: about four times smaller, int8 kernels)."""
    import warnings

    with warnings.catch_warnings():
        # torch.export/onnx warn about their own internals (deprecations, read-only buffers);
        # they say nothing actionable to a user exporting a model.
        warnings.simplefilter("ignore")
        return _export(bundle, format, out, check, quantize)


def _export(bundle, format: str, out: str | None, check: bool, quantize: str | None = None) -> dict[str, Any]:
    _check_request(format, quantize)
    bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    folder = _package_folder(bundle, format, out)
    os.makedirs(folder, exist_ok=True)
    if bundle.model.generates:  # encoder and decoder step, the loop documented beside them
        from mmstudio.engine.export_generate import export_generator

        return export_generator(bundle, format, folder, check)
    wrapper = ExportWrapper(bundle.model.eval()).eval()
    args = example_inputs(bundle)
    path = os.path.join(folder, MODEL_FILES[format])
    spec = preprocess_spec(bundle, wrapper.output_names())
    meta = model_metadata(bundle, spec)
    batch = torch.export.Dim("batch", min=1, max=4096)
    dynamic = (tuple({0: batch} for _ in args),)  # one entry: the *xs group
    info: dict[str, Any] = {
        "format": format,
        "path": os.path.abspath(path),
        "package": os.path.abspath(folder),
        "inputs": wrapper.input_names(),
        "outputs": wrapper.output_names(),
    }
    if format == "pt2":
        program = torch.export.export(wrapper, args, dynamic_shapes=dynamic)
        buffer = io.BytesIO()  # torch's archive writer aborts the process on a full disk
        torch.export.save(program, buffer, extra_files=meta)
        atomic_write_bytes(path, buffer.getbuffer())
    else:

        def write_onnx(tmp: str) -> None:
            torch.onnx.export(
                wrapper,
                args,
                tmp,
                input_names=wrapper.input_names(),
                output_names=wrapper.output_names(),
                dynamic_shapes=dynamic,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            _add_onnx_metadata(tmp, meta)
            if quantize:
                quantize_onnx(tmp)

        atomic_write(path, write_onnx)
        info["quantize"] = quantize or "none"
    if check and format == "pt2":
        loaded = torch.export.load(path).module()
        info["max_abs_diff"] = _diff(wrapper(*args), loaded(*args))
    elif check:
        info.update(_check_onnx(path, wrapper, args, wrapper.input_names(), 0.25 if quantize else 1e-3))
    info["files"] = [MODEL_FILES[format], *write_package(folder, bundle, spec, info)]
    return info


def _check_request(format: str, quantize: str | None) -> None:
    if format not in MODEL_FILES:
        raise ValueError(f"unknown export format {format!r}; choose onnx or pt2")
    if quantize not in (None, "int8") or (quantize and format != "onnx"):
        raise ValueError(f"--quantize {quantize}: only int8, and only with the onnx format")


def _package_folder(bundle, format: str, out: str | None) -> str:
    """Where the package goes (``out``, else beside the bundle); an int8 bundle is refused."""
    if bundle.meta.get("compression", {}).get("method", "prune") != "prune":
        raise ValueError(f"{bundle.path} is an int8 bundle; export the original with --quantize int8 instead")
    folder = out or os.path.join(bundle.path, f"export-{format}")
    if os.path.splitext(folder)[1].lower() in (".onnx", ".pt2"):
        raise ValueError(
            f"{folder}: --out names the export package's folder (the model is {MODEL_FILES[format]} inside it)"
        )
    return folder


def _add_onnx_metadata(path: str, meta: dict[str, str]) -> None:
    import onnx

    model = onnx.load(path)
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)


def read_export_metadata(path: str) -> dict[str, Any]:
    """The MMStudio facts stored inside an exported model file (ONNX or .pt2), JSON decoded."""
    if path.endswith(".onnx"):
        import onnx

        raw = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    else:
        raw = {
            k: ""
            for k in (
                "mmstudio_version",
                "class_names",
                "inputs",
                "outputs",
                "modalities",
                "preprocess",
                "bundle_sha256",
            )
        }
        torch.export.load(path, extra_files=raw)  # fills the dict in
    return {k: (v if k in ("mmstudio_version", "bundle_sha256") else json.loads(v)) for k, v in raw.items()}


def quantize_onnx(path: str) -> None:
    """Replace the ONNX file ``path`` by its int8 version (weights int8, activations quantised
    on the fly: ``onnxruntime.quantization.quantize_dynamic``), keeping its metadata."""
    import onnx
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_quantize

    tmp = path + ".int8"
    quiet = logging.getLogger()  # onnxruntime advises pre-processing on the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        ort_quantize(path, tmp, weight_type=QuantType.QInt8)
        props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
        model = onnx.load(tmp)
        del model.metadata_props[:]
        for key, value in {**props, "quantize": json.dumps("int8")}.items():
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, path)
    finally:
        quiet.setLevel(level)
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_onnx(path: str, wrapper: nn.Module, args, names: list[str], tolerance: float = 1e-3) -> dict[str, Any]:
    """Run the file with onnxruntime on ``args``: ``ok`` when no output differs from PyTorch's by
    more than ``tolerance`` times its largest magnitude (at least 1). The check inputs are random
    (noise images, random token ids), far from any training data, so int8 activation ranges fit
    them badly: int8 models are checked at 25 % of the range here and by accuracy on real data in
    ``scripts/bench_compress.py`` (no loss measured there)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return {"checked": False, "note": "onnxruntime not installed; output not checked"}
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})
    with torch.no_grad():
        expected = wrapper(*args)
    diff = _diff(expected, tuple(torch.from_numpy(g) for g in got))
    scale = max([1.0] + [float(e.float().abs().max()) for e in expected])
    return {"checked": True, "max_abs_diff": diff, "ok": diff < tolerance * scale}


@torch.no_grad()
def _diff(expected, got) -> float:
    return max(float((e.float() - g.float()).abs().max()) for e, g in zip(expected, got))

"""Export of a ``generate`` bundle: the encoders and one decoder step as two models, and the
decoding loop written down (``generate.json`` + the README), since a loop with a data-dependent
length is best left to the caller.

Transformer decoder (``encoder`` then ``decoder_step``)::

    states, ignore = encoder(<inputs>, <masks>)            # memory tokens and which to ignore
    tokens = [[bos]]                                        # int64 (batch, 1)
    repeat up to max_len times:
        logp = decoder_step(tokens, states, ignore)         # (batch, vocab + 2) log-probabilities
        next = argmax(logp)                                 # greedy; or keep the k best (beam)
        tokens = concat(tokens, next); stop when every row has produced eos
    text = the tokenizer's tokens for the ids between bos and eos, joined by spaces

CTC decoder (``encoder`` only): ``log_probs (batch, frames, vocab)``; take the argmax of each
frame, merge repeats, drop the blank (id 0).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import torch
from torch import nn

from mmstudio.engine.export_package import preprocess_spec, tokenizer_json
from mmstudio.fileio import atomic_write, atomic_write_bytes, atomic_write_text

LOOP = __doc__.split("::", 1)[1].split("CTC decoder")[0].strip("\n")


class EncoderPart(nn.Module):
    """Inputs (one per input modality, then one mask each) -> ``(states, ignore)`` for the
    Transformer decoder, or ``log_probs`` for CTC."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model, self.modalities = model, tuple(model.modalities)

    def forward(self, *xs: torch.Tensor):
        n = len(self.modalities)
        inputs = {m: (x.float() if m == "audio" else x) for m, x in zip(self.modalities, xs[:n])}
        mask = dict(zip(self.modalities, xs[n:]))
        encoded = self.model.encode_sequences(inputs)
        dec = self.model.decoder
        if dec.kind == "ctc":
            return (dec.log_probs(encoded),)
        states, ignore = dec.memory(encoded, mask)
        return states, ignore


class StepPart(nn.Module):
    """``(tokens, states, ignore) -> log-probabilities of the next token``."""

    def __init__(self, decoder) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(self, tokens: torch.Tensor, states: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
        return self.decoder.step(tokens, states, ignore)


def example_inputs(bundle, batch: int = 2) -> tuple[torch.Tensor, ...]:
    pre, out = bundle.preprocessor, []
    for m in bundle.model.modalities:
        if m == "image":
            out.append(torch.randint(0, 256, (batch, pre.channels, pre.image.size, pre.image.size), dtype=torch.uint8))
        else:
            out.append(torch.randn(batch, *pre.audio_shape).to(torch.float16))
    return tuple(out + [torch.ones(batch, dtype=torch.bool) for _ in bundle.model.modalities])


def export_generator(bundle, format: str, folder: str, check: bool = True) -> dict[str, Any]:
    """Write ``encoder.<ext>`` (and ``decoder_step.<ext>``), ``generate.json``, ``tokenizer.json``,
    ``preprocess.json`` and a README into ``folder``; with ``check``, decode the example inputs
    with the exported files and with PyTorch and compare."""
    model = bundle.model.eval()
    dec = model.decoder
    names = [f"mask_{m}" for m in model.modalities]
    enc_in = list(model.modalities) + names
    enc_out = ["log_probs"] if dec.kind == "ctc" else ["states", "ignore"]
    args = example_inputs(bundle)
    ext = "onnx" if format == "onnx" else "pt2"
    batch = torch.export.Dim("batch", min=1, max=4096)
    files = [f"encoder.{ext}"]
    _write(
        EncoderPart(model).eval(),
        args,
        os.path.join(folder, files[0]),
        format,
        enc_in,
        enc_out,
        (tuple({0: batch} for _ in args),),
    )
    if dec.kind != "ctc":
        states, ignore = EncoderPart(model).eval()(*args)
        tokens = torch.full((2, 3), dec.bos, dtype=torch.long)
        length = torch.export.Dim("length", min=1, max=dec.max_len + 1)
        files.append(f"decoder_step.{ext}")
        _write(
            StepPart(dec).eval(),
            (tokens, states, ignore),
            os.path.join(folder, files[1]),
            format,
            ["tokens", "states", "ignore"],
            ["log_probs"],
            ({0: batch, 1: length}, {0: batch}, {0: batch}),
        )
    files += _write_side_files(bundle, folder, enc_in, enc_out)
    info: dict[str, Any] = {
        "format": format,
        "path": os.path.abspath(os.path.join(folder, files[0])),
        "package": os.path.abspath(folder),
        "inputs": enc_in,
        "outputs": enc_out,
        "files": files,
    }
    if check:
        from mmstudio.engine.export_check import check_generator

        info.update(check_generator(bundle, folder, format, args))
    return info


def _write(module: nn.Module, args, path: str, format: str, inputs: list[str], outputs: list[str], dynamic) -> None:
    if format == "pt2":
        program = torch.export.export(module, args, dynamic_shapes=dynamic)
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
        atomic_write_bytes(path, buffer.getbuffer())
        return

    def write_onnx(tmp: str) -> None:
        torch.onnx.export(
            module,
            args,
            tmp,
            input_names=inputs,
            output_names=outputs,
            dynamic_shapes=dynamic,
            dynamo=True,
            external_data=False,
            verbose=False,
        )

    atomic_write(path, write_onnx)


def generate_json(bundle) -> dict[str, Any]:
    dec = bundle.model.decoder
    info: dict[str, Any] = {"format": "mmstudio.generate", "version": 1, "decoder": dec.kind}
    if dec.kind == "ctc":
        info.update(blank=0, loop="argmax per frame, merge repeats, drop blank (id 0)")
    else:
        info.update(bos=dec.bos, eos=dec.eos, pad=0, max_len=dec.max_len, loop=LOOP.splitlines())
    return info


def _write_side_files(bundle, folder: str, inputs: list[str], outputs: list[str]) -> list[str]:
    spec = preprocess_spec(bundle, outputs)
    spec["inputs"] = {k: v for k, v in spec["inputs"].items() if k in inputs}
    side = {
        "generate.json": json.dumps(generate_json(bundle), indent=2),
        "tokenizer.json": json.dumps(tokenizer_json(bundle), ensure_ascii=False),
        "preprocess.json": json.dumps(spec, indent=2),
        "README.md": _readme(bundle),
    }
    for name, text in side.items():
        atomic_write_text(os.path.join(folder, name), text + "\n")
    return list(side)


def _readme(bundle) -> str:
    dec = bundle.model.decoder
    lines = [
        f"# {os.path.basename(os.path.normpath(bundle.path))}: an MMStudio text generator",
        "",
        f"Reads {', '.join(bundle.model.modalities)} and writes text ({dec.kind} decoder).",
        "Inputs are made as `preprocess.json` says; the tokens are `tokenizer.json`'s vocabulary.",
        "",
        "## The decoding loop",
        "",
        "```",
        LOOP if dec.kind != "ctc" else "log_probs = encoder(<inputs>, <masks>)  # argmax per frame, merge, drop 0",
        "```",
        "",
        "Ids `bos`/`eos`/`max_len` are in `generate.json`. A missing input is a False mask.",
        "",
    ]
    return "\n".join(lines)

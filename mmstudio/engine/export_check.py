"""Checks an exported generator by running its decoding loop (``export_generate.LOOP``) with the
exported files (onnxruntime for ONNX, ``torch.export.load`` for .pt2) and comparing the texts'
ids and the first step's log-probabilities with PyTorch's greedy decoding."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mmstudio.engine.beam import ctc_greedy


def _runner(path: str, format: str, names: list[str]) -> Callable[..., list[np.ndarray]] | None:
    """A function running the exported model on numpy arrays (None: onnxruntime missing)."""
    if format == "pt2":
        module = torch.export.load(path).module()

        def run_pt2(*arrays):
            out = module(*(torch.from_numpy(a) for a in arrays))
            return [o.detach().numpy() for o in (out if isinstance(out, tuple) else (out,))]

        return run_pt2
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return lambda *arrays: session.run(None, dict(zip(names, arrays)))


def check_generator(bundle, folder: str, format: str, args: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    """``{"checked", "same_ids", "max_abs_diff", "ok"}`` for the example inputs ``args``."""
    from mmstudio.engine.generation import decode_batch

    model, dec = bundle.model.eval(), bundle.model.decoder
    mods = list(model.modalities)
    ext = "onnx" if format == "onnx" else "pt2"
    encoder = _runner(os.path.join(folder, f"encoder.{ext}"), format, mods + [f"mask_{m}" for m in mods])
    if encoder is None:
        return {"checked": False, "note": "onnxruntime not installed; output not checked"}
    n = len(mods)
    inputs = {m: (x.float() if m == "audio" else x) for m, x in zip(mods, args[:n])}
    expected = [h[0][0] for h in decode_batch(model, inputs, dict(zip(mods, args[n:])), 1)]
    outs = encoder(*(a.numpy() for a in args))
    if dec.kind == "ctc":
        got = [ids for ids, _ in ctc_greedy(torch.from_numpy(outs[0]))]
        with torch.no_grad():
            ref = dec.log_probs(model.encode_sequences(inputs)).numpy()
        diff = float(np.abs(ref - outs[0]).max())
    else:
        step = _runner(os.path.join(folder, f"decoder_step.{ext}"), format, ["tokens", "states", "ignore"])
        assert step is not None
        got, diff = _greedy_loop(step, outs[0], outs[1], dec, model, inputs, dict(zip(mods, args[n:])))
    return {"checked": True, "same_ids": got == expected, "max_abs_diff": diff, "ok": got == expected and diff < 1e-3}


def _greedy_loop(step, states, ignore, dec, model, inputs, mask) -> tuple[list[list[int]], float]:
    """The documented loop, with the exported step; also the first step's largest difference."""
    tokens = np.full((states.shape[0], 1), dec.bos, dtype=np.int64)
    done = np.zeros(states.shape[0], dtype=bool)
    diff = 0.0
    for t in range(dec.max_len):
        logp = step(tokens, states, ignore)[0]
        if t == 0:
            with torch.no_grad():
                s, i = dec.memory(model.encode_sequences(inputs), mask)
                ref = dec.step(torch.from_numpy(tokens), s, i).numpy()
            finite = np.isfinite(ref)
            diff = float(np.abs(ref[finite] - logp[finite]).max())
        nxt = np.where(done, dec.eos, logp.argmax(-1))
        tokens = np.concatenate([tokens, nxt[:, None]], 1)
        done |= nxt == dec.eos
        if done.all():
            break
    rows = [list(map(int, r[1:])) for r in tokens]
    return [r[: r.index(dec.eos)] if dec.eos in r else r for r in rows], diff

"""``train(run)``: the training loop as a generator of events (DESIGN.md, "The flow of one run").

Read top to bottom: prepare data (decoded once into the cache), build the model, then epochs of
steps. It yields a :class:`StepLogged` about every ``log_every_s`` seconds, so pause and stop
(:class:`Control`) act within a second; it calls ``.item()`` only when it logs.
"""
from __future__ import annotations

import os
import random
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import torch

from mmstudio.config import RunConfig
from mmstudio.engine import checkpoint as ckpt
from mmstudio.engine import distributed as ddp
from mmstudio.engine.autobatch import probe_batch_size
from mmstudio.engine.bundle import atomic_dir, update_metrics
from mmstudio.engine.cache import prepare
from mmstudio.engine.data import (
    build_tokenizer,
    choose_channels,
    choose_modalities,
    load_dataset,
    training_items,
)
from mmstudio.engine.devices import (
    autocast_factory,
    cpu_threads,
    out_of_memory,
    pick_device,
    pick_precision,
)
from mmstudio.engine.evaluation import quick_scores
from mmstudio.engine.events import (
    CheckpointSaved,
    Control,
    EpochDone,
    Event,
    Paused,
    Resumed,
    RunFinished,
    RunResult,
    RunStarted,
    StepLogged,
)
from mmstudio.engine.losses import classify_loss, info_nce, l1_penalty
from mmstudio.engine.model import ModelShape, MultimodalModel, count_parameters
from mmstudio.engine.optim import (
    class_weights,
    make_optimizer,
    make_scheduler,
    modality_dropout,
)
from mmstudio.engine.preprocess import Preprocessor, augment_images
from mmstudio.engine.rules import require
from mmstudio.engine.runlog import headline, recorded

#: Decoded training inputs smaller than this are kept on the GPU for the whole run.
GPU_CACHE_BYTES = 4 << 30


def train(run: RunConfig, out_dir: str, control: Control | None = None, resume: bool = False,
          dataset: Any = None) -> Generator[Event, None, RunResult]:
    """Train ``run``, writing checkpoints and the final bundle under ``out_dir``.

    ``resume=True`` continues from ``out_dir/checkpoints/last`` when there is one. ``dataset`` may
    pass an already opened :class:`mmstudio.data.Dataset` (else ``run.dataset`` is opened).
    Under ``torchrun`` the processes train one model together (:mod:`.distributed`); only rank 0
    writes files and yields events, and records them in ``out_dir`` for the runs list
    (:mod:`mmstudio.engine.runlog`). Running out of memory raises
    :class:`~mmstudio.engine.devices.OutOfMemory` with advice; the last checkpoint is kept.
    Every rule about the run (:func:`mmstudio.engine.rules.check`) is checked first: a run that
    cannot train raises :class:`~mmstudio.engine.rules.RunProblems` before any file is decoded or
    folder created.
    """
    require(run)  # names, options and sizes: before the dataset is even scanned
    dataset = load_dataset(dataset if dataset is not None else run.dataset)
    require(run, dataset)
    with ddp.session(pick_device(run.train.device)) as (dist, device):
        events = _with_advice(_train(run, out_dir, control, resume, dataset, dist, device), run, out_dir)
        return (yield from (recorded(events, out_dir) if dist.main else ddp.quiet(events)))


def _with_advice(events: Generator, run: RunConfig, out_dir: str) -> Generator:
    """``events``, with running out of memory turned into an error that says what to change."""
    try:
        return (yield from events)
    except (torch.OutOfMemoryError, MemoryError) as exc:
        raise out_of_memory(exc, run, ckpt.find_checkpoint(out_dir)) from exc


def _train(run: RunConfig, out_dir: str, control: Control | None, resume: bool, dataset: Any,
           dist: ddp.Context, device: torch.device) -> Generator[Event, None, RunResult]:
    control = control or Control()
    t_start = time.monotonic()
    tr, spec = run.train, run.model
    _seed_everything(tr.seed)
    if tr.num_threads or device.type == "cpu":
        torch.set_num_threads(cpu_threads(tr.num_threads))
    precision = pick_precision(tr.precision, device)
    autocast = autocast_factory(precision, device)
    os.makedirs(out_dir, exist_ok=True)
    if dist.main:
        run.save(os.path.join(out_dir, "run.toml"))

    # ---- data ------------------------------------------------------------------------------
    dataset = load_dataset(dataset if dataset is not None else run.dataset)
    modalities = choose_modalities(spec, dataset)
    train_items, val_items = training_items(dataset, tr.val_split, tr.seed)
    if not train_items:
        raise ValueError(f"{dataset.spec.path}: no items in the train split")
    class_names = dataset.class_names if "classify" in spec.task else []
    last = ckpt.find_checkpoint(out_dir) if resume else None
    ddp.same_everywhere(dist, last is not None, f"{out_dir}: only some ranks found a checkpoint "
                        "to resume from; put --out on storage every node shares")
    tokenizer = None
    if "text" in modalities:
        tokenizer = _checkpoint_tokenizer(last) or build_tokenizer(spec, train_items)
    channels = choose_channels(spec, train_items) if "image" in modalities else 1
    pre = Preprocessor.from_model_spec(spec, modalities, channels, tokenizer)
    index = {name: i for i, name in enumerate(class_names)}
    stopped = False
    try:
        train_feats = yield from _stoppable(prepare(train_items, pre, index), control)
        val_feats = (yield from _stoppable(prepare(val_items, pre, index), control)) \
            if val_items else None
    except _Stopped:
        stopped = True
    if ddp.any_of(dist, stopped)[0]:  # every rank stops here together
        seconds = round(time.monotonic() - t_start, 3)
        yield RunFinished("", "stopped", 0, 0, seconds)
        return RunResult("", os.path.abspath(out_dir), "stopped", 0, 0, seconds, {}, [])
    if device.type == "cuda" and train_feats.nbytes() < GPU_CACHE_BYTES:
        train_feats = train_feats.to(device)  # decoded inputs live on the GPU: no copies per step
    pin = device.type == "cuda" and train_feats.labels.device.type == "cpu"

    # ---- model and optimiser ---------------------------------------------------------------
    shape = ModelShape(modalities, len(class_names), channels, len(tokenizer) if tokenizer else 2,
                       *pre.audio_shape, pre.mean, pre.std)
    torch.manual_seed(tr.seed)
    model = MultimodalModel(spec, shape, dropout=tr.dropout).to(device)
    if device.type == "cuda" and "image" in modalities:
        model = model.to(memory_format=torch.channels_last)
    step_model = ddp.wrap(model, dist, device)
    step_model = torch.compile(step_model) if tr.compile else step_model
    n = len(train_feats)
    batch = min(tr.batch_size, n)  # the global batch: each rank takes its share (distributed.py)
    if tr.auto_batch and device.type == "cuda" and not dist.active:  # largest that fits: a probe
        batch = probe_batch_size(model, train_feats, lambda idx: _loss(
            step_model, model, train_feats, idx, pre, tr, spec, device, autocast, None, pin),
            device, start=batch)
    steps_per_epoch = ddp.steps_per_epoch(n, batch, dist)
    optimizer = make_optimizer(model, tr)
    scheduler = make_scheduler(optimizer, tr, steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    class_weight = class_weights(train_feats.labels, len(class_names), device) \
        if spec.class_weights and class_names else None
    state: dict[str, Any] = {"epoch": 0, "step": 0, "best": None, "best_epoch": 0, "bad": 0,
                             "history": []}
    if last:
        state = ckpt.load_checkpoint(last, model, optimizer, scheduler)
    yield RunStarted(os.path.abspath(out_dir), str(device), precision, modalities,
                     tuple(class_names), n, len(val_items), count_parameters(model), tr.epochs,
                     steps_per_epoch, state["epoch"], batch, state["step"])

    # ---- epochs ------------------------------------------------------------------------------
    reason = "completed"

    def save(kind: str) -> str:
        """Write checkpoint ``kind`` ("last" or "best") with the loop state as it is now."""
        return ckpt.save_checkpoint(os.path.join(out_dir, "checkpoints", kind), model, run, shape,
                                    class_names, pre, optimizer, scheduler, state)

    resume_batch = state.get("batch", 0)  # batches of the next epoch done before a mid-epoch stop
    rng = state.pop("rng", {})
    for epoch in range(state["epoch"] + 1, tr.epochs + 1):
        first_batch, resume_batch = resume_batch, 0
        # the same batches and dropout whether resumed or not
        _seed_everything(tr.seed * 1000 + epoch + ddp.seed_offset(dist))
        if first_batch:  # resumed mid-epoch: the generators as they were at the stop
            ckpt.restore_rng(rng)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(tr.seed * 1000 + epoch))
        model.train()
        t_epoch = t_log = time.monotonic()
        loss_sum, loss_count, seen, logged_seen = torch.zeros((), device=device), 0, 0, 0
        for b in range(first_batch, steps_per_epoch):
            if control.paused:
                yield Paused(state["step"])
                while not control.wait_while_paused(0.5):
                    pass
                yield Resumed(state["step"])
            stop, log_due = ddp.any_of(dist, control.stopped,
                                       time.monotonic() - t_log >= tr.log_every_s)
            if stop:
                reason = "stopped"
                break
            idx = ddp.shard(order, b, batch, dist).to(train_feats.labels.device)
            loss = _step(step_model, model, train_feats, idx, pre, tr, spec, device, autocast,
                         scaler, optimizer, class_weight, pin)
            scheduler.step()
            state["step"] += 1
            seen += idx.numel() * dist.world
            loss_sum += loss.detach()
            loss_count += 1
            now = time.monotonic()
            if log_due or b == steps_per_epoch - 1:
                yield StepLogged(epoch, state["step"], round(ddp.mean(dist, loss).item(), 6),
                                 optimizer.param_groups[0]["lr"],
                                 round((seen - logged_seen) / max(now - t_log, 1e-9), 1),
                                 _gpu_memory_mb(device))
                t_log, logged_seen = now, seen
            if tr.max_steps and state["step"] >= tr.max_steps:
                reason = "max_steps"
                break
        if reason == "stopped":
            if loss_count and dist.main:  # mid-epoch: keep the steps done, resume right after them
                state["batch"] = first_batch + loss_count
                yield CheckpointSaved(save("last"), "last", state["epoch"])
            break
        state["batch"] = 0
        seconds = time.monotonic() - t_epoch
        train_loss = round(float(ddp.mean(dist, loss_sum)) / max(1, loss_count), 6)
        scores = ddp.on_main(dist, lambda: quick_scores(model, val_feats, device, 256, autocast)) \
            if val_feats else {}
        score = _monitor(scores, train_loss)
        best = state["best"] is None or score > state["best"]
        if best:
            state.update(best=score, best_epoch=epoch, bad=0)
        else:
            state["bad"] += 1
        state["epoch"] = epoch
        state["history"].append({"epoch": epoch, "train_loss": train_loss, **scores,
                                 "seconds": round(seconds, 3)})
        yield EpochDone(epoch, state["step"], train_loss, scores, round(seconds, 3),
                        round(seen / max(seconds, 1e-9), 1), best, model.modality_weights() or {})
        if dist.main:
            yield CheckpointSaved(save("last"), "last", epoch)
        if best and val_feats is not None and dist.main:
            yield CheckpointSaved(save("best"), "best", epoch)
        if reason != "completed":
            break
        if tr.early_stopping and state["bad"] >= tr.early_stopping:
            reason = "early_stopping"
            break

    # ---- the bundle ---------------------------------------------------------------------------
    if not dist.main:  # rank 0 writes the bundle; the others wait for it, then end
        ddp.barrier(dist)
        return RunResult(os.path.join(out_dir, "bundle"), os.path.abspath(out_dir), reason,
                         state["epoch"], state["step"], round(time.monotonic() - t_start, 3), {},
                         state["history"])
    source = ckpt.find_checkpoint(out_dir, "best") or ckpt.find_checkpoint(out_dir, "last")
    bundle = os.path.join(out_dir, "bundle")
    if source is None:  # stopped before the first step: save what there is
        save("last")
        source = ckpt.find_checkpoint(out_dir, "last")
    atomic_dir(bundle, lambda tmp: _copy_bundle(source, tmp))
    metrics = {"best_epoch": state["best_epoch"], "epochs": state["epoch"], "steps": state["step"],
               "train_seconds": round(time.monotonic() - t_start, 3), "reason": reason,
               "history": state["history"]}
    if state["history"]:
        best_row = state["history"][max(0, state["best_epoch"] - 1)] \
            if state["best_epoch"] <= len(state["history"]) else state["history"][-1]
        metrics["val"] = {k: v for k, v in best_row.items() if k not in ("epoch", "seconds")}
    if model.modality_weights():
        metrics["modality_weights"] = model.modality_weights()
    update_metrics(bundle, metrics)
    ddp.barrier(dist)
    seconds = round(time.monotonic() - t_start, 3)
    yield RunFinished(bundle, reason, state["epoch"], state["step"], seconds,
                      {k: v for k, v in metrics.items() if k != "history"})
    return RunResult(bundle, os.path.abspath(out_dir), reason, state["epoch"], state["step"],
                     seconds, metrics, state["history"])


def _step(step_model, model, feats, idx, pre, tr, spec, device, autocast, scaler, optimizer,
          class_weight, pin: bool = False) -> torch.Tensor:
    loss = _loss(step_model, model, feats, idx, pre, tr, spec, device, autocast, class_weight, pin)
    if tr.l1:
        loss = loss + tr.l1 * l1_penalty(model)
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    if tr.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), tr.grad_clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return loss


def _loss(step_model, model, feats, idx, pre, tr, spec, device, autocast, class_weight,
          pin: bool = False) -> torch.Tensor:
    """The training loss of one batch (inputs moved to ``device``, augmented there)."""
    inputs, mask, labels = feats.batch(idx)
    if pin:  # a cache too large for the GPU: page-locked batches copy asynchronously
        inputs, mask, labels = _pinned(inputs), _pinned(mask), labels.pin_memory()
    inputs = {m: x.to(device, non_blocking=True) for m, x in inputs.items()}
    mask = {m: x.to(device, non_blocking=True) for m, x in mask.items()}
    labels = labels.to(device, non_blocking=True)
    if "image" in inputs:  # after the copy: on CUDA the whole batch is augmented on the GPU
        inputs["image"] = _augment(inputs["image"], pre)
    if tr.modality_dropout > 0 and len(mask) > 1:
        mask = modality_dropout(mask, tr.modality_dropout)
    with (autocast() if autocast else _Null()):
        out = step_model(inputs, mask)
        loss = torch.zeros((), device=device)
        if "logits" in out:
            loss = loss + classify_loss(out["logits"], labels, class_weight, spec.label_smoothing)
        if "embeddings" in out:
            weight = spec.align_weight if "logits" in out else 1.0
            loss = loss + weight * info_nce(out["embeddings"], mask, model.logit_scale)
    return loss


def _pinned(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {m: x.pin_memory() for m, x in tensors.items()}


def _augment(images: torch.Tensor, pre: Preprocessor) -> torch.Tensor:
    return augment_images(images) if pre.image.augment else images


def _gpu_memory_mb(device: torch.device) -> float:
    """Peak CUDA memory allocated since the previous call, in MiB (0 off CUDA)."""
    if device.type != "cuda":
        return 0.0
    peak = torch.cuda.max_memory_allocated(device) / 2**20
    torch.cuda.reset_peak_memory_stats(device)
    return round(peak, 1)


def _monitor(scores: dict[str, float], train_loss: float) -> float:
    """Higher is better: the validation headline metric, else -train loss."""
    key, value = headline(scores)
    return value if key and value is not None else -train_loss


def _checkpoint_tokenizer(path: str | None):
    if not path:
        return None
    from mmstudio.engine.tokenizer import Tokenizer

    tok = ckpt.checkpoint_meta(path).get("preprocessing", {}).get("tokenizer")
    return Tokenizer.from_dict(tok) if tok else None


def _copy_bundle(source: str, tmp: str) -> None:
    import shutil

    for name in ("model.safetensors", "bundle.json"):
        shutil.copy2(os.path.join(source, name), os.path.join(tmp, name))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


class _Stopped(Exception):
    """Stop was pressed while inputs were being decoded."""


def _stoppable(gen, control: Control):
    """``yield from gen``, closing it early (and raising :class:`_Stopped`) on stop."""
    while True:
        if control.stopped:
            gen.close()
            raise _Stopped
        try:
            event = next(gen)
        except StopIteration as stop:
            return stop.value
        yield event


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

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
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from mmstudio.config import RunConfig
from mmstudio.engine import checkpoint as ckpt
from mmstudio.engine import distributed as ddp
from mmstudio.engine.autobatch import probe_batch_size
from mmstudio.engine.autoconfig import resolve as resolve_auto
from mmstudio.engine.cache import prepare
from mmstudio.engine.data import choose_modalities, load_dataset, training_items
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
)
from mmstudio.engine.features import encode_frozen, use_encoded
from mmstudio.engine.model import MultimodalModel, count_parameters, init_text_weights
from mmstudio.engine.model_catalog import model_shape
from mmstudio.engine.optim import class_weights, make_optimizer, make_scheduler
from mmstudio.engine.rules import require
from mmstudio.engine.run_session import Prepared, Session, finish
from mmstudio.engine.runlog import headline, recorded
from mmstudio.engine.scalars import ScalarLog
from mmstudio.engine.steps import EpochMeter, LoopState, StepContext, batch_loss, train_step
from mmstudio.engine.trainclock import TrainClock

#: Decoded training inputs smaller than this are kept on the GPU for the whole run.
GPU_CACHE_BYTES = 4 << 30


def train(
    run: RunConfig, out_dir: str, control: Control | None = None, resume: bool = False, dataset: Any = None
) -> Generator[Event, None, RunResult]:
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
    device_type = pick_device(run.train.device).type
    run, _ = resolve_auto(run, dataset, device_type)  # fields left to the data, chosen once
    require(run, dataset)
    with ddp.session(pick_device(run.train.device)) as (dist, device):
        events = _with_advice(_train(run, out_dir, control, resume, dataset, dist, device), run, out_dir)
        if not dist.main:
            return (yield from ddp.quiet(events))
        # metrics.csv and TensorBoard scalars beside the run record (scalars imports torch)
        return (yield from recorded(events, out_dir, ScalarLog))


def _with_advice(
    events: Generator[Event, None, RunResult], run: RunConfig, out_dir: str
) -> Generator[Event, None, RunResult]:
    """``events``, with running out of memory turned into an error that says what to change."""
    try:
        return (yield from events)
    except (torch.OutOfMemoryError, MemoryError) as exc:
        raise out_of_memory(exc, run, ckpt.find_checkpoint(out_dir)) from exc


def _train(
    run: RunConfig,
    out_dir: str,
    control: Control | None,
    resume: bool,
    dataset: Any,
    dist: ddp.Context,
    device: torch.device,
) -> Generator[Event, None, RunResult]:
    """The phases in order: prepare, build, then epochs (steps, validate, checkpoint), finish."""
    control = control or Control()
    clock = TrainClock()  # decoding counts; pauses do not; a resumed run adds its earlier seconds
    prep = yield from _prepare(run, out_dir, control, resume, dataset, dist, device)
    if prep is None:  # stopped while decoding: every rank stops here together
        yield RunFinished("", "stopped", 0, 0, clock.seconds)
        return RunResult("", os.path.abspath(out_dir), "stopped", 0, 0, clock.seconds, {}, [])
    session = _build(run, out_dir, prep, dist, device, clock)
    state = session.state
    yield RunStarted(
        os.path.abspath(out_dir),
        str(device),
        pick_precision(run.train.precision, device),
        prep.modalities,
        tuple(prep.class_names),
        len(prep.train_feats),
        prep.val_items,
        count_parameters(session.ctx.model),
        run.train.epochs,
        session.steps_per_epoch,
        state.epoch,
        session.batch,
        state.step,
        clock.seconds,
    )
    reason = "completed"
    for epoch in range(state.epoch + 1, run.train.epochs + 1):
        reason, meter = yield from _epoch(session, epoch, control)
        if reason == "stopped":
            break
        yield from _validate(session, epoch, meter)
        if reason != "completed":
            break
        if run.train.early_stopping and state.bad >= run.train.early_stopping:
            reason = "early_stopping"
            break
    return (yield from finish(session, reason))


def _prepare(
    run: RunConfig, out_dir: str, control: Control, resume: bool, dataset: Any, dist: ddp.Context, device: torch.device
) -> Generator[Event, None, Prepared | None]:
    """Seed, write run.toml, pick the items, decode them once into the cache (None: stopped)."""
    tr, spec = run.train, run.model
    _seed_everything(tr.seed)
    if tr.num_threads or device.type == "cpu":
        torch.set_num_threads(cpu_threads(tr.num_threads))
    os.makedirs(out_dir, exist_ok=True)
    if dist.main:
        run.save(os.path.join(out_dir, "run.toml"))
    dataset = load_dataset(dataset if dataset is not None else run.dataset)
    modalities = choose_modalities(spec, dataset)
    train_items, val_items = training_items(dataset, tr.val_split, tr.seed)
    if not train_items:
        raise ValueError(f"{dataset.spec.path}: no items in the train split")
    class_names = dataset.class_names if "classify" in spec.task else []
    last = ckpt.find_checkpoint(out_dir) if resume else None
    ddp.same_everywhere(
        dist,
        last is not None,
        f"{out_dir}: only some ranks found a checkpoint to resume from; put --out on storage every node shares",
    )
    kept = ckpt.checkpoint_tokenizer(last) if "text" in modalities else None  # a resumed run's own
    pre, shape = model_shape(spec, modalities, class_names, train_items, kept)
    index = {name: i for i, name in enumerate(class_names)}
    stopped = False
    try:
        train_feats = yield from _stoppable(prepare(train_items, pre, index), control)
        val_feats = (yield from _stoppable(prepare(val_items, pre, index), control)) if val_items else None
        splits = [(train_items, train_feats)] + ([(val_items, val_feats)] if val_feats is not None else [])
        encoded = yield from _stoppable(encode_frozen(spec, pre, splits, device), control)  # frozen backbones
    except _Stopped:
        stopped = True
    if ddp.any_of(dist, stopped)[0]:
        return None
    if device.type == "cuda" and train_feats.nbytes() < GPU_CACHE_BYTES:
        train_feats = train_feats.to(device)  # decoded inputs live on the GPU: no copies per step
    return Prepared(modalities, class_names, pre, shape, train_feats, val_feats, len(val_items), last, tuple(encoded))


def _build(
    run: RunConfig, out_dir: str, prep: Prepared, dist: ddp.Context, device: torch.device, clock: TrainClock
) -> Session:
    """The model, its optimiser and schedule, the batch size; the loop state (resumed or new)."""
    tr, spec = run.train, run.model
    precision = pick_precision(tr.precision, device)
    torch.manual_seed(tr.seed)
    model = MultimodalModel(spec, prep.shape, dropout=tr.dropout)
    init_text_weights(model, prep.pre.tokenizer)
    use_encoded(model, prep.encoded)  # frozen backbones: their cached outputs go to the projection
    model = model.to(device)
    if device.type == "cuda" and "image" in prep.modalities:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # not in the stubs
    step_model = ddp.wrap(model, dist, device)
    if tr.compile:
        step_model = cast(nn.Module, torch.compile(step_model))
    feats = prep.train_feats
    pin = device.type == "cuda" and feats.labels.device.type == "cpu"
    ctx = StepContext(
        step_model, model, feats, prep.pre, tr, spec, device, autocast_factory(precision, device), None, pin
    )
    n = len(feats)
    batch = min(tr.batch_size, n)  # the global batch: each rank takes its share (distributed.py)
    if tr.auto_batch and device.type == "cuda" and not dist.active:  # largest that fits: a probe
        batch = probe_batch_size(model, feats, lambda idx: batch_loss(ctx, idx), device, start=batch)
    steps_per_epoch = ddp.steps_per_epoch(n, batch, dist)
    optimizer = make_optimizer(model, tr)
    scheduler = make_scheduler(optimizer, tr, steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    if spec.class_weights and prep.class_names:
        ctx.class_weight = class_weights(feats.labels, len(prep.class_names), device)
    state = (
        LoopState.from_dict(ckpt.load_checkpoint(prep.last, model, optimizer, scheduler)) if prep.last else LoopState()
    )
    clock.before = state.seconds  # a resumed run: its earlier sessions' training seconds
    return Session(run, out_dir, dist, prep, ctx, optimizer, scheduler, scaler, batch, steps_per_epoch, state, clock)


def _epoch(s: Session, epoch: int, control: Control) -> Generator[Event, None, tuple[str, EpochMeter]]:
    """The steps of one epoch: returns why it ended ("completed", "stopped", "max_steps") and its
    figures. A stop mid-epoch saves a checkpoint that resumes right after the steps done."""
    tr, dist, state = s.run.train, s.dist, s.state
    first_batch, state.batches_done = state.batches_done, 0
    # the same batches and dropout whether resumed or not
    _seed_everything(tr.seed * 1000 + epoch + ddp.seed_offset(dist))
    if first_batch:  # resumed mid-epoch: the generators as they were at the stop
        ckpt.restore_rng(state.rng)
    state.rng = {}
    n = len(s.ctx.feats)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(tr.seed * 1000 + epoch))
    s.ctx.model.train()
    meter = EpochMeter(time.monotonic(), torch.zeros((), device=s.ctx.device))
    reason = "completed"
    for b in range(first_batch, s.steps_per_epoch):
        if control.paused:
            yield from _pause(s, control, meter)
        stop, log_due = ddp.any_of(dist, control.stopped, time.monotonic() - meter.t_log >= tr.log_every_s)
        if stop:
            reason = "stopped"
            break
        idx = ddp.shard(order, b, s.batch, dist).to(s.ctx.feats.labels.device)
        loss = _step(s.ctx, idx, s.optimizer, s.scaler)
        s.scheduler.step()
        state.step += 1
        meter.add(loss, idx.numel() * dist.world)
        if log_due or b == s.steps_per_epoch - 1:
            yield meter.logged(epoch, state.step, ddp.mean(dist, loss), s.optimizer, s.ctx.device, s.clock.seconds)
        if tr.max_steps and state.step >= tr.max_steps:
            reason = "max_steps"
            break
    if reason == "stopped" and meter.count and dist.main:  # keep the steps done, resume after them
        state.batches_done = first_batch + meter.count
        yield CheckpointSaved(s.save("last"), "last", state.epoch)
    return reason, meter


def _pause(s: Session, control: Control, meter: EpochMeter) -> Generator[Event, None, None]:
    """Wait while paused; the pause counts neither in the run's seconds nor the epoch's."""
    s.clock.pause()
    paused_at = time.monotonic()  # the meter's own clock (its pace is samples per second)
    yield Paused(s.state.step)
    while not control.wait_while_paused(0.5):
        pass
    s.clock.resume()
    meter.skip(time.monotonic() - paused_at)
    yield Resumed(s.state.step)


def _validate(s: Session, epoch: int, meter: EpochMeter) -> Generator[Event, None, None]:
    """Score the epoch on the validation items, record it, save the last (and best) checkpoint."""
    dist, state, model = s.dist, s.state, s.ctx.model
    state.batches_done = 0
    seconds = time.monotonic() - meter.t_start
    train_loss = round(float(ddp.mean(dist, meter.loss_sum)) / max(1, meter.count), 6)
    val = s.prep.val_feats
    scores = ddp.on_main(dist, lambda: quick_scores(model, val, s.ctx.device, 256, s.ctx.autocast)) if val else {}
    best = state.record(epoch, _monitor(scores, train_loss))
    state.history.append({"epoch": epoch, "train_loss": train_loss, **scores, "seconds": round(seconds, 3)})
    yield EpochDone(
        epoch,
        state.step,
        train_loss,
        scores,
        round(seconds, 3),
        round(meter.seen / max(seconds, 1e-9), 1),
        best,
        model.modality_weights() or {},
    )
    if dist.main:
        yield CheckpointSaved(s.save("last"), "last", epoch)
    if best and val is not None and dist.main:
        yield CheckpointSaved(s.save("best"), "best", epoch)


#: One optimiser step (a module name, so tests can make it fail: see tests/engine/test_faults.py).
_step = train_step


def _monitor(scores: dict[str, float], train_loss: float) -> float:
    """Higher is better: the validation headline metric, else -train loss."""
    key, value = headline(scores)
    return value if key and value is not None else -train_loss


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
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

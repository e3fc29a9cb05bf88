"""What a run's phases share (:class:`Session`) and how a run ends (:func:`finish`): the best
(else last) checkpoint becomes the bundle, with the run's metrics and input ranges."""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import torch

from mmstudio.config import RunConfig
from mmstudio.engine import checkpoint as ckpt
from mmstudio.engine import distributed as ddp
from mmstudio.engine.bundle import atomic_dir, copy_bundle_files, set_input_stats, update_metrics
from mmstudio.engine.events import Event, RunFinished, RunResult
from mmstudio.engine.inputstats import compute as input_ranges
from mmstudio.engine.model import ModelShape
from mmstudio.engine.preprocess import Preprocessor
from mmstudio.engine.steps import LoopState, StepContext
from mmstudio.engine.trainclock import TrainClock


@dataclass
class Prepared:
    """The prepare phase's result: decoded inputs and what the data decided about the model."""

    modalities: tuple[str, ...]
    class_names: list[str]
    pre: Preprocessor
    shape: ModelShape
    train_feats: Any
    val_feats: Any
    val_items: int
    last: str | None  # the checkpoint to resume from
    encoded: tuple[str, ...] = ()  # modalities whose frozen backbone outputs are precomputed


@dataclass
class Session:
    """Everything the epochs share: the run, the model and its optimiser, the loop state."""

    run: RunConfig
    out_dir: str
    dist: ddp.Context
    prep: Prepared
    ctx: StepContext
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    batch: int
    steps_per_epoch: int
    state: LoopState
    clock: TrainClock  # the run's training seconds (pauses left out, earlier sessions in)

    def save(self, kind: str) -> str:
        """Write checkpoint ``kind`` ("last" or "best") with the loop state as it is now."""
        self.state.seconds = self.clock.seconds
        p = self.prep
        return ckpt.save_checkpoint(
            os.path.join(self.out_dir, "checkpoints", kind),
            self.ctx.model,
            self.run,
            p.shape,
            p.class_names,
            p.pre,
            self.optimizer,
            self.scheduler,
            self.state.to_dict(),
        )

    def result(self, bundle: str, reason: str, metrics: dict[str, Any]) -> RunResult:
        return RunResult(
            bundle,
            os.path.abspath(self.out_dir),
            reason,
            self.state.epoch,
            self.state.step,
            self.clock.seconds,
            metrics,
            self.state.history,
        )


def finish(s: Session, reason: str) -> Generator[Event, None, RunResult]:
    """Copy the best (else last) checkpoint into the bundle with the run's metrics (rank 0)."""
    out_dir, dist, state = s.out_dir, s.dist, s.state
    if not dist.main:  # rank 0 writes the bundle; the others wait for it, then end
        ddp.barrier(dist)
        return s.result(os.path.join(out_dir, "bundle"), reason, {})
    source = ckpt.find_checkpoint(out_dir, "best") or ckpt.find_checkpoint(out_dir, "last")
    bundle = os.path.join(out_dir, "bundle")
    if source is None:  # stopped before the first step: save what there is
        source = s.save("last")
    atomic_dir(bundle, lambda tmp: copy_bundle(source, tmp))
    metrics = run_metrics(s, reason)
    update_metrics(bundle, metrics)
    set_input_stats(bundle, input_ranges(s.ctx.feats.inputs, s.ctx.feats.mask))
    ddp.barrier(dist)
    result = s.result(bundle, reason, metrics)
    yield RunFinished(
        bundle, reason, state.epoch, state.step, result.seconds, {k: v for k, v in metrics.items() if k != "history"}
    )
    return result


def run_metrics(s: Session, reason: str) -> dict[str, Any]:
    """The bundle's metrics: the record of the run and the best epoch's validation scores."""
    state, model = s.state, s.ctx.model
    metrics: dict[str, Any] = {
        "best_epoch": state.best_epoch,
        "epochs": state.epoch,
        "steps": state.step,
        "train_seconds": s.clock.seconds,
        "reason": reason,
        "history": state.history,
    }
    if state.history:
        best_row = (
            state.history[max(0, state.best_epoch - 1)] if state.best_epoch <= len(state.history) else state.history[-1]
        )
        metrics["val"] = {k: v for k, v in best_row.items() if k not in ("epoch", "seconds")}
    if model.modality_weights():
        metrics["modality_weights"] = model.modality_weights()
    return metrics


def copy_bundle(source: str, tmp: str) -> None:
    copy_bundle_files(source, tmp)

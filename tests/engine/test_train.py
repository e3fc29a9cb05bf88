"""The training generator: it learns, speaks plain events, pauses/stops, resumes exactly."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import torch
from engine_helpers import drain, tiny_run

from mmstudio import engine
from mmstudio.engine import events as ev


def _plain(value) -> bool:
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def test_training_learns_and_reports(trained):
    events, result = trained["events"], trained["result"]
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("RunStarted") < kinds.index("StepLogged") < kinds.index("EpochDone")
    assert kinds[-1] == "RunFinished" and "CheckpointSaved" in kinds
    assert all(_plain(dataclasses.asdict(e)) for e in events)
    assert all(dataclasses.is_dataclass(e) and e.__dataclass_params__.frozen for e in events)
    metrics = engine.evaluate(result.bundle, str(trained["manifest"]), split="test")
    assert metrics["accuracy"] >= 0.9  # chance is 1/3
    assert set(metrics["ablation"]) == {"without_image", "without_text", "without_audio"}
    assert len(metrics["confusion"]) == 3 and "macro_f1" in metrics
    assert set(metrics["retrieval"]) >= {"audio->image", "image->audio", "text->image"}
    assert metrics["retrieval"]["image->text"]["label"]["recall@1"] >= 0.9


def test_later_runs_reuse_decoded_inputs(trained, tmp_path):
    from mmstudio.engine.cache import STORE

    STORE.clear()
    run = trained["run"].replace(train=trained["run"].train.replace(epochs=1))
    first, _ = drain(engine.train(run, str(tmp_path / "first")))
    assert [e for e in first if isinstance(e, ev.DataPrepared)], "the first run decodes files"
    again, _ = drain(engine.train(run, str(tmp_path / "again")))
    assert not [e for e in again if isinstance(e, ev.DataPrepared)]  # cached in the process


def test_same_seed_same_result_on_cpu(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("image", "audio"), fusion="gated", train={"epochs": 2})
    losses = []
    for name in ("a", "b"):
        events, _ = drain(engine.train(run, str(tmp_path / name)))
        losses.append([e.train_loss for e in events if isinstance(e, ev.EpochDone)])
    assert losses[0] == losses[1]


def test_stop_then_resume_matches_uninterrupted(synth_manifest, tmp_path):
    run = tiny_run(
        synth_manifest, modalities=("image", "text"), fusion="attention", train={"epochs": 4, "modality_dropout": 0.2}
    )
    _, full = drain(engine.train(run, str(tmp_path / "full")))

    control = engine.Control()
    gen = engine.train(run, str(tmp_path / "cut"), control=control)
    events = []
    for event in gen:
        events.append(event)
        if isinstance(event, ev.EpochDone) and event.epoch == 2:
            control.stop()
    finished = [e for e in events if isinstance(e, ev.RunFinished)][0]
    assert finished.reason == "stopped" and finished.epochs == 2

    events, resumed = drain(engine.train(run, str(tmp_path / "cut"), resume=True))
    assert [e for e in events if isinstance(e, ev.RunStarted)][0].start_epoch == 2
    assert resumed.epochs == 4 and resumed.reason == "completed"
    a = engine.load_bundle(full.bundle).model.state_dict()
    b = engine.load_bundle(resumed.bundle).model.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


@pytest.mark.fault(
    case="Stop in the middle of an epoch (the GUI's Stop, Ctrl+C)",
    how="`Control.stop()` a few steps into epoch 2 (in the window: "
    "`tests/gui/test_model_train.py::test_stop_mid_epoch_keeps_checkpoint_and_resumes`)",
    behaviour="No step is lost: the checkpoint records the batches done in the unfinished epoch and the "
    "random generators; resume continues at the next batch (no batch trained twice) and ends "
    "with the same weights as an uninterrupted run (within 1e-6). The runs list shows the run "
    'as "stopped · resumable", also after a restart of the app.',
)
def test_stop_mid_epoch_then_resume_matches_uninterrupted(synth_manifest, tmp_path):
    """A stop between two steps keeps those steps: the resumed run continues at the next batch
    of the same epoch and ends with the weights an uninterrupted run has."""
    run = tiny_run(
        synth_manifest,
        modalities=("image", "audio"),
        fusion="gated",
        train={"epochs": 3, "modality_dropout": 0.2, "log_every_s": 0.0},
    )
    _, full = drain(engine.train(run, str(tmp_path / "full")))

    control = engine.Control()
    events = []
    for event in engine.train(run, str(tmp_path / "cut"), control=control):
        events.append(event)
        if isinstance(event, ev.StepLogged) and event.epoch == 2 and event.step % 2 == 0 and not control.stopped:
            control.stop()  # a few steps into epoch 2
    stopped_at = [e for e in events if isinstance(e, ev.StepLogged)][-1].step
    finished = [e for e in events if isinstance(e, ev.RunFinished)][0]
    assert finished.reason == "stopped" and finished.epochs == 1 and finished.steps == stopped_at
    assert not [e for e in events if isinstance(e, ev.EpochDone) and e.epoch == 2]

    events, resumed = drain(engine.train(run, str(tmp_path / "cut"), resume=True))
    started = [e for e in events if isinstance(e, ev.RunStarted)][0]
    assert started.start_epoch == 1 and started.start_step == stopped_at
    first = [e for e in events if isinstance(e, ev.StepLogged)][0]
    assert first.step == stopped_at + 1, "no batch is trained twice"
    assert resumed.steps == full.steps and resumed.reason == "completed"
    a = engine.load_bundle(full.bundle).model.state_dict()
    b = engine.load_bundle(resumed.bundle).model.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_pause_blocks_until_resumed(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("audio",), train={"epochs": 1, "log_every_s": 0.0})
    control = engine.Control()
    gen = engine.train(run, str(tmp_path / "p"), control=control)
    seen = []
    for event in gen:
        seen.append(type(event).__name__)
        if isinstance(event, ev.StepLogged) and "Paused" not in seen:
            control.pause()
            threading.Timer(0.3, control.resume).start()
    assert seen.index("Paused") < seen.index("Resumed") < seen.index("RunFinished")


def test_max_steps_stops_mid_epoch(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("image",), train={"epochs": 50, "max_steps": 3})
    _, result = drain(engine.train(run, str(tmp_path / "m")))
    assert result.reason == "max_steps" and result.steps == 3


def test_early_stopping_stops_when_validation_stalls(synth_manifest, tmp_path):
    run = tiny_run(synth_manifest, modalities=("text",), train={"epochs": 30, "early_stopping": 2})
    _, result = drain(engine.train(run, str(tmp_path / "e")))
    assert result.reason == "early_stopping" and result.epochs < 30
    best = result.metrics["best_epoch"]
    assert engine.load_bundle(result.bundle).metrics["best_epoch"] == best
    # it stops exactly `patience` epochs after the best one, none of which beat it
    assert result.epochs == best + 2 and len(result.history) == best + 2
    best_accuracy = result.history[best - 1]["accuracy"]
    assert all(h["accuracy"] <= best_accuracy for h in result.history[best:])
    assert all(h["accuracy"] < best_accuracy for h in result.history[: best - 1])  # a new best each time


def test_suggest_run(synth_manifest):
    run = engine.suggest_run(str(synth_manifest), device="cpu")
    assert run.model.task == "classify" and run.model.image.size == 28
    assert set(run.model.modalities) == {"image", "text", "audio"}


def _matrix_weight_sum(bundle: str) -> float:
    """Sum of |w| over the bundle's matrices and kernels (what L1 penalises), read from the file."""
    from safetensors.torch import load_file

    tensors = load_file(f"{bundle}/model.safetensors")
    return float(sum(t.abs().sum() for t in tensors.values() if t.dim() > 1 and t.is_floating_point()))


def test_l1_shrinks_the_weights(synth_manifest, tmp_path):
    sums = {}
    for l1 in (0.0, 0.01):
        run = tiny_run(
            synth_manifest, modalities=("text",), train={"epochs": 6, "l1": l1, "lr": 0.01, "val_split": "none"}
        )  # the last epoch
        _, result = drain(engine.train(run, str(tmp_path / f"l1-{l1}")))
        sums[l1] = _matrix_weight_sum(result.bundle)
    assert sums[0.01] < 0.8 * sums[0.0], sums


def test_label_smoothing_and_class_weights_change_the_loss_as_defined():
    from mmstudio.engine.losses import classify_loss
    from mmstudio.engine.optim import class_weights

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 0.5]])
    labels = torch.tensor([0, 1, 2, 1])
    logp = torch.log_softmax(logits, 1)
    nll = -logp[torch.arange(4), labels]
    plain = float(nll.mean())
    smoothed = float((0.9 * nll + 0.1 * -logp.mean(1)).mean())  # (1-e) NLL + e * uniform target
    assert float(classify_loss(logits, labels)) == pytest.approx(plain, rel=1e-6)
    assert float(classify_loss(logits, labels, smoothing=0.1)) == pytest.approx(smoothed, rel=1e-6)
    assert smoothed != pytest.approx(plain, rel=1e-3)
    # inverse frequency: counts 1, 2, 1 of 4 -> 4 / (3 * count)
    weights = class_weights(labels, 3, "cpu")
    assert weights.tolist() == pytest.approx([4 / 3, 2 / 3, 4 / 3])
    weighted = float((weights[labels] * nll).sum() / weights[labels].sum())
    assert float(classify_loss(logits, labels, weights)) == pytest.approx(weighted, rel=1e-6)


def test_sgd_with_a_constant_schedule_and_smoothing_trains(synth_manifest, tmp_path):
    """SGD at a constant rate (after warmup) learns the text classes; smoothing raises the loss
    floor, so the smoothed run ends with a higher training loss than the same run without."""
    losses, lrs = {}, {}
    for smoothing in (0.0, 0.2):
        run = tiny_run(
            synth_manifest,
            modalities=("text",),
            label_smoothing=smoothing,
            train={
                "epochs": 3,
                "optimizer": "sgd",
                "lr": 0.05,
                "schedule": "constant",
                "warmup_epochs": 0.0,
                "log_every_s": 0.0,
            },
        )
        events, result = drain(engine.train(run, str(tmp_path / f"s{smoothing}")))
        losses[smoothing] = result.history[-1]["train_loss"]
        lrs[smoothing] = {e.lr for e in events if isinstance(e, ev.StepLogged)}
        assert result.history[-1]["accuracy"] > 0.6  # chance is 1/3
    assert lrs[0.0] == lrs[0.2] == {0.05}
    assert losses[0.2] > losses[0.0] + 0.05, losses


def test_bad_configs_are_clear_errors(synth_manifest, tmp_path):
    with pytest.raises(engine.RunProblems, match="model.task: 'align' aligns two or more modalities"):
        drain(engine.train(tiny_run(synth_manifest, modalities=("image",), task="align"), str(tmp_path / "x")))
    assert not (tmp_path / "x").exists()  # found before any folder was made
    with pytest.raises(ValueError, match="unknown task"):
        tiny_run(synth_manifest, task="summarise")


def test_stop_while_decoding_ends_cleanly(synth_manifest, tmp_path):
    from mmstudio.engine.cache import STORE

    STORE.clear()
    control = engine.Control()
    gen = engine.train(tiny_run(synth_manifest, modalities=("image",)), str(tmp_path / "d"), control=control)
    first = next(gen)
    assert isinstance(first, ev.DataPrepared)
    control.stop()
    events, result = drain(gen)
    assert result.reason == "stopped" and result.bundle == ""
    assert isinstance(events[-1], ev.RunFinished)

"""The Train panel's lines: what a training event says in the progress bar and the log."""

from __future__ import annotations

from mmstudio.gui.panels.train_run import clock


def device_line(e) -> str:
    """Where a run trains (from ``RunStarted``)."""
    batch = f" · batch {e.batch_size}" if e.batch_size else ""
    return f"Device: {e.device} · {e.precision} · {e.parameters / 1e6:.2f} M parameters{batch}"


def started_log(e) -> str:
    return (
        f"{e.device} ({e.precision}), modalities {', '.join(e.modalities)}, "
        f"{e.train_items} train / {e.val_items} val items, {plural(e.epochs, 'epoch')} × "
        f"{plural(e.steps_per_epoch, 'step')}"
    )


def step_progress(e, epochs: int, total_steps: int, seconds_left: float) -> str:
    """The progress bar's text while steps run (from ``StepLogged``)."""
    return (
        f"{step_percent(e.step, total_steps)} · epoch {e.epoch}/{epochs} · step {e.step:,}/{total_steps:,}"
        f" · ETA {clock(seconds_left)} · {e.samples_per_s:,.0f} samples/s"
    )


def epoch_log(e) -> str:
    """One log line per ``EpochDone``: losses, scores, speed, best mark and modality weights."""
    weights = ", ".join(f"{m} {w:.2f}" for m, w in e.weights.items())
    scores = ", ".join(f"{k} {v:.4g}" for k, v in e.metrics.items())
    return (
        f"epoch {e.epoch}: train loss {e.train_loss:.4f}{', ' + scores if scores else ''}"
        f" ({e.seconds:.1f} s, {e.samples_per_s:,.0f} samples/s){' ★ best' if e.best else ''}"
        f"{'; modality weights ' + weights if weights else ''}"
    )


def finished_line(e) -> str:
    """The progress bar's text once a run ends (from ``RunFinished``)."""
    reason = e.reason.replace("_", " ").capitalize()
    return f"{reason} · {plural(e.epochs, 'epoch')}, {plural(e.steps, 'step')} in {clock(e.seconds)}"


def prepared_progress(e) -> str:
    """The progress bar while inputs are decoded, or a frozen backbone's outputs computed."""
    if e.modality.endswith("features"):
        return f"Computing {e.modality} once (frozen pretrained backbone): {e.done}/{e.total}"
    return f"Decoding {e.modality}: {e.done}/{e.total}"


def prepared_log(e) -> list[str]:
    """A log line when a frozen backbone's outputs are ready (the epochs then train on them)."""
    if e.modality.endswith("features") and e.total and e.done == e.total:
        return [
            f"computed {e.modality} of {e.total:,} files once in {e.seconds:.1f} s (frozen pretrained "
            "backbone, cached for later runs); the epochs train the fusion and heads on them"
        ]
    return []


def plural(n: int, word: str) -> str:
    """'1 epoch', '2 epochs', '1,000 steps'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def step_percent(step: int, total: int) -> str:
    return f"{100 * step / total:.0f} %" if total else ""


def next_step(reason: str) -> str:
    """The line beside "Evaluate this model" once a run has made a bundle."""
    done = "Training finished" if reason == "completed" else f"Training {reason.replace('_', ' ')}"
    return f"<b>{done}.</b> Next: measure the model on the test split, or ask it questions."

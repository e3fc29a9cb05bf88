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
        f"{e.train_items} train / {e.val_items} val items, {e.epochs} epochs × "
        f"{e.steps_per_epoch} steps"
    )


def step_progress(e, epochs: int, total_steps: int, seconds_left: float) -> str:
    """The progress bar's text while steps run (from ``StepLogged``)."""
    return (
        f"Epoch {e.epoch}/{epochs} · step {e.step}/{total_steps}"
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
    return f"{reason} · {e.epochs} epochs, {e.steps} steps in {clock(e.seconds)}"


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

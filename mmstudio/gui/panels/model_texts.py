"""The Model panel's texts: the suggested run with its reasons, and the size estimate."""

from __future__ import annotations

import html


def suggest_run(dataset):
    """A suggested run for ``dataset`` with the engine's catalogue (runs in the panel's lane:
    the first use imports torch)."""
    from mmstudio import engine

    run, chosen = engine.suggest_settings(dataset)
    return run, {
        "encoders": engine.encoder_names(),
        "fusions": engine.fusion_names(),
        "gpus": engine.gpu_info(),
        "chosen": [c.as_dict() for c in chosen],
    }


def auto_settings_html(chosen: list[dict]) -> str:
    """One line per setting chosen from the data: the value in bold, then why."""
    if not chosen:
        return ""
    rows = "; ".join(
        f"{html.escape(c['field'].split('.')[-1].replace('_', ' '))} "
        f"<b>{html.escape(str(c['value']))}</b> ({html.escape(c['reason'])})"
        for c in chosen
    )
    return f"<small>Chosen from your data (each can be changed below or in run.toml): {rows}.</small>"


def estimate_text(est: dict) -> tuple[str, str]:
    """The parameter count line and its tooltip, from ``engine.memory_estimate``."""
    mib = 2**20
    text = f"Parameters: {est['parameters'] / 1e6:.2f} M · memory ≈ {est['total_bytes'] / mib:,.0f} MiB"
    tip = (
        f"Weights, gradients and AdamW moments: {est['weights_bytes'] / mib:,.0f} MiB\n"
        f"Activations kept for backward at batch {est['batch_size']}: "
        f"{est['activation_bytes'] / mib:,.0f} MiB\n(an estimate from one forward pass on the "
        "meta device; the vocabulary is assumed at its limit)"
    )
    return text, tip

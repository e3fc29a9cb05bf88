"""The Model panel's texts: the suggested run with its reasons, and the size estimate."""

from __future__ import annotations

import html


def suggest_run(dataset):
    """A suggested run for ``dataset`` with the engine's catalogue (runs in the panel's lane:
    the first use imports torch)."""
    from mmstudio import engine

    run, chosen = engine.suggest_settings(dataset)
    try:  # the size of the suggested model, shown with it (not after the first edit)
        estimate = engine.memory_estimate(run, dataset=dataset)
    except Exception:  # noqa: BLE001 - the panel estimates again, and says why, on its own
        estimate = None
    return run, {
        "encoders": engine.encoder_names(),
        "fusions": engine.fusion_names(),
        "gpus": engine.gpu_info(),
        "chosen": [c.as_dict() for c in chosen],
        "estimate": estimate,
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


def saved_settings_html(what: str) -> str:
    """The explanation over settings restored from a file rather than chosen from the data."""
    return (
        f"<small>Showing {html.escape(what, quote=False)} (each can be changed below or in run.toml); "
        "a preset or a newly opened dataset starts from the data again.</small>"
    )


def estimate_text(est: dict) -> tuple[str, str]:
    """The parameter count line and its tooltip, from ``engine.memory_estimate``."""
    mib = 2**20
    text = f"Parameters: {est['parameters'] / 1e6:.2f} M · memory ≈ {est['total_bytes'] / mib:,.0f} MiB"
    tip = (
        f"Weights, gradients and AdamW moments: {est['weights_bytes'] / mib:,.0f} MiB\n"
        f"Activations kept for backward at batch {est['batch_size']}: "
        f"{est['activation_bytes'] / mib:,.0f} MiB\n(an estimate from one forward pass on the "
        "meta device; the model is the one training builds from this dataset)"
    )
    return text, tip


def fusion_doc_html(doc: str, level: str, one_modality: bool, generates: bool = False) -> str:
    """The line under the fusion choice (none is offered for a single modality, nor for generate)."""
    if generates:
        return "<i>generate: the text decoder reads every input's features itself; no fusion layer.</i>"
    if one_modality:
        return "<i>One modality: nothing to fuse; its encoder feeds the head directly.</i>"
    return f"{doc}<br><i>Where modalities meet — {level}</i>" if doc else ""


def preset_html(preset, changes: list[dict], chosen: list[dict]) -> str:
    """What a preset changed, field by field (the new value in bold, the old one after), then
    the settings chosen from the data that it kept."""
    if changes:
        said = "; ".join(
            f"{html.escape(_field_name(c['field']))} <b>{html.escape(_value(c['new']))}</b> "
            f"(was {html.escape(_value(c['old']))})"
            for c in changes
        )
    else:
        said = "nothing: the run already had its settings"
    text = f"<small>Preset <b>{html.escape(preset.label)}</b> ({html.escape(preset.help)}) changed: {said}."
    changed = {c["field"] for c in changes}
    kept = [c for c in chosen if c["field"] not in changed]
    return text + ("</small>" if not kept else "<br>" + auto_settings_html(kept)[len("<small>") :])


def _field_name(field: str) -> str:
    """``model.image.encoder`` as "image encoder", ``train.batch_size`` as "batch size"."""
    parts = field.split(".")[1:]
    return " ".join(parts).replace("_", " ")


def _value(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == 0 or value == "":  # run.toml's "chosen from the data"
        return "automatic"
    return "–" if value is None else str(value)

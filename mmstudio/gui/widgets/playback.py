"""Whether this machine can play sound, and why not, so a Play button never silently does nothing."""

from __future__ import annotations


def playback_problem() -> str:
    """'' when a clip can be played; else a sentence for people saying why not.

    QtMultimedia loads here (on first Play, not at start-up: it starts FFmpeg)."""
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError as exc:
        return (
            f"Audio playback is unavailable: QtMultimedia could not start ({exc}). On Linux it needs "
            "PulseAudio's client library (libpulse0), which desktops have."
        )
    if QMediaDevices.defaultAudioOutput().isNull() and not QMediaDevices.audioOutputs():
        return "No audio output device was found, so the clip cannot be played (connect speakers or headphones)."
    return ""

"""Numbers for previews: a waveform envelope and a log spectrogram, with numpy only.

Kept here (not in the GUI) so the window only draws what it is given.
"""

from __future__ import annotations

import numpy as np

from mmstudio.data.formats import read_audio


def waveform_envelope(wave: np.ndarray, rate: int, points: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, minima, maxima) over at most ``points`` buckets: a long clip stays cheap to draw."""
    n = len(wave)
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty, empty
    buckets = min(points, n)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    lo = np.minimum.reduceat(wave, edges[:-1])
    hi = np.maximum.reduceat(wave, edges[:-1])
    return edges[:-1] / rate, lo, hi


def spectrogram_db(
    wave: np.ndarray, rate: int, n_fft: int = 256, hop: int | None = None, max_frames: int = 1500
) -> tuple[np.ndarray, float, float]:
    """(frames x bins dB image, seconds per frame, Hz per bin) of a Hann-windowed STFT."""
    hop = hop or n_fft // 4
    if len(wave) < n_fft:
        wave = np.pad(wave, (0, n_fft - len(wave)))
    frames = 1 + (len(wave) - n_fft) // hop
    if frames > max_frames:  # long clips: widen the hop instead of drawing millions of cells
        hop = max(hop, (len(wave) - n_fft) // (max_frames - 1))
        frames = 1 + (len(wave) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(wave[index] * np.hanning(n_fft), axis=1)) ** 2
    db = 10 * np.log10(spec + 1e-10)
    db = np.maximum(db, db.max() - 80)
    return db.astype(np.float32), hop / rate, rate / n_fft


def audio_preview(path: str) -> dict:
    """Everything the audio preview draws, computed off the GUI thread."""
    wave, rate = read_audio(path)
    times, lo, hi = waveform_envelope(wave, rate)
    spec, dt, df = spectrogram_db(wave, rate)
    return {
        "path": path,
        "rate": rate,
        "seconds": len(wave) / rate,
        "times": times,
        "lo": lo,
        "hi": hi,
        "spectrogram": spec,
        "frame_seconds": dt,
        "bin_hz": df,
    }

"""Audio augmentation on mono float32 waveforms (from data/audio.load_clip) and on log-mel inputs.

torchaudio has no build for torch 2.14, so the four operations are written here in numpy / torch
(each is a few lines):

- gain: multiply by 10^(dB / 20), dB uniform in [-6, 6] (``light``) or [-12, 12] (``strong``);
- noise: white noise at a signal-to-noise ratio uniform in [20, 40] dB (``light``) or [10, 30] dB (``strong``);
- time shift: roll by up to 10% (``light``) or 20% (``strong``) of the clip;
- SpecAugment (Park et al., 2019; ``strong`` only): two frequency masks of up to 15 mel bins and two time
  masks of up to 40 frames on the log-mel input, for backbones that take one (Whisper). Raw-waveform
  encoders (wav2vec2, HuBERT) have no spectrogram input and get the first three only.
"""

from __future__ import annotations

import numpy as np
import torch

MEL_HOP = 160  # Whisper's log-mel hop at 16 kHz: one frame per 10 ms
AUDIO_SETTINGS = {
    "light": {"gain_db": 6.0, "snr_db": (20.0, 40.0), "shift": 0.1, "spec_masks": 0},
    "strong": {"gain_db": 12.0, "snr_db": (10.0, 30.0), "shift": 0.2, "spec_masks": 2},
}


def apply_gain(wave: np.ndarray, *, db: float) -> np.ndarray:
    return (wave * 10.0 ** (db / 20.0)).astype(np.float32)


def add_noise(wave: np.ndarray, *, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise scaled so that signal power / noise power = 10^(snr_db / 10)."""
    power = float(np.mean(wave.astype(np.float64) ** 2)) or 1e-10
    noise = rng.standard_normal(len(wave)) * np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return (wave + noise).astype(np.float32)


def time_shift(wave: np.ndarray, *, samples: int) -> np.ndarray:
    return np.roll(wave, samples)


def spec_augment(
    features: torch.Tensor,
    *,
    rng: np.random.Generator,
    masks: int = 2,
    max_bins: int = 15,
    max_frames: int = 40,
    length: int | None = None,
) -> torch.Tensor:
    """Mask `masks` random frequency bands and `masks` random time spans of one (mel bins, frames) input.

    Only the first `length` frames (the clip; the rest is padding of a fixed window) are masked, and masked
    cells take the clip's mean value.

    Example:
        >>> masked = spec_augment(torch.ones(80, 300), rng=np.random.default_rng(0))
        >>> masked.shape
        torch.Size([80, 300])
    """
    out = features.clone()
    bins = out.shape[0]
    frames = min(length or out.shape[1], out.shape[1])
    fill = float(features[:, :frames].mean())
    for _ in range(masks):
        width = int(rng.integers(1, max_bins + 1))
        start = int(rng.integers(0, max(1, bins - width)))
        out[start : start + width, :frames] = fill
        length = int(rng.integers(1, max_frames + 1))
        start = int(rng.integers(0, max(1, frames - length)))
        out[:, start : start + length] = fill
    return out


def augment_wave(wave: np.ndarray, *, policy: str, rng: np.random.Generator) -> np.ndarray:
    """Gain, noise and time shift with strengths from `policy`; the length never changes.

    Example:
        >>> augment_wave(np.zeros(16000, np.float32), policy="light", rng=np.random.default_rng(0)).shape
        (16000,)
    """
    settings = AUDIO_SETTINGS[policy]
    wave = apply_gain(wave, db=float(rng.uniform(-settings["gain_db"], settings["gain_db"])))
    wave = add_noise(wave, snr_db=float(rng.uniform(*settings["snr_db"])), rng=rng)
    limit = int(settings["shift"] * len(wave))
    return time_shift(wave, samples=int(rng.integers(-limit, limit + 1)))

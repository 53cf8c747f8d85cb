"""Reading audio clips (WAV / FLAC / OGG) as mono float32 at a model's sampling rate."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from transferkit.errors import DataError, require

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")


def read_audio(path: str | Path, *, sampling_rate: int) -> np.ndarray:
    """Decode a clip with libsndfile (soundfile), mix to mono, resample (polyphase, scipy) to `sampling_rate`.

    Example:
        >>> wave = read_audio("clips/yes/001.wav", sampling_rate=16_000)  # doctest: +SKIP
    """
    soundfile = require("soundfile", extra="audio", purpose="Reading audio clips")
    from scipy.signal import resample_poly

    try:
        wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise DataError(f"{path} is not a readable audio clip ({exc}); remove it or pass --skip-bad-files.") from None
    wave = wave.mean(axis=1)
    if not len(wave):
        raise DataError(f"{path} is an empty audio clip; remove it or pass --skip-bad-files.")
    if rate != sampling_rate:
        divisor = gcd(int(rate), int(sampling_rate))
        wave = resample_poly(wave, sampling_rate // divisor, int(rate) // divisor).astype(np.float32)
    return wave


def masked_time_mean(features, lengths):
    """Mean over the first `lengths[i]` time steps of each row of a (batch, time, dim) tensor."""
    import torch

    steps = torch.arange(features.shape[1], device=features.device)
    mask = (steps[None, :] < lengths.clamp(min=1, max=features.shape[1])[:, None]).to(features.dtype).unsqueeze(-1)
    return (features * mask).sum(dim=1) / mask.sum(dim=1)

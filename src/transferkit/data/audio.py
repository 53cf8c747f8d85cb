"""Audio folder source: one sub-folder per class of WAV / FLAC / OGG clips, each checked before it is used.

Clips are decoded by libsndfile (soundfile), mixed to mono and resampled with scipy's polyphase
filter; `load_clip` is the one decoder that backbones and augmentation share. Only the first
`MAX_CLIP_SECONDS` (30 s, Whisper's window) of a clip are decoded, with a warning naming a longer file:
an hour-long recording would otherwise be read whole (660 MB at 48 kHz stereo) and a speech encoder's
attention memory grows with the square of its length.
"""

from __future__ import annotations

import warnings
from math import gcd
from pathlib import Path

import numpy as np

from transferkit.data.dataset import BadItem, LabeledData
from transferkit.data.folders import list_files, load_class_folders, load_file_inputs
from transferkit.errors import DataError, require

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")
MAX_CLIP_SECONDS = 30.0
# Beyond these a header describes no real recording (and 30 s of it would not fit in memory).
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 64
# Part of an audio backbone's cache key (Backbone.input_decoding): a change here changes embeddings.
AUDIO_DECODING = f"soundfile, mono mean, scipy resample_poly, first {MAX_CLIP_SECONDS:g} s"


def _decode(path: Path, *, max_seconds: float = MAX_CLIP_SECONDS) -> tuple[np.ndarray, int]:
    """Mono float32 samples of the first `max_seconds` and the file's own rate; raises ValueError with a short
    reason. A longer clip is cut, with a warning that names it."""
    soundfile = require("soundfile", extra="audio", purpose="Reading audio clips")
    if path.stat().st_size == 0:
        raise ValueError("empty file")
    try:
        info = soundfile.info(str(path))
        if not 0 < info.samplerate <= MAX_SAMPLE_RATE or not 0 < info.channels <= MAX_CHANNELS:
            raise ValueError(
                f"unsupported: {info.channels} channel(s) at {info.samplerate} Hz (at most {MAX_CHANNELS} channels "
                f"at up to {MAX_SAMPLE_RATE:,} Hz)"
            )
        frames = int(max_seconds * info.samplerate)
        wave, rate = soundfile.read(str(path), frames=frames, dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        # libsndfile says "Error opening 'PATH': Format not recognised."; keep only the reason.
        reason = str(exc).removeprefix(f"Error opening '{path}': ").rstrip(".")
        raise ValueError(reason) from None
    if not len(wave):
        raise ValueError("no audio samples")
    if info.frames > frames:
        warnings.warn(
            f"{path} is {info.frames / info.samplerate:,.0f} s long; only its first {max_seconds:g} s are used "
            "(the clip length cap). Cut long recordings into clips to use all of them.",
            UserWarning,
            stacklevel=2,
        )
    return wave.mean(axis=1), int(rate)


def load_clip(path: str | Path, sample_rate: int, *, max_seconds: float = MAX_CLIP_SECONDS) -> np.ndarray:
    """Decode the first `max_seconds` of a clip, mix it to mono and resample it to `sample_rate`; float32
    samples in [-1, 1]. A longer clip is cut with a warning naming the file.

    Raises:
        DataError: The file is empty, not audio, or cannot be decoded (the message names the file).
    """
    path = Path(path)
    try:
        wave, rate = _decode(path, max_seconds=max_seconds)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path} is not a readable audio clip ({exc}); remove it or pass --skip-bad-files.") from None
    if rate != sample_rate:
        from scipy.signal import resample_poly

        divisor = gcd(rate, int(sample_rate))
        wave = resample_poly(wave, int(sample_rate) // divisor, rate // divisor)
    return np.ascontiguousarray(wave, dtype=np.float32)


def check_clip(path: Path) -> str | None:
    """Return why `path` is not a usable clip, or None when the part that is used decodes."""
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        return f"not an audio clip (expected {', '.join(AUDIO_SUFFIXES)})"
    try:
        _decode(path)
    except (ValueError, OSError) as exc:
        return f"unreadable audio clip ({exc})"
    return None


def is_audio_folder(root: Path) -> bool:
    """True when most files under `root` have audio extensions (a folder of clips rather than images)."""
    suffixes = [path.suffix.lower() for path in list_files(root)]
    audio = sum(suffix in AUDIO_SUFFIXES for suffix in suffixes)
    return audio > 0 and audio * 2 >= len(suffixes)


def load_audio_folder(root: str | Path) -> LabeledData:
    """Read `root/<class>/<clip>` into LabeledData (modality "audio"); unreadable clips go to `bad_items`."""
    return load_class_folders(root, modality="audio", check=check_clip, items="clips", layout="<clip>")


def load_audio_inputs(paths: list[str | Path]) -> tuple[list[str], list[BadItem]]:
    """Expand files and folders (recursively) into checked clip paths, for prediction."""
    return load_file_inputs(paths, check=check_clip, expected="audio clips (WAV / FLAC / OGG) or folders of them")

"""Audio: class sub-folders of clips (WAV / FLAC / OGG); predict reads clips and folders of them."""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.data.audio import load_audio_folder, load_audio_inputs
from transferkit.data.dataset import BadItem, LabeledData
from transferkit.errors import ConfigError
from transferkit.modalities.base import Modality, file_bytes, snippet


def load_labeled(path: str | Path, **_: Any) -> LabeledData:
    """`path/<class>/<clip>`: the table options do not apply."""
    return load_audio_folder(path)


def read_inputs(paths: list[str | Path], **_: Any) -> tuple[list[str], list[BadItem]]:
    """Clips and folders of clips (recursively); unreadable clips come back as bad items."""
    return load_audio_inputs(list(paths))


def latency_sample(folder: Path) -> list[str] | None:
    """One second of a 440 Hz tone at 16 kHz (a short clip, as keyword tasks have); None without soundfile."""
    if importlib.util.find_spec("soundfile") is None:  # no audio extra: nothing here could load a clip
        return None
    import soundfile

    path = folder / "sample.wav"
    seconds = np.arange(16000) / 16000
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32), 16000)
    return [str(path)]


class AudioViews:
    """Audio batches: waveform views of the seeded rows, then SpecAugment on log-mel inputs (audio_augment)."""

    def __init__(self, backbone: Any, settings: Any) -> None:
        if not hasattr(backbone, "batch_from_waves"):
            raise ConfigError(f"Audio augmentation is not supported for '{backbone.spec}'; use --augment none.")
        self.backbone = backbone
        self.policy = settings.policy

    def batch(self, inputs: list[str], *, seeds: list[int | None]) -> Any:
        from transferkit.data.audio import load_clip
        from transferkit.modalities.audio_augment import AUDIO_SETTINGS, MEL_HOP, augment_wave, spec_augment

        rngs = [None if seed is None else np.random.default_rng(seed) for seed in seeds]
        waves = [load_clip(path, self.backbone.sampling_rate) for path in inputs]
        waves = [
            wave if rng is None else augment_wave(wave, policy=self.policy, rng=rng)
            for wave, rng in zip(waves, rngs, strict=True)
        ]
        batch = self.backbone.batch_from_waves(waves)
        masks = AUDIO_SETTINGS[self.policy]["spec_masks"]
        if masks and "input_features" in batch:  # SpecAugment on log-mel inputs (Whisper)
            for row, rng in enumerate(rngs):
                if rng is not None:
                    frames = int(batch["num_samples"][row]) // MEL_HOP + 1  # mask the clip, not the window's padding
                    batch["input_features"][row] = spec_augment(
                        batch["input_features"][row], rng=rng, masks=masks, length=frames
                    )
        return batch


MODALITY = Modality(
    name="audio",
    default_backbone="bundled:whisper-tiny-en",
    load_labeled=load_labeled,
    read_inputs=read_inputs,
    item_bytes=file_bytes,
    latency_sample=latency_sample,
    show_html=lambda item: html.escape(snippet(item)),
    show_text=snippet,
    augmenter=AudioViews,
    classic=None,  # no classic featuriser for clips yet
)

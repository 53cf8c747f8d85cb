"""Whisper encoders in CTranslate2 format (faster-whisper): frozen features only.

CTranslate2 runs an optimised inference graph with no autograd, so these backbones embed audio for
probes but cannot be fine-tuned; `layer_groups` raises and says what to use instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from transferkit.backbones.audio_io import masked_time_mean
from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.backbones.hf_audio import WHISPER_SAMPLES_PER_FRAME
from transferkit.data.audio import load_clip
from transferkit.errors import BackboneError, require

SAMPLING_RATE = 16_000
WINDOW_FRAMES = 3000  # 30 s of 10 ms mel frames


class CTranslate2WhisperBackbone(Backbone):
    """Whisper encoder states from a CTranslate2 model, mean-pooled over the frames that cover the clip."""

    modality = "audio"
    trainable = False
    sampling_rate = SAMPLING_RATE

    def __init__(self, folder: Path, *, spec: str, weights_cfg: WeightsCfg, num_features: int) -> None:
        super().__init__()
        ctranslate2 = require("ctranslate2", extra="bundled", purpose="The CTranslate2 Whisper backbone")
        feature_extraction = require(
            "faster_whisper.feature_extractor", extra="bundled", purpose="Whisper log-mel features"
        )
        self.encoder = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32")
        self.mel = feature_extraction.FeatureExtractor(feature_size=self.encoder.n_mels)
        self.spec = spec
        self.weights_cfg = weights_cfg
        self.num_features = num_features

    def load_batch(self, inputs: list[str]) -> dict[str, torch.Tensor]:
        return self.batch_from_waves([load_clip(path, SAMPLING_RATE) for path in inputs])

    def batch_from_waves(self, waves: list[np.ndarray]) -> dict[str, torch.Tensor]:
        """Log-mel inputs (30 s windows) from mono float32 waveforms at 16 kHz (augmentation works on these)."""
        mels = np.zeros((len(waves), self.encoder.n_mels, WINDOW_FRAMES), np.float32)
        lengths = []
        for row, wave in enumerate(waves):
            wave = wave[: SAMPLING_RATE * 30]
            features = self.mel(wave)[:, :WINDOW_FRAMES]
            mels[row, :, : features.shape[1]] = features
            lengths.append(len(wave))
        return {"input_features": torch.from_numpy(mels), "num_samples": torch.tensor(lengths)}

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        import ctranslate2

        features = np.ascontiguousarray(batch["input_features"].numpy(), dtype=np.float32)
        encoded = self.encoder.encode(ctranslate2.StorageView.from_array(features), to_cpu=True)
        return torch.from_numpy(np.array(encoded))

    def pool(self, features: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        frames = (batch["num_samples"] + WHISPER_SAMPLES_PER_FRAME - 1) // WHISPER_SAMPLES_PER_FRAME
        return masked_time_mean(features, frames)

    def layer_groups(self) -> list[nn.Module]:
        raise BackboneError(
            f"'{self.spec}' is a CTranslate2 model: it gives frozen features only (no gradients), so it cannot be "
            "fine-tuned. Use --strategy probe with it, or fine-tune a transformers Whisper / wav2vec2 model "
            "(hf:openai/whisper-tiny.en, or hf:DIR for a local copy)."
        )

"""Speech encoders on Hugging Face transformers (wav2vec2, HuBERT, WavLM, Whisper encoder).

Clips are decoded and resampled to the feature extractor's rate; the embedding is the mean of the
encoder's frames that cover real audio (padding frames are left out).
"""

from __future__ import annotations

import torch
from torch import nn

from transferkit.backbones.audio_io import masked_time_mean
from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.backbones.layers import transformer_layer_groups
from transferkit.data.audio import AUDIO_DECODING, load_clip

WHISPER_SAMPLES_PER_FRAME = 320  # 160-sample mel hop x stride-2 convolution


class AudioEncoderBackbone(Backbone):
    """A transformers speech encoder + its feature extractor; embeddings are time-pooled encoder states."""

    modality = "audio"

    def __init__(self, model: nn.Module, feature_extractor, *, spec: str, weights_cfg: WeightsCfg) -> None:
        super().__init__()
        self.is_whisper = model.config.model_type == "whisper"
        # Whisper sees 30 s windows whatever the decoder gives; other encoders see the whole (capped) clip.
        self.input_decoding = None if self.is_whisper else AUDIO_DECODING
        self.model = model.get_encoder() if self.is_whisper else model
        self.feature_extractor = feature_extractor
        self.sampling_rate = int(feature_extractor.sampling_rate)
        self.spec = spec
        self.weights_cfg = weights_cfg
        self.num_features = model.config.d_model if self.is_whisper else model.config.hidden_size

    def load_batch(self, inputs: list[str]) -> dict[str, torch.Tensor]:
        return self.batch_from_waves([load_clip(path, self.sampling_rate) for path in inputs])

    def batch_from_waves(self, waves: list) -> dict[str, torch.Tensor]:
        """Model inputs from mono float32 waveforms at `sampling_rate` (augmentation works on these)."""
        lengths = torch.tensor([len(wave) for wave in waves])
        if self.is_whisper:  # always 30 s windows, as the encoder was trained
            encoded = self.feature_extractor(waves, sampling_rate=self.sampling_rate, return_tensors="pt")
            return {"input_features": encoded["input_features"], "num_samples": lengths}
        encoded = self.feature_extractor(
            waves, sampling_rate=self.sampling_rate, padding=True, return_attention_mask=True, return_tensors="pt"
        )
        batch = {"input_values": encoded["input_values"], "num_samples": lengths}
        if getattr(self.feature_extractor, "return_attention_mask", False):
            batch["attention_mask"] = encoded["attention_mask"]
        return batch

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {key: value for key, value in batch.items() if key != "num_samples"}
        return self.model(**inputs).last_hidden_state

    def frame_lengths(self, num_samples: torch.Tensor) -> torch.Tensor:
        if self.is_whisper:
            return (num_samples + WHISPER_SAMPLES_PER_FRAME - 1) // WHISPER_SAMPLES_PER_FRAME
        return self.model._get_feat_extract_output_lengths(num_samples)

    def pool(self, features: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return masked_time_mean(features, self.frame_lengths(batch["num_samples"]).to(features.device))

    def layer_groups(self) -> list[nn.Module]:
        return transformer_layer_groups(self.model)

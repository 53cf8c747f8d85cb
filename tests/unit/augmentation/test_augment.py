"""Augmentation: images (torchvision v2), text (EDA, masked LM, paraphrase), audio, and the probe's augmented views."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from transferkit.augmentation.pipeline import (
    AugmentedExamples,
    Augmenter,
    AugmentingCollate,
    AugmentSettings,
    augmentation_plan,
    extract_augmented_features,
)
from transferkit.config import RunSpec
from transferkit.errors import ConfigError
from transferkit.modalities.audio_augment import add_noise, apply_gain, augment_wave, spec_augment
from transferkit.modalities.image_augment import augment_image
from transferkit.modalities.text_augment import (
    ContextualSubstitution,
    EmbeddingSynonyms,
    TextAugmenter,
    eda,
    random_deletion,
    random_insertion,
    random_swap,
    synonym_replacement,
)

SYNONYMS = {"soup": ["broth"], "cold": ["chilly", "icy"], "bland": ["dull"]}.get
SENTENCE = ["the", "soup", "was", "cold", "and", "bland", "but", "the", "service", "was", "quick"]


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


# --- images --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_cat() -> Image.Image:
    from skimage.data import chelsea

    return Image.fromarray(chelsea()).resize((90, 60))


@pytest.mark.parametrize("policy", ["light", "strong"])
def test_image_policies_keep_size_are_seeded_and_change_pixels(small_cat, policy):
    first = augment_image(small_cat, policy=policy, seed=1)
    assert first.size == small_cat.size and first.mode == "RGB"
    assert np.array_equal(_pixels(first), _pixels(augment_image(small_cat, policy=policy, seed=1)))
    assert not np.array_equal(_pixels(first), _pixels(augment_image(small_cat, policy=policy, seed=2)))
    assert not np.array_equal(_pixels(first), _pixels(small_cat))


def test_image_augmentation_leaves_global_rng_alone(small_cat):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    augment_image(small_cat, policy="strong", seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_augmented_image_batch_goes_through_the_backbones_own_preprocessing(effnet, digits_folder):
    paths = sorted(str(p) for p in (digits_folder / "digit7").glob("*.png"))[:2]
    augmenter = Augmenter(effnet, settings=AugmentSettings(policy="light"))
    batch = augmenter.batch(paths, seeds=[None, 11])
    clean = effnet.load_batch(paths)
    assert batch.shape == clean.shape == (2, 3, 224, 224)
    assert torch.allclose(batch[0], clean[0])  # a row without a seed is the clean input
    assert not torch.allclose(batch[1], clean[1])
    assert batch.min() >= -1.0 - 1e-6 and batch.max() <= 1.0 + 1e-6  # normalised after augmenting (mean = std = 0.5)


# --- text: EDA -----------------------------------------------------------------------------------------
def test_random_deletion_removes_words_keeps_order_and_never_empties():
    rng = np.random.default_rng(0)
    shorter = random_deletion(SENTENCE, 0.5, rng=rng)
    assert 0 < len(shorter) < len(SENTENCE)
    iterator = iter(SENTENCE)
    assert all(word in iterator for word in shorter)  # an ordered subsequence
    assert len(random_deletion(SENTENCE, 1.0, rng=rng)) == 1


def test_random_swap_keeps_the_multiset_of_words():
    swapped = random_swap(SENTENCE, 2, rng=np.random.default_rng(3))
    assert Counter(swapped) == Counter(SENTENCE) and swapped != SENTENCE


def test_synonym_replacement_swaps_n_content_words_for_their_synonyms():
    words = [*SENTENCE[:-1], "quick."]
    out = synonym_replacement(words, 2, rng=np.random.default_rng(0), synonyms=SYNONYMS)
    changed = [(a, b) for a, b in zip(words, out, strict=True) if a != b]
    assert len(out) == len(words) and len(changed) == 2
    assert all(new in SYNONYMS(old) for old, new in changed)


def test_random_insertion_adds_synonyms_and_keeps_the_original_words_in_order():
    out = random_insertion(SENTENCE, 3, rng=np.random.default_rng(0), synonyms=SYNONYMS)
    assert len(out) == len(SENTENCE) + 3
    inserted = list((Counter(out) - Counter(SENTENCE)).elements())
    assert all(word in {"broth", "chilly", "icy", "dull"} for word in inserted)
    iterator = iter(out)
    assert all(word in iterator for word in SENTENCE)


def test_eda_is_reproducible_with_a_seed_and_varies_across_seeds():
    text = " ".join(SENTENCE)
    copies = {eda(text, alpha=0.2, rng=np.random.default_rng(seed), synonyms=SYNONYMS) for seed in range(8)}
    again = eda(text, alpha=0.2, rng=np.random.default_rng(0), synonyms=SYNONYMS)
    assert again == eda(text, alpha=0.2, rng=np.random.default_rng(0), synonyms=SYNONYMS)
    assert len(copies) > 3 and text not in copies


def test_minilm_embedding_synonyms_are_real_neighbours_and_skip_stop_words():
    synonyms = EmbeddingSynonyms.bundled_minilm()
    assert "purchased" in synonyms("bought")
    assert "horrible" in synonyms("terrible")
    assert synonyms("qzxv") == [] and all(word.isalpha() for word in synonyms("coffee"))
    augmenter = TextAugmenter(policy="strong", method="eda", synonyms="embedding")
    assert augmenter("I bought this coffee", seed=4) == augmenter("I bought this coffee", seed=4)


def test_eda_without_synonyms_only_swaps_or_deletes():
    augmenter = TextAugmenter(policy="strong", method="eda-nosyn")
    text = " ".join(SENTENCE)
    for seed in range(6):
        assert set(augmenter(text, seed=seed).split()) <= set(SENTENCE)


def test_wordnet_source_without_its_corpus_is_a_clear_error():
    nltk = pytest.importorskip("nltk")
    try:
        nltk.corpus.wordnet.ensure_loaded()
        pytest.skip("NLTK's WordNet corpus is installed here")
    except LookupError:
        pass
    with pytest.raises(ConfigError, match=r"nltk\.downloader wordnet.*--augment-synonyms embedding"):
        TextAugmenter(policy="light", method="eda", synonyms="wordnet")


# --- text: masked LM and paraphrase --------------------------------------------------------------------
def test_contextual_substitution_needs_a_masked_lm():
    with pytest.raises(ConfigError, match=r"--mlm hf:PATH"):
        TextAugmenter(policy="light", method="contextual")
    with pytest.raises(ConfigError, match="not a folder"):
        ContextualSubstitution("hf:/nonexistent/mlm")


def test_contextual_substitution_rejects_an_encoder_without_its_mlm_head():
    from transferkit.backbones.bundled import minilm_dir

    with pytest.raises(ConfigError, match="no trained masked-LM head"):
        ContextualSubstitution(f"hf:{minilm_dir()}")


@pytest.fixture(scope="module")
def tiny_mlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised BertForMaskedLM saved to disk: exercises the fill-mask path, not its quality."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-mlm")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soup", "broth", "cold", "icy", "tasty", "meal", "the"]
    BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)}).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


def test_contextual_substitution_fills_masks_from_the_mlm_vocabulary(tiny_mlm_dir):
    augmenter = TextAugmenter(policy="strong", method="contextual", mlm=f"hf:{tiny_mlm_dir}")
    text = "the soup cold tasty meal"
    out = augmenter(text, seed=0).split()
    assert len(out) == 5 and out != text.split()
    assert set(out) <= {"soup", "broth", "cold", "icy", "tasty", "meal", "the"}
    assert augmenter(text, seed=0) == " ".join(out)


@pytest.mark.skipif(
    os.environ.get("TRANSFERKIT_TEST_SMOLLM2") != "1",
    reason="paraphrasing loads SmolLM2-135M (slow on 2 cores); set TRANSFERKIT_TEST_SMOLLM2=1 to run it",
)
def test_smollm2_paraphrase_is_seeded_text():
    augmenter = TextAugmenter(policy="light", method="paraphrase")
    text = "The coffee arrived stale and the bag was torn."
    first = augmenter(text, seed=1)
    assert first and first != text and first == augmenter(text, seed=1)


# --- audio ---------------------------------------------------------------------------------------------
def _tone() -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000)).astype(np.float32)


def test_gain_and_noise_do_what_they_say():
    wave = _tone()
    assert np.allclose(apply_gain(wave, db=20.0), wave * 10.0, atol=1e-6)
    noisy = add_noise(wave, snr_db=20.0, rng=np.random.default_rng(0))
    snr = 10 * np.log10(np.mean(wave**2) / np.mean((noisy - wave) ** 2))
    assert abs(snr - 20.0) < 0.5


@pytest.mark.parametrize("policy", ["light", "strong"])
def test_wave_augmentation_keeps_length_and_is_seeded(policy):
    wave = _tone()
    first = augment_wave(wave, policy=policy, rng=np.random.default_rng(1))
    assert first.shape == wave.shape and first.dtype == np.float32
    assert np.array_equal(first, augment_wave(wave, policy=policy, rng=np.random.default_rng(1)))
    assert not np.array_equal(first, augment_wave(wave, policy=policy, rng=np.random.default_rng(2)))


def test_spec_augment_masks_bands_and_spans_only():
    features = torch.randn(80, 300)
    masked = spec_augment(features, rng=np.random.default_rng(0), masks=2)
    changed = masked != features
    assert masked.shape == features.shape
    assert changed.any() and changed.float().mean() < 0.6
    rows, cols = changed.all(dim=1), changed.all(dim=0)
    assert rows.any() and cols.any()  # whole frequency bands and whole time spans


# --- plan, config, fine-tuning loader ------------------------------------------------------------------
def test_plan_augments_only_classes_under_the_threshold():
    labels = ["common"] * 5 + ["rare"] * 2
    assert augmentation_plan(labels, below=3, copies=2) == [(5, 0), (5, 1), (6, 0), (6, 1)]
    assert len(augmentation_plan(labels, below=None, copies=3)) == 21
    assert augmentation_plan(labels, below=2, copies=1) == []


def test_bad_augment_options_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"'augment\.policy' option must be one of none, light, strong.*'medium'"):
        RunSpec.from_dict({"augment": {"policy": "medium"}})
    with pytest.raises(ConfigError, match=r"'augment\.mlm' option is used only with augment\.text contextual"):
        RunSpec.from_dict({"augment": {"policy": "light", "mlm": "hf:x"}})
    with pytest.raises(ConfigError, match=r"'augment\.copies'"):
        RunSpec.from_dict({"augment": {"copies": 0}})


def test_finetune_copies_are_seeded_by_epoch_and_position(minilm):
    from transferkit.engine.data import EpochShuffleSampler

    texts = ["great coffee, would buy again", "stale beans and a torn bag", "fine"]
    targets = torch.tensor([1, 0, 0])
    plan = augmentation_plan(["great", "other", "other"], below=2, copies=2)
    dataset = AugmentedExamples(texts, targets, plan)
    assert len(dataset) == 5 and [dataset[i][2] for i in range(5)] == [None, None, None, 3, 4]
    collate = AugmentingCollate(Augmenter(minilm, settings=AugmentSettings(policy="strong", text="eda-nosyn")))
    sampler = EpochShuffleSampler(len(dataset), seed=0)
    collate.follow_epochs(sampler)
    items = [dataset[i] for i in range(5)]
    first, labels = collate(items)
    assert labels.tolist() == [1, 0, 0, 1, 1]
    assert torch.equal(collate(items)[0]["input_ids"], first["input_ids"])  # same epoch: same views (resume-safe)
    clean = minilm.load_batch(texts)
    assert torch.equal(first["input_ids"][:3, : clean["input_ids"].shape[1]], clean["input_ids"])
    epochs = set()
    for epoch in range(4):
        sampler.set_epoch(epoch)
        epochs.add(tuple(collate(items)[0]["input_ids"][3].tolist()))
    assert len(epochs) > 1  # a new epoch draws new views


# --- probe: augmented views through the backbone, cached per view --------------------------------------
def test_augmented_views_are_distinct_and_cached_by_policy_view_and_seed(effnet, digits_folder, tmp_path):
    paths = sorted(str(p) for p in (digits_folder / "digit1").glob("*.png"))[:3]
    augmenter = Augmenter(effnet, settings=AugmentSettings(policy="light"))
    inputs, views = [p for p in paths for _ in range(2)], [0, 1] * 3
    features, stats = extract_augmented_features(augmenter, inputs, views, seed=0, cache_dir=tmp_path)
    assert features.shape == (6, effnet.num_features) and stats.misses == 6
    assert not np.allclose(features[0], features[1])  # two views of one image are two embeddings
    again, stats = extract_augmented_features(augmenter, inputs, views, seed=0, cache_dir=tmp_path)
    assert stats.hits == 6 and np.array_equal(again, features)
    _, stats = extract_augmented_features(augmenter, inputs[:2], views[:2], seed=1, cache_dir=tmp_path)
    assert stats.misses == 2  # a new seed draws new views
    strong = Augmenter(effnet, settings=AugmentSettings(policy="strong"))
    _, stats = extract_augmented_features(strong, inputs[:2], views[:2], seed=0, cache_dir=tmp_path)
    assert stats.misses == 2  # and so does another policy


# --- audio through the backbones' own input pipeline ---------------------------------------------------
def test_audio_augmenter_builds_the_backbones_batch_from_augmented_waves(tiny_wav2vec2_dir, tone_clips):
    from transferkit.backbones import create_backbone

    backbone = create_backbone(f"hf:{tiny_wav2vec2_dir}")
    paths = [str(tone_clips / "low" / "0.wav"), str(tone_clips / "high" / "1.flac")]
    augmenter = Augmenter(backbone, settings=AugmentSettings(policy="strong"))
    batch = augmenter.batch(paths, seeds=[None, 3])
    clean = backbone.load_batch(paths)
    assert batch["input_values"].shape == clean["input_values"].shape
    assert torch.equal(batch["num_samples"], clean["num_samples"])  # lengths never change
    assert torch.allclose(batch["input_values"][0], clean["input_values"][0])
    assert not torch.allclose(batch["input_values"][1], clean["input_values"][1])
    assert torch.equal(augmenter.batch(paths, seeds=[None, 3])["input_values"], batch["input_values"])


def test_strong_audio_policy_masks_whisper_log_mels(tone_clips):
    from transferkit.backbones import create_backbone

    backbone = create_backbone("bundled:whisper-tiny-en")
    paths = [str(tone_clips / "low" / "2.wav")]
    clean = backbone.load_batch(paths)["input_features"][0]
    masked = Augmenter(backbone, settings=AugmentSettings(policy="strong")).batch(paths, seeds=[5])["input_features"][0]
    frames = int(backbone.load_batch(paths)["num_samples"][0]) // 160  # the clip; the rest is window padding
    clip = masked[:, :frames]
    assert masked.shape == clean.shape and torch.equal(masked[:, frames + 1 :], clean[:, frames + 1 :])
    constant_bands = (clip == clip[:, :1]).all(dim=1)  # a masked band holds one value over the whole clip
    constant_frames = (clip == clip[:1, :]).all(dim=0)  # and so does a masked time span over every bin
    assert 1 <= constant_bands.sum() <= 30 and 1 <= constant_frames.sum() <= 80


def test_finetune_training_loader_holds_the_augmented_copies_and_validation_stays_clean(minilm, tmp_path):
    from transferkit.data.dataset import LabeledData
    from transferkit.strategies.finetune import FineTuneStrategy

    texts = [f"review number {i} about coffee beans" for i in range(10)]
    train = LabeledData(modality="text", inputs=texts, labels=["great"] * 7 + ["other"] * 3, source="unit")
    valid = LabeledData(modality="text", inputs=texts[:4], labels=["great", "great", "other", "other"], source="unit")
    spec = RunSpec.from_dict(
        {
            "strategy": {"name": "finetune"},
            "augment": {"policy": "light", "text": "eda-nosyn", "below": 5, "copies": 2},
            "backbone": {"cache_dir": str(tmp_path)},
        }
    )
    prepared = FineTuneStrategy().prepare(backbone=minilm, train=train, valid=valid, spec=spec, run_dir=tmp_path)
    assert len(prepared.train_loader.dataset) == 10 + 3 * 2  # the three "other" rows, two copies each
    assert isinstance(prepared.train_loader.collate_fn, AugmentingCollate)
    assert not isinstance(prepared.valid_loader.collate_fn, AugmentingCollate)
    assert len(prepared.valid_loader.dataset) == 4

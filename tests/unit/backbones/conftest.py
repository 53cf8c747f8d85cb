"""Tiny randomly initialised models saved to disk, loaded back through the same code users hit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch


def assert_groups_cover(groups, expected_parameters) -> None:
    """Every expected parameter appears in exactly one layer group, and nothing else does."""
    seen: list[int] = []
    for group in groups:
        seen.extend(id(p) for p in group.parameters())
    assert len(seen) == len(set(seen)), "a parameter is in two layer groups"
    assert set(seen) == {id(p) for p in expected_parameters}


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz", "good", "bad", "food"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    vocab = {token: index for index, token in enumerate(["<|endoftext|>", *"abcdefghijklmnopqrstuvwxyz ."])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>").save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(vocab), n_embd=32, n_layer=2, n_head=2, n_positions=64)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_wav2vec2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    folder = tmp_path_factory.mktemp("tiny-wav2vec2")
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
    )  # the variant whose padding mask is exact
    Wav2Vec2Model(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tone_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two classes of synthetic clips (low / high tones) at 8 kHz and 22.05 kHz, so resampling is exercised."""
    import soundfile

    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    for label, base in (("low", 200.0), ("high", 1800.0)):
        (root / label).mkdir()
        for index in range(8):
            rate = (8000, 22050)[index % 2]
            t = np.arange(int(rate * (0.4 + 0.1 * index))) / rate
            wave = 0.3 * np.sin(2 * np.pi * (base + 20 * index) * t) + 0.01 * rng.standard_normal(len(t))
            soundfile.write(root / label / f"{index}.{('wav', 'flac')[index % 2]}", wave.astype(np.float32), rate)
    return root

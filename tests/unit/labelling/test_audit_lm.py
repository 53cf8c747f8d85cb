"""A language model's middle-layer features for the audit: the cut model gives the full model's block output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transferkit.backbones.base import WeightsCfg
from transferkit.backbones.transformers_text import DecoderBackbone
from transferkit.errors import ConfigError
from transferkit.labelling.audit_lm import MiddleLayerMean, middle_block

TEXTS = ["the tea was stale", "great coffee, fresh and strong, would buy again", "bad", "my cat likes these treats"]


def tiny_decoder(layers: int = 4) -> DecoderBackbone:
    """A randomly initialised 4-block Llama with a byte-level BPE tokenizer trained on a few words."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(TEXTS * 5, vocab_size=300, special_tokens=["<|endoftext|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    weights = WeightsCfg(source="random", checksum="0" * 8, licence="none", preprocessing={"max_length": 32})
    return DecoderBackbone(model, tokenizer, spec="tiny", weights_cfg=weights)


def test_the_cut_model_gives_the_full_models_block_output_mean_pooled_and_padding_changes_nothing():
    full = tiny_decoder()
    batch = full.load_batch(TEXTS)
    with torch.inference_mode():
        states = full.model.base_model(**batch, output_hidden_states=True).hidden_states
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = ((states[2] * mask).sum(1) / mask.sum(1)).numpy()  # states[2]: the output of block 2, not normed

    cut = MiddleLayerMean(tiny_decoder(), layer=2)
    assert len(cut.base.layers) == 2  # blocks 3 and 4 are gone, not just unused
    with torch.inference_mode():
        together = cut(cut.load_batch(TEXTS)).numpy()
        alone = np.stack([cut(cut.load_batch([text])).numpy()[0] for text in TEXTS])
    np.testing.assert_allclose(together, expected, atol=1e-5)
    np.testing.assert_allclose(alone, together, atol=1e-5)  # the longest text pads the others: no effect
    assert cut.spec == "tiny#block2-mean" and cut.cache_key() != full.cache_key()


def test_the_default_block_is_just_past_the_middle_and_a_block_out_of_range_is_refused():
    assert middle_block(30) == 16 and middle_block(4) == 3
    assert MiddleLayerMean(tiny_decoder(), layer=None).layer == 3
    with pytest.raises(ConfigError, match="--lm-layer must be between 1 and 4"):
        MiddleLayerMean(tiny_decoder(), layer=5)


def test_lm_out_of_fold_scores_every_row_from_a_saved_model_folder_and_reuses_the_cache(tmp_path):
    from transferkit.labelling.audit_lm import lm_out_of_fold

    decoder = tiny_decoder()
    decoder.model.save_pretrained(tmp_path / "lm")
    decoder.tokenizer.save_pretrained(tmp_path / "lm")
    texts = [f"{text} {index}" for index in range(6) for text in TEXTS]
    labels = np.array([0, 1, 0, 1] * 6)
    options = dict(spec=f"hf:{tmp_path / 'lm'}", folds=2, cache_dir=tmp_path / "cache")
    found = lm_out_of_fold(texts, labels, **options)
    (name, proba), *_ = found.items()
    assert name.endswith("#block3-mean") and proba.shape == (24, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert any((tmp_path / "cache").rglob("*"))  # the features were cached ...
    np.testing.assert_allclose(lm_out_of_fold(texts, labels, **options)[name], proba)  # ... and read back the same


def test_lm_on_images_is_refused_before_any_model_loads(tmp_path):
    from PIL import Image

    from transferkit.errors import DataError
    from transferkit.labelling.audit_run import audit

    for label in ("cat", "dog"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for index in range(3):
            Image.new("RGB", (8, 8), (index * 40, 0, 0)).save(tmp_path / "data" / label / f"{index}.png")
    with pytest.raises(DataError, match="--lm adds a language model's features to a text audit"):
        audit(tmp_path / "data", lm="bundled:smollm2-135m", backbone="no-such:model", output_dir=tmp_path / "runs")

"""A tiny randomly initialised Llama with a real byte-level BPE tokenizer, saved with save_pretrained: the same
``hf:DIR`` loading path users hit with hub models, in a second."""

from __future__ import annotations

from pathlib import Path

import pytest

SENTENCE = (
    "the coffee is great and fresh i love it the tea was stale and bad do not buy this snack the dog food "
    "arrived quickly my cat likes these treats price is good taste is bland would buy again"
)
WORDS = SENTENCE.split(" ")
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def corpus_lines(count: int, *, seed: int = 0) -> list[str]:
    """Short pseudo-reviews drawn from a small vocabulary (a corpus a tiny model can learn in a few steps)."""
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(count)]


def _save_tiny_llama(folder: Path, *, chat: bool) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    special = ["<|endoftext|>", "<|end|>", "<|user|>", "<|assistant|>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([*corpus_lines(200), SENTENCE], vocab_size=400, special_tokens=special)
    eos = "<|end|>" if chat else "<|endoftext|>"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token=eos, bos_token="<|endoftext|>")
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)  # no pad token: transferkit pads with the end-of-text token
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    import torch

    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), chat=False)


@pytest.fixture(scope="session")
def tiny_chat_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_tiny_llama(tmp_path_factory.mktemp("tiny-chat-llama"), chat=True)

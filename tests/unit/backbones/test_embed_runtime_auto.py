"""The default embedding runtime (auto): bf16 for text on CPUs with bfloat16 instructions, equal embeddings to fp32.

Issue 25's bar: the fast path's embeddings of real texts have cosine >= 0.9999 to the plain torch fp32 path's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transferkit.backbones.bf16_embedder import Bf16Embedder, bf16_supported
from transferkit.embedding_cache import embed_runtime, extract_features, resolve_runtime, runtime_cache_key
from transferkit.errors import ConfigError

needs_bf16 = pytest.mark.skipif(not bf16_supported(), reason="this CPU has no bfloat16 instructions")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_default_runtime_is_auto_and_resolves_per_backbone(minilm, monkeypatch):
    monkeypatch.delenv("TRANSFERKIT_EMBED_RUNTIME", raising=False)
    assert embed_runtime() == "auto" and embed_runtime(default="torch") == "torch"
    assert resolve_runtime(minilm, "auto") == ("bf16" if bf16_supported() else "torch")
    assert resolve_runtime(minilm, "onnx") == "onnx"  # an explicit choice is kept
    # The cache never mixes runtimes: auto's entries live under the key of the runtime it resolves to.
    assert runtime_cache_key(minilm, resolve_runtime(minilm, "auto")) == runtime_cache_key(
        minilm, "bf16" if bf16_supported() else "torch"
    )


def test_default_path_embeds_real_reviews_as_plain_torch(minilm, reviews_csv, monkeypatch):
    monkeypatch.delenv("TRANSFERKIT_EMBED_RUNTIME", raising=False)
    texts = [*pd.read_csv(reviews_csv)["review"].astype(str).tolist()[:12], "ok", "Great!"]
    exact, _ = extract_features(minilm, texts, use_cache=False, runtime="torch")
    fast, _ = extract_features(minilm, texts, use_cache=False)  # the default: auto
    assert cosines(exact, fast).min() >= 0.9999
    if bf16_supported():
        assert not np.array_equal(exact, fast)  # it really ran in bfloat16


@needs_bf16
def test_a_failed_check_falls_back_to_fp32_only_under_auto(minilm):
    batch = minilm.load_batch(["Stale and bland.", "The best tea I have had in years."])
    exact = minilm(batch).detach().float().numpy()
    with pytest.raises(ConfigError, match="bfloat16 changes the embeddings"):
        Bf16Embedder(minilm, min_cosine=1.0)(batch)  # an explicit --embed-runtime bf16 refuses
    fallback = Bf16Embedder(minilm, fallback=True, min_cosine=1.0)
    with pytest.warns(UserWarning, match="embedded in fp32"):
        first = fallback(batch)
    np.testing.assert_allclose(first, exact, atol=1e-6)
    np.testing.assert_allclose(fallback(batch), exact, atol=1e-6)  # and stays in fp32 afterwards

"""Batch prediction past one process, and the frozen stage on ONNX Runtime with real weights.

- Two CPU processes (Lightning Fabric, ddp_spawn over gloo) write the same output as one process.
- all-MiniLM-L6-v2 on ONNX Runtime (exported, fused by onnxruntime's transformer optimizer), and in bfloat16
  where the CPU computes it natively, gives the same embeddings as PyTorch fp32 on real Amazon fine-food reviews:
  cosine >= 0.9999 (the bar of issue 25).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.workflows.batch_models import TEXTS, tiny_text_model
from transferkit.embedding_cache import extract_features
from transferkit.workflows.batch_predict import predict_batch


def test_two_processes_write_the_same_output_as_one(tmp_path: Path):
    model = tiny_text_model(tmp_path)
    pd.DataFrame({"text": TEXTS}).to_csv(tmp_path / "texts.csv", index=False)
    one = predict_batch(model, [tmp_path / "texts.csv"], output=tmp_path / "one.csv", chunk_size=16)
    two = predict_batch(model, [tmp_path / "texts.csv"], output=tmp_path / "two.csv", chunk_size=16, devices=2)
    assert one.rows == two.rows == len(TEXTS) and two.world_size == 2
    a, b = pd.read_csv(tmp_path / "one.csv"), pd.read_csv(tmp_path / "two.csv")
    assert a["input"].tolist() == b["input"].tolist() == TEXTS
    assert a["label"].tolist() == b["label"].tolist()
    np.testing.assert_allclose(a["prob_good"], b["prob_good"], atol=1e-6)  # thread counts may differ per process
    assert not (tmp_path / "two.csv.partial").exists()


def test_minilm_on_onnx_runtime_embeds_as_torch(minilm, reviews_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    texts = pd.read_csv(reviews_csv)["review"].astype(str).tolist()[:48]
    torch_features, _ = extract_features(minilm, texts, use_cache=False, runtime="torch")
    onnx_features, _ = extract_features(minilm, texts, cache_dir=tmp_path / "features", runtime="onnx")
    cosine = (torch_features * onnx_features).sum(1) / (
        np.linalg.norm(torch_features, axis=1) * np.linalg.norm(onnx_features, axis=1)
    )
    assert cosine.min() >= 0.9999
    graph = next((tmp_path / "cache" / "onnx").glob("*/embed.onnx"))
    import onnx

    fused = {node.op_type for node in onnx.load(str(graph)).graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= fused  # onnxruntime's fused encoder kernels
    again, stats = extract_features(minilm, texts, cache_dir=tmp_path / "features", runtime="onnx")
    assert stats.hits == len(texts) and np.array_equal(again, onnx_features)  # cached under the onnx key


def test_minilm_in_bfloat16_embeds_as_fp32(minilm, reviews_csv):
    from transferkit.backbones.bf16_embedder import bf16_supported

    if not bf16_supported():
        pytest.skip("this CPU has no bfloat16 instructions")
    texts = pd.read_csv(reviews_csv)["review"].astype(str).tolist()[:48]
    exact, _ = extract_features(minilm, texts, use_cache=False, runtime="torch")
    rounded, _ = extract_features(minilm, texts, use_cache=False, runtime="bf16")
    cosine = (exact * rounded).sum(1) / (np.linalg.norm(exact, axis=1) * np.linalg.norm(rounded, axis=1))
    assert cosine.min() >= 0.9999 and not np.array_equal(exact, rounded)

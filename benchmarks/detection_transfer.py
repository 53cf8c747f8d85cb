"""Detection by transfer on builtin:stamp-scenes (tuxpaint photo cut-outs on real photos; test stamps and background
photos disjoint from training): an ImageNet-pretrained backbone against the same detector from random weights.

Arms (--arms): `pretrained` (bundled MobileNetV2 ImageNet weights, frozen backbone: the FPN neck and the heads
train, transferkit's default for detection), `scratch` (the same detector, every weight random, all of it trained,
BatchNorm trained), and for the strategy comparison `two-stage` and `full` (pretrained backbone fine-tuned).
Every arm trains the same epochs over the same images with the same optimiser (AdamW, one-cycle cosine), so the
comparison is at an equal training budget. Test: 80 scenes at 160 px, COCO mAP@.5 and mAP@[.5:.95].

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/detection_transfer.py --sizes 100 --seeds 0 1 2
      .venv/bin/python benchmarks/detection_transfer.py --sizes 50 200 --seeds 0          (adds to the results)
      .venv/bin/python benchmarks/detection_transfer.py --sizes 100 --seeds 0 --arms two-stage full \
          --results detection_strategies.json                                             (strategy comparison)
      .venv/bin/python benchmarks/detection_transfer.py --sizes 100 --seeds 0 --arms pretrained --detector fasterrcnn \
          --epochs 5 --results detection_strategies.json                      (Faster R-CNN in the comparison)
Writes benchmarks/results/detection_transfer.json (or --results), updated after every cell, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = {
    "detector": "fcos",
    "backbone": "bundled:mobilenet_v2",
    "image_size": 160,
    "epochs": 10,
    "batch_size": 8,
    "lr": 1e-3,
    "augment": "light",
    "train_scenes": 240,
    "test_scenes": 80,
    "fcos_box_bias": 1.0,  # transferkit.detection.detectors.live_box_sides (torchvision: 0)
}
STRATEGY = {"pretrained": "probe", "two-stage": "two-stage", "full": "finetune", "scratch": "finetune"}


def scenes() -> Path:
    from transferkit.detection.scenes import SceneOptions, stamp_scenes

    options = SceneOptions(train=SETTINGS["train_scenes"], test=SETTINGS["test_scenes"], size=SETTINGS["image_size"])
    return stamp_scenes(options)


def run_cell(folder: Path, *, arm: str, size: int, seed: int) -> dict:
    from transferkit.config import RunSpec
    from transferkit.detection.training import evaluate_model
    from transferkit.detection.workflow import splits_for, train_detector

    spec = RunSpec.from_dict(
        {
            "data": {
                "path": str(folder / "train"),
                "test_path": str(folder / "test"),
                "task": "detection",
                "limit": size,
                "valid_fraction": 0.0,
            },
            "backbone": {"spec": SETTINGS["backbone"], "image_size": SETTINGS["image_size"]},
            "strategy": {"name": STRATEGY[arm], "detector": SETTINGS["detector"], "train_bn": arm == "scratch"},
            "optim": {"epochs": SETTINGS["epochs"], "lr": SETTINGS["lr"], "batch_size": SETTINGS["batch_size"]},
            "augment": {"policy": SETTINGS["augment"]},
            "run": {"seed": seed, "logger": "csv"},
        }
    )
    splits = splits_for(spec)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        model, module, seconds = train_detector(
            spec, splits, run_dir=Path(scratch), pretrained=arm != "scratch", checkpoint=False
        )
    metrics = evaluate_model(model, splits.test)
    return {
        "arm": arm,
        "detector": SETTINGS["detector"],
        "epochs": SETTINGS["epochs"],
        "train_images": len(splits.train),
        "train_boxes": splits.train.box_count,
        "seed": seed,
        "map_50": metrics["map_50"],
        "map": metrics["map"],
        "per_class_ap_50": {name: row["ap_50"] for name, row in metrics["per_class_ap"].items()},
        "train_seconds": round(seconds, 1),
        "seconds_per_epoch": round(seconds / SETTINGS["epochs"], 2),
        "strategy": module.plan.strategy,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def fewer_proposals() -> None:
    """Faster R-CNN with 600 / 300 RPN proposals before / after NMS in training (torchvision: 2000 / 2000) and 128
    sampled regions per image (torchvision: 512): an experiment, set on each built model, not transferkit's default."""
    import transferkit.detection.workflow as workflow
    from transferkit.detection.detectors import build_detector

    def build(config, *, pretrained):
        model = build_detector(config, pretrained=pretrained)
        model.rpn._pre_nms_top_n = {"training": 600, "testing": 150}
        model.rpn._post_nms_top_n = {"training": 300, "testing": 150}
        model.roi_heads.fg_bg_sampler.batch_size_per_image = 128
        return model

    workflow.build_detector = build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["pretrained", "scratch"], choices=sorted(STRATEGY))
    parser.add_argument("--results", default="detection_transfer.json")
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"], help="training epochs of every arm")
    parser.add_argument("--detector", default=SETTINGS["detector"], help="fcos, fasterrcnn, retinanet or ssdlite")
    parser.add_argument("--fewer-proposals", action="store_true", help="Faster R-CNN: the sampling experiment")
    args = parser.parse_args()
    if args.fewer_proposals:
        fewer_proposals()
    SETTINGS["epochs"] = args.epochs
    SETTINGS["detector"] = args.detector
    import torch

    torch.set_num_threads(2)
    path = RESULTS / args.results
    results = json.loads(path.read_text()) if path.is_file() else {"cells": []}
    results |= {
        "benchmark": "detection transfer: pretrained backbone vs random weights, builtin:stamp-scenes",
        "settings": SETTINGS,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": version("torch")},
        "test_images": SETTINGS["test_scenes"],
    }
    folder = scenes()
    for size in args.sizes:
        for seed in args.seeds:
            for arm in args.arms:
                key = (arm, size, seed, args.detector)
                done = [
                    c
                    for c in results["cells"]
                    if (*map(c.get, ("arm", "train_images", "seed")), c.get("detector", "fcos")) == key
                ]
                if done:
                    continue
                cell = run_cell(folder, arm=arm, size=size, seed=seed)
                print(json.dumps(cell), flush=True)
                results["cells"].append(cell)
                results["updated"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                RESULTS.mkdir(exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(results, indent=1) + "\n")
                os.replace(tmp, path)


if __name__ == "__main__":
    main()

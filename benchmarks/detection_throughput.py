"""Throughput of detection `predict` against its limit, the backbone's own forward rate, on the same images.

Fits a detector (`transferkit.fit(..., task="detection", strategy="probe")`: FCOS over the bundled MobileNetV2,
frozen backbone) on 100 builtin:stamp-scenes images at 160 px, then times, alternately and three times each, on the 80
test scenes: (a) `predict` as the command runs it (images read from disk, the detector's resize and
normalisation, backbone, FPN, heads, NMS, boxes to a frame; the model loaded once before timing), and (b) the
backbone's forward pass alone on the same images already resized and normalised in memory. Ratio (a)/(b) says how
close `predict` comes to the backbone's limit. Same process, same thread count (2).

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/detection_throughput.py
Writes benchmarks/results/detection_throughput.json (with the load average).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 8
REPEATS = 3


def main() -> None:
    import torch

    import transferkit
    from transferkit.detection.augment import read_rgb
    from transferkit.detection.formats import read_detection
    from transferkit.detection.model_io import load_detection_model
    from transferkit.detection.predict import boxes_frame
    from transferkit.detection.scenes import SceneOptions, stamp_scenes
    from transferkit.detection.training import detect

    torch.set_num_threads(2)
    folder = stamp_scenes(SceneOptions(train=240, test=80, size=160))
    test = read_detection(folder / "test")
    with tempfile.TemporaryDirectory() as runs:
        fitted = time.perf_counter()
        result = transferkit.fit(
            str(folder / "train"),
            task="detection",
            test_data=str(folder / "test"),
            detector="fcos",
            strategy="probe",
            image_size=160,
            limit=100,
            valid_fraction=0.0,
            epochs=10,
            augment="light",
            output_dir=runs,
            name="throughput",
            report=False,
        )
        fit_seconds = time.perf_counter() - fitted
        loaded = load_detection_model(result.model_dir)
    model = loaded.model.eval()
    paths = list(test.images)
    from torchvision.transforms.v2.functional import pil_to_tensor

    with torch.no_grad():
        resized = [model.transform([pil_to_tensor(read_rgb(p)).float() / 255])[0].tensors for p in paths]
    body = model.backbone.body
    rates: dict[str, list[float]] = {"predict": [], "backbone": []}
    load = [os.getloadavg()[0]]
    for _ in range(REPEATS):
        started = time.perf_counter()
        frame = boxes_frame(paths, detect(model, paths, batch_size=BATCH), loaded.classes)
        rates["predict"].append(len(paths) / (time.perf_counter() - started))
        started = time.perf_counter()
        with torch.no_grad():
            for start in range(0, len(resized), BATCH):
                body(torch.cat(resized[start : start + BATCH]))
        rates["backbone"].append(len(paths) / (time.perf_counter() - started))
    load.append(os.getloadavg()[0])
    medians = {name: round(statistics.median(values), 2) for name, values in rates.items()}
    payload = {
        "benchmark": "detection predict throughput vs the backbone's forward rate",
        "settings": {"detector": "fcos", "backbone": "bundled:mobilenet_v2", "image_size": 160, "batch_size": BATCH},
        "images": len(paths),
        "boxes_predicted": len(frame),
        "test_map_50": result.metrics["test"]["map_50"],
        "fit_seconds": round(fit_seconds, 1),
        "images_per_s": medians,
        "all_runs": {name: [round(v, 2) for v in values] for name, values in rates.items()},
        "predict_vs_backbone": round(medians["predict"] / medians["backbone"], 3),
        "load_average": [round(v, 2) for v in load],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": version("torch")},
        "updated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "detection_throughput.json").write_text(json.dumps(payload, indent=1) + "\n")
    print(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()

"""`transferkit export runs/NAME/model --format onnx --bundle DIR` for a detector: a folder that finds boxes with
onnxruntime, numpy and Pillow only (`transferkit.runtime.load_bundle`), and that `transferkit serve` answers from.

The graph is the detection ONNX export (resizing, normalisation, score threshold and NMS inside it), checked
against PyTorch as that export checks it. bundle.json adds the preprocessing as data (decode to RGB, scale to
[0, 1]), the class names and thresholds, and the SHA-256 of every file. Then the runtime itself (not onnxruntime
called directly) finds the boxes of the check images, and every detection must have its twin in PyTorch's within
BOX_TOLERANCE pixels and SCORE_TOLERANCE in score; else no folder is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from transferkit.bundle import write_manifest
from transferkit.detection.export import (
    BOX_TOLERANCE,
    SCORE_TOLERANCE,
    DetectionExport,
    compare_detections,
    export_detection,
    read_rgb_tensor,
)
from transferkit.detection.model_io import load_detection_model
from transferkit.detection.predict import image_inputs
from transferkit.errors import ConfigError
from transferkit.run_folder import built_aside
from transferkit.runtime import BUNDLE_FORMAT, BUNDLE_MANIFEST, load_bundle
from transferkit.version import __version__

GRAPH = "model.onnx"


def detection_manifest(model_dir: Path, loaded: Any) -> dict[str, Any]:
    """bundle.json's content for a loaded detection model folder (files and parity are added by the caller)."""
    config = loaded.config
    return {
        "format": BUNDLE_FORMAT,
        "transferkit_version": __version__,
        "source": str(model_dir),
        "modality": "image",
        "task": {
            "name": "detection",
            "state": {
                "class_names": list(loaded.classes),
                "score_threshold": float(config.score_threshold),
                "nms_iou": float(config.nms_iou),
                "detections_per_image": int(config.detections_per_image),
            },
        },
        "inputs": ["image"],
        "preprocessing": {
            "input": "image",
            "decoding": "Pillow convert('RGB'), no EXIF rotation (as detection training reads images)",
            "layout": "float32 (3, H, W) in [0, 1] at the image's own size",
            "in_graph": f"resize to {config.min_size}-{config.max_size} px, ImageNet-style normalisation, NMS",
        },
        "backbone": {"spec": config.backbone},
        "detector": config.to_dict(),
        "graphs": {"fp32": GRAPH},
        "default_graph": "fp32",
    }


def runtime_parity(staging: Path, loaded: Any, images: list[Path]) -> tuple[float, int]:
    """The bundle's runtime against PyTorch on `images`: (largest difference, detections compared)."""
    bundle = load_bundle(staging)
    worst, compared = 0.0, 0
    with torch.no_grad():
        for path in images:
            expected = loaded.model([read_rgb_tensor(path)])[0]
            found = bundle.detections([path])[0]
            got = (found["boxes"], found["labels"] + 1, found["scores"])
            diff, count = compare_detections(expected, got, path, cap=loaded.config.detections_per_image)
            worst, compared = max(worst, diff), compared + count
    return worst, compared


def export_detection_bundle(
    model_dir: str | Path, output: str | Path, *, check_inputs: list[str | Path], limit: int = 8
) -> DetectionExport:
    """Write the torch-free bundle of a detection model folder into the folder `output` (replaced only when the
    runtime's boxes match PyTorch's on the check images).
    """
    model_dir, output = Path(model_dir), Path(output)
    if output.exists() and not (output / BUNDLE_MANIFEST).is_file():
        raise ConfigError(
            f"--bundle {output} exists and is not a bundle; pass a new folder (an old bundle is replaced)."
        )
    images = image_inputs(list(check_inputs))[:limit]
    output.parent.mkdir(parents=True, exist_ok=True)
    with built_aside(output) as staging:
        exported = export_detection(model_dir, output=staging / GRAPH, check_inputs=images, limit=limit)
        exported.metadata_path.unlink(missing_ok=True)  # bundle.json holds what it said
        loaded = load_detection_model(model_dir)
        manifest = detection_manifest(model_dir, loaded)
        write_manifest(staging, manifest)
        worst, compared = runtime_parity(staging, loaded, images)
        manifest["parity"] = {
            "images": len(images),
            "boxes": compared,
            "max_abs_diff": worst,
            "tolerance": {"box_pixels": BOX_TOLERANCE, "score": SCORE_TOLERANCE},
            "checked": "transferkit.runtime against PyTorch, detections after NMS",
        }
        write_manifest(staging, manifest)
    return DetectionExport(output, output / BUNDLE_MANIFEST, len(images), worst, exported.tolerance, compared)

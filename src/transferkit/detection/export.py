"""ONNX export of a detection model folder, with a parity check on real images after NMS.

The graph takes one float image (3, H, W) in [0, 1] and returns boxes, labels and scores: torchvision's
resizing, normalisation and NMS are inside it (the TorchScript-based exporter, opset 17, which torchvision's
detectors support). Parity: the same images through PyTorch and onnxruntime must give the same number of
boxes, with corners within BOX_TOLERANCE pixels and scores within SCORE_TOLERANCE.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from transferkit.backbones.onnx_embedder import trace_to_onnx
from transferkit.detection.augment import read_rgb
from transferkit.detection.model_io import load_detection_model
from transferkit.detection.predict import image_inputs
from transferkit.errors import ArtifactError, ConfigError
from transferkit.run_folder import check_output, write_json

BOX_TOLERANCE = 0.05  # pixels
SCORE_TOLERANCE = 1e-4
OPSET = 17


@dataclass
class DetectionExport:
    path: Path
    metadata_path: Path
    checked_inputs: int
    max_abs_diff: float  # boxes (pixels) and scores, the larger
    tolerance: float
    boxes_compared: int


def read_rgb_tensor(path: Path) -> torch.Tensor:
    """An image file as detection training reads it: RGB, float (3, H, W) in [0, 1]."""
    from torchvision.transforms.v2.functional import pil_to_tensor

    return pil_to_tensor(read_rgb(path)).float() / 255


def _kept(output: dict | list, floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    boxes, labels, scores = (
        (output["boxes"].numpy(), output["labels"].numpy(), output["scores"].numpy())
        if isinstance(output, dict)
        else output
    )
    keep = scores >= floor
    return boxes[keep], labels[keep], scores[keep]


def _unmatched(a: tuple, b: tuple) -> tuple[int, float]:
    """(count of detections in `a` with no same-class detection of `b` within tolerance, worst difference)."""
    missing, worst = 0, 0.0
    for box, label, score in zip(*a, strict=True):
        same = b[1] == label
        if not same.any():
            missing += 1
            continue
        distance = np.abs(b[0][same] - box).max(axis=1)
        best = int(np.argmin(distance))
        gap = max(float(distance[best]), float(abs(b[2][same][best] - score)) * BOX_TOLERANCE / SCORE_TOLERANCE)
        missing += gap > BOX_TOLERANCE
        worst = max(worst, float(distance[best]), float(abs(b[2][same][best] - score)))
    return missing, worst


def compare_detections(torch_out: dict, onnx_out: list[np.ndarray], where: Path, *, cap: int) -> tuple[float, int]:
    """Every detection of one runtime has its twin in the other (same class, corners and score within tolerance).

    Detections whose score ties at the cut of `cap` per image, or sits at the score threshold, may fall either
    way in either runtime, so a capped output is compared above its lowest score."""
    scores = torch_out["scores"].numpy()
    floor = float(scores.min()) + 1e-3 if len(scores) >= cap else 0.0
    ours, theirs = _kept(torch_out, floor), _kept(onnx_out, floor + SCORE_TOLERANCE)
    missing, worst = _unmatched(theirs, _kept(torch_out, floor - SCORE_TOLERANCE))
    extra, worst_back = _unmatched(ours, _kept(onnx_out, floor - SCORE_TOLERANCE))
    if missing or extra:
        raise ArtifactError(
            f"ONNX parity failed on {where}: {extra} PyTorch and {missing} onnxruntime detection(s) have no twin "
            f"within {BOX_TOLERANCE} px and {SCORE_TOLERANCE} in score; the export was not kept."
        )
    return max(worst, worst_back), len(ours[0])


def _export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """The graph's outputs are named after the detector's output keys (their order differs between detectors)."""
    with torch.no_grad():
        names = list(model([example])[0])
    trace_to_onnx(
        model,
        ([example],),
        path,
        opset=OPSET,
        input_names=["image"],
        output_names=names,
        dynamic_axes={"image": {1: "height", 2: "width"}} | {name: {0: "n"} for name in names},
    )


def export_detection(
    model_dir: str | Path,
    *,
    format: str = "onnx",
    output: str | Path | None = None,
    check_inputs: list[str | Path] | None = None,
    limit: int = 8,
    bundle: str | Path | None = None,
    quantize: str = "none",
    **_: object,
) -> DetectionExport:
    """Write model.onnx (or `output`) and model.onnx.json, kept only if parity holds on the check images; with
    `bundle`, a torch-free bundle folder there instead (transferkit.detection.bundle)."""
    if format != "onnx":
        raise ConfigError(f"Detection models export to onnx only; drop --format {format}.")
    if quantize != "none":
        raise ConfigError(
            f"--quantize {quantize} is for classification and regression bundles; drop it for a detector."
        )
    if not check_inputs:
        raise ConfigError("Detection export needs real images for the parity check: pass --check IMAGE_OR_FOLDER.")
    if bundle is not None:
        from transferkit.detection.bundle import export_detection_bundle

        return export_detection_bundle(model_dir, bundle, check_inputs=check_inputs, limit=limit)
    import onnxruntime

    loaded = load_detection_model(model_dir)
    images = image_inputs(list(check_inputs))[:limit]
    target = Path(output) if output is not None else Path(model_dir) / "model.onnx"
    check_output(target)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        staged = Path(scratch) / target.name
        example = read_rgb_tensor(images[0])
        _export_onnx(loaded.model, example, staged)  # trace_to_onnx keeps the tracer's notes from the user
        session = onnxruntime.InferenceSession(str(staged), providers=["CPUExecutionProvider"])
        worst, compared = 0.0, 0
        with torch.no_grad():
            for path in images:
                tensor = read_rgb_tensor(path)
                ran = session.run(["boxes", "labels", "scores"], {"image": tensor.numpy()})
                outputs = loaded.model([tensor])[0], ran
                diff, count = compare_detections(*outputs, path, cap=loaded.config.detections_per_image)
                worst, compared = max(worst, diff), compared + count
        shutil.move(str(staged), target)
    metadata = target.with_name(target.name + ".json")
    write_json(
        metadata,
        {
            "task": "detection",
            "classes": loaded.classes,
            "input": "image: float32 (3, H, W), RGB in [0, 1]; resizing and normalisation are inside the graph",
            "outputs": "boxes (N, 4) x1 y1 x2 y2 in input pixels, labels (N,) 1..K (0 is background), scores (N,)",
            "parity": {"images": len(images), "boxes": compared, "max_abs_diff": worst},
        },
    )
    return DetectionExport(target, metadata, len(images), worst, max(BOX_TOLERANCE, SCORE_TOLERANCE), compared)

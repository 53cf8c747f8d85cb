"""A detection model folder: model.json (task, classes, detector architecture, checksum) and model.safetensors.

Loading rebuilds the architecture from model.json with random weights and loads the safetensors file after
its checksum matches: no pickle, no code from the folder, no download (the backbone's ImageNet weights are
inside the saved tensors).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from transferkit.detection.detectors import DetectorConfig, build_detector
from transferkit.errors import ArtifactError
from transferkit.run_folder import built_aside, readable_folder, write_json

KIND = "transferkit-detection"
WEIGHTS = "model.safetensors"


@dataclass
class DetectionModel:
    """A detector, its classes and its architecture record."""

    model: nn.Module
    classes: list[str]
    config: DetectorConfig
    metadata: dict[str, Any]


def save_detection_model(
    model: nn.Module, folder: str | Path, *, classes: list[str], config: DetectorConfig, metadata: dict[str, Any]
) -> Path:
    """Write the model folder beside `folder` and swap it in (a crash leaves the old folder or none)."""
    from safetensors.torch import save_model

    from transferkit.backbones.base import sha256_file

    folder = Path(folder)
    with built_aside(folder) as staging:
        save_model(model, str(staging / WEIGHTS))
        manifest = {
            "kind": KIND,
            "format_version": 1,
            "task": {"name": "detection", "classes": list(classes)},
            "detector": config.to_dict(),
            "weights": {"file": WEIGHTS, "sha256": sha256_file(staging / WEIGHTS)},
            "metadata": metadata,
        }
        write_json(staging / "model.json", manifest)
    return folder


def read_detection_manifest(folder: str | Path) -> dict[str, Any]:
    folder = readable_folder(folder)
    path = folder / "model.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(
            f"{path} is missing or not JSON ({exc.__class__.__name__}); pass runs/NAME/model."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise ArtifactError(f"{path} is not a transferkit detection model; pass the model folder of a detection run.")
    return manifest


def load_detection_model(folder: str | Path) -> DetectionModel:
    """The saved detector, checksum-verified, in eval mode."""
    from safetensors.torch import load_model

    from transferkit.backbones.base import sha256_file

    folder = readable_folder(folder)
    manifest = read_detection_manifest(folder)
    try:
        config = DetectorConfig(**manifest["detector"])
        classes = [str(name) for name in manifest["task"]["classes"]]
        expected = manifest["weights"]["sha256"]
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"{folder / 'model.json'} lacks a field ({exc}); re-export the model.") from None
    weights = folder / WEIGHTS
    if not weights.is_file() or sha256_file(weights) != expected:
        raise ArtifactError(f"{weights} is missing or its checksum does not match model.json; copy the folder again.")
    model = build_detector(config, pretrained=False)
    load_model(model, str(weights))
    model.eval()
    return DetectionModel(model=model, classes=classes, config=config, metadata=manifest.get("metadata") or {})

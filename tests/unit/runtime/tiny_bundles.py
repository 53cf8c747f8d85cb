"""Small real-data models and their bundles for the runtime and serving tests (a table model exports in ~2 s)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from transferkit.artifacts import save_model
from transferkit.backbones import create_backbone
from transferkit.bundle import export_bundle
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel


def breast_cancer_rows() -> tuple[list[str], list[str]]:
    """scikit-learn's breast_cancer table as JSON rows (strings, as transferkit reads tables) and labels."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    rows = [json.dumps({k: str(v) for k, v in row.items()}) for row in data.data.to_dict("records")]
    return rows, [str(data.target_names[t]) for t in data.target]


def transfer_model(backbone, classes: list[str]) -> TransferModel:
    torch.manual_seed(0)
    head = ClassifierHead(in_features=backbone.num_features, num_classes=len(classes))
    return TransferModel(backbone, head, classes).eval()


def table_model_folder(folder: Path) -> tuple[Path, list[str]]:
    """A tabular:mlp model (preprocessing fitted on 400 real rows, random weights) saved with 8 held-out rows."""
    rows, _ = breast_cancer_rows()
    backbone = create_backbone("tabular:mlp")
    backbone.fit_preprocessing(rows[:400])
    model = transfer_model(backbone, ["malignant", "benign"])
    return save_model(model, folder, backbone_trained=True, examples=rows[400:408]), rows[400:]


def table_bundle(root: Path, **options) -> tuple[Path, Path, list[str]]:
    """(model folder, bundle folder, held-out rows) of the table model."""
    folder, rows = table_model_folder(root / "model")
    export_bundle(folder, root / "bundle", **options)
    return folder, root / "bundle", rows


def tiny_image_bundle(root: Path) -> Path:
    """A hand-made image bundle: a tiny random conv net (softmax over 2 classes) at 32 px, written as export does."""
    from torch import nn

    from transferkit.runtime import BUNDLE_FORMAT, BUNDLE_MANIFEST, file_sha256

    root.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Softmax(-1)).eval()
    torch.onnx.export(
        net,
        (torch.zeros(1, 3, 32, 32),),
        str(root / "model.onnx"),
        input_names=["pixels"],
        output_names=["probabilities"],
        dynamic_axes={"pixels": {0: "batch"}, "probabilities": {0: "batch"}},
        dynamo=False,
    )
    manifest = {
        "format": BUNDLE_FORMAT,
        "modality": "image",
        "task": {"name": "classification", "state": {"class_names": ["dark", "light"], "threshold": None}},
        "inputs": ["pixels"],
        "preprocessing": {
            "resize": 36,
            "crop": [32, 32],
            "interpolation": "bilinear",
            "mean": [0.5] * 3,
            "std": [0.5] * 3,
        },
        "graphs": {"fp32": "model.onnx"},
        "files": {"model.onnx": file_sha256(root / "model.onnx")},
    }
    (root / BUNDLE_MANIFEST).write_text(json.dumps(manifest))
    return root

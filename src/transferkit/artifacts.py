"""Save / load a trained model folder: weights.safetensors + model.json (labels, backbone, preprocessing).

The folder is written under a temporary name and renamed into place, and model.json records the
SHA-256 of every file, so a killed run never leaves a folder that loads but is incomplete.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from transferkit.backbones import create_backbone
from transferkit.backbones.base import sha256_file
from transferkit.errors import ArtifactError
from transferkit.heads import ClassifierHead
from transferkit.model import TransferModel

FORMAT_VERSION = 1
MANIFEST = "model.json"
WEIGHTS = "weights.safetensors"


def backbone_options(model: TransferModel) -> dict[str, Any]:
    """The options needed to rebuild the same backbone (e.g. the text token limit)."""
    pre = model.backbone.weights_cfg.preprocessing
    return {"max_length": pre["max_length"]} if "max_length" in pre else {}


def _unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU copies of `state` in which no two tensors share memory.

    Tied weights (a decoder's input embedding and LM head) are one tensor under two names; safetensors
    refuses shared memory, so later names get their own copy. Loading fills both names again.
    """
    seen: set[int] = set()
    unshared = {}
    for key, value in state.items():
        tensor = value.detach().cpu().contiguous()
        pointer = tensor.untyped_storage().data_ptr()
        unshared[key] = tensor.clone() if pointer in seen else tensor
        seen.add(pointer)
    return unshared


def save_model(
    model: TransferModel, folder: str | Path, *, backbone_trained: bool, metadata: dict[str, Any] | None = None
) -> Path:
    """Write `model` to `folder` atomically; returns the folder.

    Example:
        >>> save_model(result.model, "runs/demo/model", backbone_trained=False)  # doctest: +SKIP
    """
    from transferkit import __version__

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        tensors = {f"head.{key}": value.detach().cpu().contiguous() for key, value in model.head.state_dict().items()}
        if backbone_trained:
            tensors.update(_unshared({f"backbone.{key}": value for key, value in model.backbone.state_dict().items()}))
        save_file(tensors, str(staging / WEIGHTS))
        manifest = {
            "format_version": FORMAT_VERSION,
            "transferkit_version": __version__,
            "class_names": model.class_names,
            "backbone": {
                "spec": model.backbone.spec,
                "options": backbone_options(model),
                "weights": model.backbone.weights_cfg.to_dict(),
                "trained": backbone_trained,
            },
            "head": model.head.config,
            "metadata": metadata or {},
            "files": {WEIGHTS: sha256_file(staging / WEIGHTS)},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _swap_into_place(staging: Path, folder: Path) -> None:
    if folder.exists():
        retired = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(folder, retired)
        os.replace(staging, folder)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, folder)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{folder} is not a transferkit model folder (no {MANIFEST}); pass runs/NAME/model.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is corrupt ({exc.msg}); retrain or restore the model folder.") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format version {manifest.get('format_version')}; this transferkit reads "
            f"{FORMAT_VERSION}. Upgrade transferkit or retrain."
        )
    for name, checksum in manifest["files"].items():
        file = folder / name
        if not file.is_file() or sha256_file(file) != checksum:
            raise ArtifactError(f"{file} is missing or does not match its checksum; the model folder is incomplete.")
    return manifest


def load_model(folder: str | Path) -> TransferModel:
    """Rebuild the TransferModel saved in `folder` (weights checked against model.json).

    Example:
        >>> model = load_model("runs/demo/model")  # doctest: +SKIP
        >>> model.predict_proba(["Delicious and fresh."])
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    info = manifest["backbone"]
    backbone = create_backbone(info["spec"], **info["options"])
    if backbone.weights_cfg.checksum != info["weights"]["checksum"]:
        raise ArtifactError(
            f"{folder} was trained on backbone weights {info['weights']['checksum'][:12]}..., but "
            f"'{info['spec']}' now loads {backbone.weights_cfg.checksum[:12]}...; install the original weights."
        )
    head = ClassifierHead(**manifest["head"])
    tensors = load_file(str(folder / WEIGHTS))
    head.load_state_dict({k.removeprefix("head."): v for k, v in tensors.items() if k.startswith("head.")})
    if info["trained"]:
        backbone.load_state_dict(
            {k.removeprefix("backbone."): v for k, v in tensors.items() if k.startswith("backbone.")}
        )
    model = TransferModel(backbone, head, manifest["class_names"])
    return model.eval()

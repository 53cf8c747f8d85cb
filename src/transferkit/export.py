"""Export a saved model to TorchScript or ONNX, with a parity check against PyTorch on real inputs.

The exported graph maps model-ready tensors to class probabilities: pixels (N, 3, H, W) for image
models, ``input_ids`` and ``attention_mask`` for text models. What turns raw inputs into those tensors
(resize / normalisation, or the tokenizer and its max length) is written beside it as
``<name>.<suffix>.json`` (model.onnx.json) together with the class names, the task (with its decision policy)
and the backbone's weights record.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from transferkit.artifacts import load_model, load_task
from transferkit.backbones.onnx_embedder import trace_to_onnx
from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.models.feature_model import FeatureModel
from transferkit.models.predictor import Predictor
from transferkit.run_folder import atomic_output, check_output, write_json
from transferkit.tasks import ClassificationTask, task_record

ExportFormat = Literal["torchscript", "onnx"]
PARITY_TOLERANCE = 1e-4
SUFFIXES = {"torchscript": ".pt", "onnx": ".onnx"}


class _Probabilities(nn.Module):
    """Tensors in, the model's predictions out (class or label probabilities, or values): the exported graph."""

    def __init__(self, model: Predictor) -> None:
        super().__init__()
        self.model = model

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.model.activate(self.model.forward_tensors(*tensors))


@dataclass
class ExportResult:
    """The exported file, its metadata file and the parity check's outcome."""

    path: Path
    metadata_path: Path
    max_abs_diff: float
    tolerance: float
    checked_inputs: int

    @property
    def parity_ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def input_tensors(model: Predictor, inputs: list[str]) -> tuple[tuple[torch.Tensor, ...], list[str]]:
    """The exported graph's input tensors for raw `inputs`, and their names."""
    return model.model_inputs(inputs)


def run_exported(path: Path, format: ExportFormat, tensors: tuple[torch.Tensor, ...], names: list[str]) -> np.ndarray:
    """Class probabilities from the exported file at `path` (TorchScript or ONNX) for `input_tensors`' output."""
    if format == "torchscript":
        loaded = torch.jit.load(str(path))
        with torch.inference_mode():
            return loaded(*tensors).numpy()
    onnxruntime = require("onnxruntime", extra="export", purpose="Checking an ONNX export")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: t.numpy() for name, t in zip(names, tensors, strict=True)})[0]


def metadata_path_for(path: Path) -> Path:
    """model.onnx -> model.onnx.json: beside the export, never the model folder's own model.json."""
    return path.with_name(path.name + ".json")


def onnx_predict_proba(model: Predictor, inputs: list[str], *, path: str | Path, batch_size: int = 32) -> np.ndarray:
    """Probabilities from an exported ONNX file run by onnxruntime; `model` supplies only the preprocessing
    (tokenizer / image transform / classic features) that turns raw inputs into the graph's tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(
            f"{path} does not exist; export the model first: transferkit export MODEL --format onnx --check INPUTS."
        )
    metadata_path = metadata_path_for(path)
    if metadata_path.is_file():
        exported = json.loads(metadata_path.read_text(encoding="utf-8")).get("class_names")
        if exported != model.class_names:
            raise ArtifactError(f"{path} was exported from another model (classes {exported}); export this one again.")
    onnxruntime = require("onnxruntime", extra="export", purpose="predict --runtime onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    chunks = []
    for start in range(0, len(inputs), batch_size):
        tensors, names = input_tensors(model, inputs[start : start + batch_size])
        chunks.append(session.run(None, {name: t.numpy() for name, t in zip(names, tensors, strict=True)})[0])
    return np.concatenate(chunks) if chunks else np.zeros((0, len(model.class_names)), np.float32)


def export_model(
    model: Predictor | str | Path,
    *,
    format: ExportFormat = "torchscript",
    output: str | Path | None = None,
    check_inputs: list[str],
    tolerance: float = PARITY_TOLERANCE,
    allow_download: bool = False,
) -> ExportResult:
    """Export `model` (a model folder or a TransferModel) and check it against PyTorch on `check_inputs`.

    Args:
        model: A model folder (runs/NAME/model) or a loaded TransferModel.
        format: ``torchscript`` (torch.jit.trace) or ``onnx`` (needs the `export` extra).
        output: The file to write; default ``model.pt`` / ``model.onnx`` inside the model folder.
        check_inputs: Real inputs (image paths or texts) for the parity check; at least one.
        tolerance: Largest allowed absolute difference of any class probability (fp32).
        allow_download: Let a model folder's backbone fetch its weights from their hub (default: local only).

    Raises:
        ArtifactError: when the exported model disagrees with PyTorch by more than `tolerance`.
    """
    if format not in SUFFIXES:
        raise ConfigError(f"The 'format' option must be one of {', '.join(SUFFIXES)}. Got {format!r}.")
    if not check_inputs:
        raise ConfigError("Export needs real inputs for its parity check; pass image files or texts (--check).")
    if output is not None:
        check_output(output)
    in_memory = not isinstance(model, str | Path)
    folder = None if in_memory else Path(model)
    loaded = model if in_memory else load_model(model, allow_download=allow_download)
    loaded.eval()
    path = Path(output) if output is not None else (folder or Path(".")) / f"model{SUFFIXES[format]}"
    wrapper = _Probabilities(loaded).eval()
    tensors, names = input_tensors(loaded, list(check_inputs))
    with torch.inference_mode():
        expected = wrapper(*tensors).numpy()
    # Written under a temporary name and renamed onto `path` only once parity holds: a rejected export is
    # deleted, so `predict --runtime onnx` never runs it, and an earlier good export stays in place.
    with atomic_output(path) as staged:
        _write_export(wrapper, tensors, names, format=format, path=staged)
        difference = float(np.abs(run_exported(staged, format, tensors, names) - expected).max())
        if difference > tolerance:
            raise ArtifactError(
                f"The {format} export {path} differs from PyTorch by {difference:.2e} (> {tolerance:.0e}) on "
                f"{len(check_inputs)} input(s); it was not written. Try the other format or report the model."
            )
    metadata_path = metadata_path_for(path)
    backbone = loaded.backbone
    backbone_record = None
    if backbone is not None:
        backbone_record = {
            "spec": backbone.spec,
            "modality": backbone.modality,
            "weights": backbone.weights_cfg.to_dict(),
        }
    metadata = {
        "format": format,
        "inputs": names,
        "output": "probabilities",
        "class_names": loaded.class_names,
        # The task and its decision policy (e.g. a tuned threshold), so the graph's probabilities decide as
        # `predict` does; a model passed in memory is single-label classification with argmax.
        "task": task_record(load_task(folder) if folder else ClassificationTask(class_names=loaded.class_names)),
        "backbone": backbone_record,
        # classic / concat models: the feature transform (TF-IDF vocabulary in the model folder's
        # classic_vocabulary.json, or grey pixels) that makes the "classic_features" input.
        "classic_features": loaded.classic.config() if isinstance(loaded, FeatureModel) else None,
        # strategy auto's ensemble: its members and weights, and each classic_features[_k] input's transform (the
        # TF-IDF vocabularies are in the model folder's member-NAME/classic_vocabulary.json)
        "ensemble": _ensemble_record(loaded) if getattr(loaded, "kind", "") == "ensemble" else None,
        "parity": {"max_abs_diff": difference, "tolerance": tolerance, "inputs": len(check_inputs)},
    }
    write_json(metadata_path, metadata)
    return ExportResult(path, metadata_path, difference, tolerance, len(check_inputs))


def _ensemble_record(model: Predictor) -> dict:
    """An ensemble's members (weights, and the graph input of each classic / concat member's features)."""
    inputs = iter(model.classic_input_names())
    members = []
    for name, member, weight in zip(model.names, model.members, model.weights, strict=True):
        features = isinstance(member, FeatureModel)
        record = {"name": name, "weight": weight, "folder": f"member-{name}"}
        members.append(
            record | ({"input": next(inputs), "classic_features": member.classic.config()} if features else {})
        )
    return {"members": members}


def _write_export(
    wrapper: nn.Module, tensors: tuple[torch.Tensor, ...], names: list[str], *, format: ExportFormat, path: Path
) -> None:
    if format == "torchscript":
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # notes on Python branches; parity checks after
            traced = torch.jit.trace(wrapper, tensors, check_trace=False)
        traced.save(str(path))
        return
    require("onnx", extra="export", purpose="ONNX export")
    tokens = ("input_ids", "attention_mask")
    dynamic = {name: {0: "batch"} | ({1: "tokens"} if name in tokens else {}) for name in names}
    trace_to_onnx(
        wrapper,
        tensors,
        path,
        input_names=names,
        output_names=["probabilities"],
        dynamic_axes=dynamic | {"probabilities": {0: "batch"}},
    )

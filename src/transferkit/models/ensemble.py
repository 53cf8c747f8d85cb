"""An ensemble of auto's cheap models: the weighted mean of 2-3 members' class probabilities (issue 21).

`--strategy auto` scores the best 2-3 of its cheap candidates (probe, classic, concat) averaged with weights chosen
out of fold (strategies/auto_ensemble.py); when that average beats the single choice beyond its noise, their final
models are fitted on every training row and saved together as an `EnsembleModel`. Its probabilities are the
members' probabilities mixed by those weights, decided by the task's rule (argmax, calibration) like any model's.
Members that read the same backbone share it: each input is embedded once.

On disk (`transferkit.artifacts.save_model`) each member is a model folder of its own, in its own format
(member-probe/, member-concat/ ...), and ensemble.json lists them with their weights and the SHA-256 of each
member's model.json (which checks that member's files): the folder's model.json checks ensemble.json.

Export traces one graph: the backbone's tensors (once) and each feature member's classic feature rows in, the mixed
probabilities out (`forward_tensors` returns their logarithm, which the softmax of `activate` turns back into them).

Example::

    model = EnsembleModel({"probe": probe, "concat": concat}, weights=[0.5, 0.5], class_names=["neg", "pos"])
    model.predict_proba(["Stale and overpriced."])  # 0.5 * probe's + 0.5 * concat's probabilities
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from transferkit.backbones.base import Backbone, sha256_file
from transferkit.backbones.model_folder import MANIFEST, plain_file_name
from transferkit.errors import ArtifactError
from transferkit.models.feature_model import CLASSIC_INPUT, FeatureModel
from transferkit.models.predictor import batched_proba
from transferkit.models.transfer_model import TransferModel

ENSEMBLE_FILE = "ensemble.json"
MEMBER_PREFIX = "member-"
TINY_PROBABILITY = 1e-30  # log(0) guard in the exported graph: a mixture row always sums to 1


def describe(names: list[str], weights: list[float]) -> str:
    """The one line the report, the card and error messages use.

    Example:
        >>> describe(["probe", "concat"], [0.75, 0.25])
        'an ensemble of probe, concat (weights 0.75, 0.25)'
    """
    return f"an ensemble of {', '.join(names)} (weights {', '.join(f'{w:g}' for w in weights)})"


class EnsembleModel(nn.Module):
    """Members' class probabilities (each a TransferModel head or a FeatureModel) mixed with fixed weights."""

    kind = "ensemble"  # how it is saved (see `transferkit.models.predictor.Predictor`)

    def __init__(self, members: dict[str, nn.Module], *, weights: list[float], class_names: list[str]) -> None:
        super().__init__()
        if len(members) < 2 or len(weights) != len(members):
            raise ValueError(f"an ensemble needs 2 or more members and one weight each; got {list(members)}, {weights}")
        for name, member in members.items():
            if not isinstance(member, TransferModel | FeatureModel) or list(member.class_names) != list(class_names):
                raise ValueError(f"member {name} is not a backbone + head or feature model over classes {class_names}")
        total = float(sum(weights))
        self.names = list(members)
        self.members = nn.ModuleList(members.values())
        self.weights = [float(w) / total for w in weights]
        self.class_names = list(class_names)
        backbones = [m.backbone for m in self.members if m.backbone is not None]
        self._backbone = backbones[0] if backbones else None
        # Members reading the backbone object itself take its embeddings once; another backbone embeds for its own
        self.shared = [m.backbone is not None and m.backbone is self._backbone for m in self.members]

    @property
    def modality(self) -> str:
        return self.members[0].modality

    @property
    def backbone(self) -> Backbone | None:
        """The members' backbone (the first member's that has one; None when all are classic)."""
        return self._backbone

    def describe(self) -> str:
        return describe(self.names, self.weights)

    def _member_proba(self, index: int, embeddings: torch.Tensor | None, classic: torch.Tensor | None, items):
        """Member `index`'s probabilities for one batch (`embeddings` of the shared backbone, `classic` its rows)."""
        member = self.members[index]
        if isinstance(member, TransferModel):
            if not self.shared[index]:
                return member.activate(member(member.backbone.load_batch(items)))
            return member.activate(member.head(embeddings))
        if member.backbone is None:
            return member.logits(None, classic).softmax(dim=-1)
        if not self.shared[index]:
            return member(*member.model_inputs(items)[0]).softmax(dim=-1)
        return member.logits(embeddings, classic).softmax(dim=-1)

    def _mix(self, embeddings: torch.Tensor | None, classics: list[torch.Tensor | None], items) -> torch.Tensor:
        return sum(
            weight * self._member_proba(index, embeddings, classics[index], items)
            for index, weight in enumerate(self.weights)
        )

    def _classic_rows(self, items: list[str]) -> list[torch.Tensor | None]:
        return [
            torch.as_tensor(m.classic.transform(items)) if isinstance(m, FeatureModel) else None for m in self.members
        ]

    @torch.inference_mode()
    def predict_proba(
        self, inputs: list[str], *, batch_size: int = 32, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """The members' probabilities mixed by the weights; `embeddings` (the shared backbone's, cached) skip it."""
        self.eval()

        def proba_of(start: int, items: list[str]) -> torch.Tensor:
            embedded = None
            if embeddings is not None:
                embedded = torch.as_tensor(embeddings[start : start + len(items)], dtype=torch.float32)
            elif any(self.shared):
                embedded = self._backbone(self._backbone.load_batch(items))
            return self._mix(embedded, self._classic_rows(items), items)

        return batched_proba(inputs, batch_size=batch_size, outputs=len(self.class_names), proba_of=proba_of)

    # --- the exported graph -----------------------------------------------------------------------------
    def classic_input_names(self) -> list[str]:
        """The graph's classic feature inputs, one per feature member in order: classic_features, classic_features_1,
        ... (after the shared backbone's tensors)."""
        count = sum(isinstance(m, FeatureModel) for m in self.members)
        return [CLASSIC_INPUT if k == 0 else f"{CLASSIC_INPUT}_{k}" for k in range(count)]

    def model_inputs(self, inputs: list[str]) -> tuple[tuple[torch.Tensor, ...], list[str]]:
        """The tensors `forward_tensors` takes for raw `inputs`, and their names in an exported graph."""
        if not all(self.shared[i] for i, m in enumerate(self.members) if m.backbone is not None):
            raise ArtifactError(f"{self.describe()} reads more than one backbone; it cannot be exported as one graph")
        tensors: list[torch.Tensor] = []
        names: list[str] = []
        if self._backbone is not None:
            batch = self._backbone.load_batch(inputs)
            if isinstance(batch, dict):  # a tokenizer's output
                tensors, names = [batch["input_ids"], batch["attention_mask"]], ["input_ids", "attention_mask"]
            else:
                tensors, names = [batch], ["pixels"]
        tensors += [row for row in self._classic_rows(inputs) if row is not None]
        return tuple(tensors), names + self.classic_input_names()

    def forward_tensors(self, *tensors: torch.Tensor) -> torch.Tensor:
        """The log of the mixed probabilities (`activate`'s softmax gives them back) from `model_inputs`' tensors."""
        width = len(tensors) - len(self.classic_input_names())  # the backbone's tensors: none, one or a tokenizer's two
        embeddings = None
        if width:
            batch: Any = tensors[0] if width == 1 else {"input_ids": tensors[0], "attention_mask": tensors[1]}
            embeddings = self._backbone(batch)
        rows = iter(tensors[width:])
        classics = [next(rows) if isinstance(m, FeatureModel) else None for m in self.members]
        return torch.log(self._mix(embeddings, classics, None).clamp_min(TINY_PROBABILITY))

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.forward_tensors(*tensors)

    def activate(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.softmax(dim=-1)


def save_members(model: EnsembleModel, staging: Path, *, save: Callable[[nn.Module, Path], Any]) -> dict[str, Any]:
    """Each member saved by `save(member, folder)` into member-NAME/ of `staging`, and ensemble.json listing them
    with their weights and the SHA-256 of their model.json; returns the model record for model.json."""
    listed = []
    for name, member, weight in zip(model.names, model.members, model.weights, strict=True):
        folder = staging / f"{MEMBER_PREFIX}{name}"
        save(member, folder)
        listed.append({"name": name, "folder": folder.name, "weight": weight, "sha256": sha256_file(folder / MANIFEST)})
    (staging / ENSEMBLE_FILE).write_text(json.dumps({"members": listed}, indent=2), encoding="utf-8")
    return {"kind": EnsembleModel.kind, "modality": model.modality, "members": model.names, "weights": model.weights}


def load_members(folder: Path, manifest: dict[str, Any], *, load: Callable[[Path], nn.Module]) -> EnsembleModel:
    """The ensemble saved in `folder`: ensemble.json (checked by model.json), each member's model.json checked
    against it, each member loaded by `load(member_folder)`."""
    if ENSEMBLE_FILE not in manifest["files"]:
        raise ArtifactError(f"{folder / MANIFEST} does not list {ENSEMBLE_FILE}; retrain or restore the model folder.")
    try:
        listed = json.loads((folder / ENSEMBLE_FILE).read_text(encoding="utf-8"))["members"]
        entries = [(str(e["name"]), str(e["folder"]), float(e["weight"]), str(e["sha256"])) for e in listed]
    except (ValueError, KeyError, TypeError):
        raise ArtifactError(f"{folder / ENSEMBLE_FILE} is malformed; retrain or restore the model folder.") from None
    members = {}
    for name, member_folder, _weight, checksum in entries:
        path = folder / plain_file_name(member_folder, manifest=folder / ENSEMBLE_FILE)
        if not (path / MANIFEST).is_file() or sha256_file(path / MANIFEST) != checksum:
            raise ArtifactError(f"{path / MANIFEST} is missing or does not match {folder / ENSEMBLE_FILE}; restore it.")
        members[name] = load(path)
    try:
        return EnsembleModel(
            members, weights=[entry[2] for entry in entries], class_names=manifest["class_names"]
        ).eval()
    except ValueError as exc:
        raise ArtifactError(f"{folder / ENSEMBLE_FILE} does not describe a usable ensemble ({exc}); retrain.") from None

"""Models on classic features, as torch modules that save without pickle and export like a TransferModel.

`--strategy auto` may choose one of two models that are not a backbone + head:

- classic: TF-IDF (texts) or grey pixels (images) + logistic regression (the classic baseline);
- concat: pretrained embeddings next to those classic features + logistic regression.

Both are fitted with scikit-learn and then copied into a `FeatureModel`: an optional frozen backbone, the
standardisation of each part (buffers) and one linear layer, so they predict with the same interface as a
TransferModel (`class_names`, `predict_proba`), save as safetensors + JSON (the TF-IDF vocabulary and idf are
data, not a pickled object) and export to ONNX / TorchScript: the graph takes the backbone's tensors and the
classic feature rows ("classic_features"); `ClassicFeatures` turns raw inputs into those rows.

Example::

    baseline = ClassicBaseline(modality="text").fit(texts, labels)
    model = classic_model(baseline, class_names=["great", "other"])
    model.predict_proba(["Stale and overpriced."])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn

from transferkit.backbones.base import Backbone
from transferkit.modalities.classic import ClassicFeatures, features_type
from transferkit.models.classic import ClassicBaseline
from transferkit.models.heads import Standardize
from transferkit.models.predictor import batched_proba

CONCAT_C = 10.0
CLASSIC_INPUT = "classic_features"


def _linear(model: LogisticRegression, in_features: int) -> nn.Linear:
    """sklearn's logistic regression as a linear layer over classes; a binary score s becomes logits (0, s)."""
    coef = np.asarray(model.coef_, dtype=np.float32)
    intercept = np.asarray(model.intercept_, dtype=np.float32)
    if coef.shape[0] == 1:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    linear = nn.Linear(in_features, coef.shape[0])
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(coef))
        linear.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
    return linear


class FeatureModel(nn.Module):
    """[standardised embeddings x factor, standardised classic features x factor] -> linear -> class logits."""

    def __init__(
        self,
        *,
        class_names: list[str],
        modality: str,
        classic: ClassicFeatures,
        num_embedding_features: int = 0,
        backbone: Backbone | None = None,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        self.class_names = list(class_names)
        self.modality = modality
        self.kind = "concat" if backbone is not None else "classic"
        self.backbone = backbone
        self.classic = classic
        size = num_embedding_features + classic.size
        self.embedding_scale = Standardize(max(num_embedding_features, 1))
        self.classic_scale = Standardize(classic.size)
        self.register_buffer("factors", torch.ones(2))  # embedding part, classic part
        self.linear = nn.Linear(size, num_classes or len(class_names))

    def logits(self, embeddings: torch.Tensor | None, classic: torch.Tensor) -> torch.Tensor:
        parts = [] if embeddings is None else [self.embedding_scale(embeddings) * self.factors[0]]
        parts.append(self.classic_scale(classic) * self.factors[1])
        return self.linear(torch.cat(parts, dim=1))

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        """Logits from model-ready tensors: (input_ids, attention_mask | pixels)?, classic feature rows."""
        embeddings = None
        if self.backbone is not None:
            batch: Any = tensors[0] if len(tensors) == 2 else {"input_ids": tensors[0], "attention_mask": tensors[1]}
            embeddings = self.backbone(batch)
        return self.logits(embeddings, tensors[-1])

    def forward_tensors(self, *tensors: torch.Tensor) -> torch.Tensor:
        """Logits from `model_inputs`' tensors (the graph an export traces): `forward` itself."""
        return self(*tensors)

    def model_inputs(self, inputs: list[str]) -> tuple[tuple[torch.Tensor, ...], list[str]]:
        """The tensors `forward` takes for raw `inputs`, and their names in an exported graph."""
        tensors: list[torch.Tensor] = []
        names: list[str] = []
        if self.backbone is not None:
            batch = self.backbone.load_batch(inputs)
            if isinstance(batch, dict):
                tensors += [batch["input_ids"], batch["attention_mask"]]
                names += ["input_ids", "attention_mask"]
            else:
                tensors.append(batch)
                names.append("pixels")
        tensors.append(torch.as_tensor(self.classic.transform(inputs)))
        names.append(CLASSIC_INPUT)
        return tuple(tensors), names

    def activate(self, outputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities of output logits (a feature model is a single-label classifier)."""
        return outputs.softmax(dim=-1)

    @torch.inference_mode()
    def predict_proba(
        self, inputs: list[str], *, batch_size: int = 32, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Probabilities for raw inputs; `embeddings` (the backbone's, cached) skip the backbone."""
        self.eval()

        def proba_of(start: int, items: list[str]) -> torch.Tensor:
            classic = torch.as_tensor(self.classic.transform(items))
            if self.backbone is None:
                return self.logits(None, classic).softmax(dim=-1)
            if embeddings is not None:
                part = torch.as_tensor(embeddings[start : start + len(items)], dtype=torch.float32)
                return self.logits(part, classic).softmax(dim=-1)
            return self(*self.model_inputs(items)[0]).softmax(dim=-1)

        return batched_proba(inputs, batch_size=batch_size, outputs=len(self.class_names), proba_of=proba_of)


def classic_model(baseline: ClassicBaseline, *, class_names: list[str]) -> FeatureModel:
    """A fitted ClassicBaseline (text or image) as a FeatureModel with the same probabilities.

    Example:
        >>> baseline = ClassicBaseline(modality="text").fit(["good", "bad", "fine", "awful"], ["+", "-", "+", "-"])
        >>> classic_model(baseline, class_names=["+", "-"]).class_names
        ['+', '-']
    """
    transform, search = baseline.pipeline_.steps[0][1], baseline.pipeline_.steps[-1][1]
    regression = search.best_estimator_
    features = features_type(baseline.modality).from_step(transform)
    model = FeatureModel(class_names=list(regression.classes_), modality=baseline.modality, classic=features)
    model.linear = _linear(regression, features.size)
    if features.scaled:  # the pipeline's scaler becomes the model's standardisation
        with torch.no_grad():
            model.classic_scale.mean.copy_(torch.as_tensor(transform.mean_, dtype=torch.float32))
            model.classic_scale.scale.copy_(torch.as_tensor(transform.scale_, dtype=torch.float32))
    return _reorder(model, class_names)


def _reorder(model: FeatureModel, class_names: list[str]) -> FeatureModel:
    """Put the output rows in `class_names` order (sklearn's classes_ are sorted; so are ours, but be exact)."""
    order = [model.class_names.index(name) for name in class_names]
    with torch.no_grad():
        model.linear.weight.copy_(model.linear.weight[order].clone())
        model.linear.bias.copy_(model.linear.bias[order].clone())
    model.class_names = list(class_names)
    return model.eval()


class ConcatParts:
    """The fitted transforms of the concatenated features: embedding scaler, classic features (and pixel scaler).

    Embedding rows are standardised and divided by sqrt(dim) so they weigh about as much as a unit-norm
    TF-IDF row; pixels are standardised and divided by sqrt(pixels) for the same reason.
    """

    def __init__(self, inputs: list[str], embeddings: np.ndarray, *, modality: str) -> None:
        self.embedding_scaler = StandardScaler().fit(embeddings)
        self.embedding_factor = 1.0 / np.sqrt(embeddings.shape[1])
        self.classic = ClassicFeatures.fit(inputs, modality=modality)
        self.pixel_scaler = None
        self.classic_factor = 1.0
        if self.classic.scaled:
            self.pixel_scaler = StandardScaler().fit(self.classic.transform_sparse(inputs))
            self.classic_factor = 1.0 / np.sqrt(self.classic.size)

    def matrix(self, inputs: list[str], embeddings: np.ndarray) -> sp.csr_matrix:
        dense = self.embedding_scaler.transform(embeddings) * self.embedding_factor
        classic = self.classic.transform_sparse(inputs)
        if self.pixel_scaler is not None:
            classic = sp.csr_matrix(self.pixel_scaler.transform(classic) * self.classic_factor)
        return sp.hstack([sp.csr_matrix(dense), classic]).tocsr()


def fit_concat(
    inputs: list[str], embeddings: np.ndarray, labels: list[str], *, modality: str
) -> tuple[ConcatParts, LogisticRegression]:
    """Fit the concatenated-features model (weak L2: C = 10) on aligned inputs, embeddings and labels."""
    parts = ConcatParts(inputs, embeddings, modality=modality)
    regression = LogisticRegression(C=CONCAT_C, max_iter=2000).fit(parts.matrix(inputs, embeddings), labels)
    return parts, regression


def concat_model(
    backbone: Backbone, inputs: list[str], embeddings: np.ndarray, labels: list[str], *, class_names: list[str]
) -> FeatureModel:
    """Fit the concatenated-features model on the backbone's (cached) embeddings and wrap it with the backbone."""
    parts, regression = fit_concat(inputs, embeddings, labels, modality=backbone.modality)
    model = FeatureModel(
        class_names=list(regression.classes_),
        modality=backbone.modality,
        classic=parts.classic,
        num_embedding_features=embeddings.shape[1],
        backbone=backbone,
    )
    model.linear = _linear(regression, embeddings.shape[1] + parts.classic.size)
    with torch.no_grad():
        model.embedding_scale.mean.copy_(torch.as_tensor(parts.embedding_scaler.mean_, dtype=torch.float32))
        model.embedding_scale.scale.copy_(torch.as_tensor(parts.embedding_scaler.scale_, dtype=torch.float32))
        if parts.pixel_scaler is not None:
            model.classic_scale.mean.copy_(torch.as_tensor(parts.pixel_scaler.mean_, dtype=torch.float32))
            model.classic_scale.scale.copy_(torch.as_tensor(parts.pixel_scaler.scale_, dtype=torch.float32))
        model.factors.copy_(torch.tensor([parts.embedding_factor, parts.classic_factor], dtype=torch.float32))
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    return _reorder(model, class_names)

"""Adaptation methods on embeddings, in a registry: source-only, AdaBN, DANN, CORAL, MMD, self-training, few-label.

Every method trains transferkit's MLP head; all but ``source-only`` normalise each domain with its
own statistics (AdaBN at the head's input: the target is standardised with target statistics), and
DANN / CORAL / MMD add their alignment loss on the hidden layer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from transferkit.adaptation.training import TrainConfig, hidden_features, new_head, predict_head, train_head
from transferkit.errors import ConfigError, DataError
from transferkit.models.heads import ClassifierHead, Standardize


@dataclass
class AdaptationProblem:
    """Embeddings of both domains: labelled source (train / validation), unlabelled target, optional target labels."""

    source: np.ndarray
    source_targets: np.ndarray
    valid: np.ndarray
    valid_targets: np.ndarray
    target: np.ndarray
    num_classes: int
    labelled_target: np.ndarray | None = None
    labelled_target_targets: np.ndarray | None = None


@dataclass
class AdaptedHead:
    """A trained head plus how target embeddings enter it (their own statistics, or the source's)."""

    head: ClassifierHead
    domain_norm: bool
    target_stats: Standardize | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_source_space(self, target: np.ndarray) -> np.ndarray:
        """Target embeddings re-standardised so the head's source statistics map them like source rows."""
        if not self.domain_norm or self.target_stats is None:
            return target
        z = self.target_stats(torch.as_tensor(target, dtype=torch.float32))
        return (z * self.head.standardize.scale + self.head.standardize.mean).numpy()

    def predict_source(self, features: np.ndarray) -> np.ndarray:
        return predict_head(self.head, features)

    def predict_target(self, features: np.ndarray) -> np.ndarray:
        return predict_head(self.head, self.to_source_space(features))

    def target_hidden(self, features: np.ndarray) -> np.ndarray:
        return hidden_features(self.head, self.to_source_space(features))

    def source_hidden(self, features: np.ndarray) -> np.ndarray:
        return hidden_features(self.head, features)

    def target_model_head(self) -> ClassifierHead:
        """The head to deploy on the target: its input statistics are the target's when `domain_norm`."""
        head = copy.deepcopy(self.head)
        if self.domain_norm and self.target_stats is not None:
            head.standardize.load_state_dict(self.target_stats.state_dict())
        return head.eval()


@dataclass(frozen=True)
class Method:
    """A registered adaptation method."""

    name: str
    fit: Callable[[AdaptationProblem, TrainConfig], AdaptedHead]
    description: str
    default_weight: float = 1.0
    needs_target_labels: bool = False


_METHODS: dict[str, Method] = {}


def register_method(method: Method) -> Method:
    """Add an adaptation method; a duplicate name raises."""
    if method.name in _METHODS:
        raise ConfigError(f"An adaptation method named '{method.name}' is already registered; choose another name.")
    _METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    if name not in _METHODS:
        raise ConfigError(f"The 'method' option must be one of {', '.join(_METHODS)}. Got '{name}'.")
    return _METHODS[name]


def available_methods() -> list[str]:
    return list(_METHODS)


def _target_pool(problem: AdaptationProblem) -> np.ndarray:
    if problem.labelled_target is None:
        return problem.target
    return np.concatenate([problem.target, problem.labelled_target])


def _start(problem: AdaptationProblem, config: TrainConfig, *, domain_norm: bool) -> AdaptedHead:
    head = new_head(problem.source.shape[1], problem.num_classes, config, problem.source)
    stats = Standardize(problem.source.shape[1]).fit(torch.as_tensor(_target_pool(problem), dtype=torch.float32))
    return AdaptedHead(head=head, domain_norm=domain_norm, target_stats=stats)


def _train(adapted: AdaptedHead, problem: AdaptationProblem, config: TrainConfig, **rows: Any) -> AdaptedHead:
    inputs = rows.get("inputs", problem.source)
    targets = rows.get("targets", problem.source_targets)
    adapted.history += train_head(
        adapted.head,
        inputs=inputs,
        targets=targets,
        target_features=adapted.to_source_space(problem.target),
        config=config,
        sample_weights=rows.get("weights"),
    )
    return adapted


def _aligned(alignment: str, *, domain_norm: bool = True) -> Callable[[AdaptationProblem, TrainConfig], AdaptedHead]:
    def fit(problem: AdaptationProblem, config: TrainConfig) -> AdaptedHead:
        config = replace(config, alignment=alignment)
        return _train(_start(problem, config, domain_norm=domain_norm), problem, config)

    return fit


def fit_self_training(problem: AdaptationProblem, config: TrainConfig) -> AdaptedHead:
    """Rounds of: predict the target, keep confident pseudo-labels (class-balanced), retrain on source + them.

    `config.weight` is the confidence threshold when it lies in (0, 1), else 0.9.
    """
    threshold = config.weight if 0.0 < config.weight < 1.0 else 0.9
    plain = replace(config, alignment="none")
    adapted = _train(_start(problem, plain, domain_norm=True), problem, plain)
    per_class = max(1, len(problem.target) // problem.num_classes)
    kept: list[int] = []
    for _ in range(3):
        probabilities = adapted.predict_target(problem.target)
        confidence, predicted = probabilities.max(1), probabilities.argmax(1)
        picked: list[np.ndarray] = []
        for label in range(problem.num_classes):
            candidates = np.flatnonzero((predicted == label) & (confidence >= threshold))
            picked.append(candidates[np.argsort(-confidence[candidates])][:per_class])
        chosen = np.concatenate(picked).astype(int)
        kept.append(len(chosen))
        if not len(chosen):
            break
        pseudo = adapted.to_source_space(problem.target[chosen])
        fresh = _start(problem, plain, domain_norm=True)
        adapted = _train(
            fresh,
            problem,
            plain,
            inputs=np.concatenate([problem.source, pseudo]),
            targets=np.concatenate([problem.source_targets, predicted[chosen]]),
        )
    adapted.details = {"threshold": threshold, "pseudo_labels_per_round": kept}
    return adapted


def fit_few_labels(problem: AdaptationProblem, config: TrainConfig) -> AdaptedHead:
    """Train on the source, then fine-tune on the labelled target rows (weighted to match the source) + source."""
    if problem.labelled_target is None or not len(problem.labelled_target):
        raise DataError("The 'finetune' method needs a few labelled target examples; pass --target-labels FILE.")
    plain = replace(config, alignment="none")
    adapted = _train(_start(problem, plain, domain_norm=True), problem, plain)
    labelled = adapted.to_source_space(problem.labelled_target)
    weights = np.concatenate(
        [np.ones(len(problem.source)), np.full(len(labelled), len(problem.source) / len(labelled))]
    )
    tune = replace(plain, epochs=max(1, config.epochs // 2), lr=config.lr / 2)
    adapted = _train(
        adapted,
        problem,
        tune,
        inputs=np.concatenate([problem.source, labelled]),
        targets=np.concatenate([problem.source_targets, problem.labelled_target_targets]),
        weights=weights,
    )
    adapted.details = {"labelled_target_examples": len(labelled)}
    return adapted


register_method(Method("source-only", _aligned("none", domain_norm=False), "train on the source only (baseline)"))
register_method(Method("adabn", _aligned("none"), "normalise each domain with its own statistics (AdaBN)"))
register_method(Method("dann", _aligned("dann"), "domain-adversarial training with gradient reversal", 1.0))
register_method(Method("coral", _aligned("coral"), "Deep CORAL: match hidden-feature covariances", 100.0))
register_method(Method("mmd", _aligned("mmd"), "multi-kernel MMD between hidden features", 1.0))
register_method(Method("self-training", fit_self_training, "confidence-thresholded pseudo-labels, 3 rounds", 0.9))
register_method(
    Method("finetune", fit_few_labels, "fine-tune on a few labelled target examples", 1.0, needs_target_labels=True)
)

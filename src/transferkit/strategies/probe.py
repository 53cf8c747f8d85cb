"""Feature extraction ("probe"): the frozen backbone embeds every input once (cached); a head trains on that."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from torch.utils.data import DataLoader, TensorDataset

from transferkit.backbones.base import Backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.engine import ClassifierModule, HistoryCallback, LayerGroup, build_trainer
from transferkit.features import extract_features
from transferkit.heads import ClassifierHead
from transferkit.model import TransferModel
from transferkit.strategies.base import Strategy, StrategyResult, register_strategy


def label_indices(data: LabeledData, class_names: list[str]) -> torch.Tensor:
    index = {name: position for position, name in enumerate(class_names)}
    return torch.tensor([index[label] for label in data.labels or []], dtype=torch.long)


def _loader(features: np.ndarray, targets: torch.Tensor, *, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    dataset = TensorDataset(torch.as_tensor(features), targets)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


FIXED_WEIGHT_DECAY = 1e-2
L2_GRID_C = np.logspace(-3, 1, 9)


def select_weight_decay(features: np.ndarray, targets: np.ndarray, *, seed: int) -> float:
    """L2 strength for a linear head on standardised features, by stratified k-fold CV (log loss).

    scikit-learn's logistic regression minimises 0.5 * ||W||^2 + C * sum(loss); our head minimises
    mean(loss) + 0.5 * wd * ||W||^2, the same objective when wd = 1 / (C * n).
    """
    folds = int(min(5, np.bincount(targets).min()))
    if folds < 2:
        return FIXED_WEIGHT_DECAY
    search = GridSearchCV(
        LogisticRegression(max_iter=1000),
        {"C": L2_GRID_C},
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        scoring="neg_log_loss",
    )
    search.fit(features, targets)
    return float(1.0 / (search.best_params_["C"] * len(targets)))


@register_strategy
class ProbeStrategy(Strategy):
    """Linear (or MLP) head on cached embeddings of the frozen backbone.

    With the default L-BFGS optimiser the linear head is an L2-regularised multinomial logistic
    regression fitted on the full training set each epoch, which beats minibatch Adam on few examples.
    """

    name = "probe"

    def _features(self, backbone: Backbone, data: LabeledData, spec: RunSpec, what: str) -> tuple[np.ndarray, dict]:
        features, stats = extract_features(
            backbone,
            data.inputs,
            cache_dir=spec.backbone.cache_dir,
            batch_size=spec.backbone.batch_size,
            description=f"Embedding {what}",
        )
        return features, {"hits": stats.hits, "misses": stats.misses}

    def fit(
        self, *, backbone: Backbone, train: LabeledData, valid: LabeledData | None, spec: RunSpec, run_dir: Path
    ) -> StrategyResult:
        for parameter in backbone.parameters():
            parameter.requires_grad_(False)  # frozen for the whole run
        class_names = train.class_names
        train_features, train_stats = self._features(backbone, train, spec, "training data")
        head = ClassifierHead(
            in_features=backbone.num_features,
            num_classes=len(class_names),
            kind=spec.strategy.head,
            hidden_dim=spec.strategy.hidden_dim,
            dropout=spec.strategy.dropout,
        )
        head.standardize.fit(torch.as_tensor(train_features))
        train_targets = label_indices(train, class_names)
        weight_decay = spec.optim.weight_decay
        if weight_decay == "auto":
            if spec.optim.optimizer == "lbfgs" and spec.strategy.head == "linear":
                standardized = head.standardize(torch.as_tensor(train_features)).numpy()
                weight_decay = select_weight_decay(standardized, train_targets.numpy(), seed=spec.run.seed)
            else:
                weight_decay = FIXED_WEIGHT_DECAY
        full_batch = spec.optim.optimizer == "lbfgs"
        train_loader = _loader(
            train_features,
            train_targets,
            batch_size=len(train) if full_batch else spec.optim.batch_size,
            shuffle=not full_batch,
            seed=spec.run.seed,
        )
        valid_loader, valid_stats = None, None
        if valid is not None and len(valid):
            valid_features, valid_stats = self._features(backbone, valid, spec, "validation data")
            valid_loader = _loader(
                valid_features, label_indices(valid, class_names), batch_size=4096, shuffle=False, seed=spec.run.seed
            )
        module = ClassifierModule(
            head,
            groups=[LayerGroup("head", head)],
            optimizer=spec.optim.optimizer,
            lr=spec.optim.lr,
            weight_decay=weight_decay,
        )
        history = HistoryCallback()
        trainer = build_trainer(run_dir=run_dir, max_epochs=spec.optim.epochs, callbacks=[history])
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=valid_loader)
        head = head.cpu().eval()
        return StrategyResult(
            model=TransferModel(backbone, head, class_names),
            backbone_trained=False,
            history=history.epochs,
            details={"weight_decay": weight_decay, "feature_cache": {"train": train_stats, "valid": valid_stats}},
        )

    def predict_proba(self, result: StrategyResult, data: LabeledData, spec: RunSpec) -> np.ndarray:
        features, _ = self._features(result.model.backbone, data, spec, "evaluation data")
        return result.model.predict_proba_features(features)

"""The contrastive strategy: SetFit's pair loss on every in-batch pair, then the probe on the tuned body."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.embedding_cache import extract_features
from transferkit.engine.contrastive import pairwise_cosine_loss
from transferkit.errors import ConfigError
from transferkit.strategies import get_strategy
from transferkit.strategies.contrastive import MAX_DEFAULT_STEPS, PAIR_MEETINGS, ContrastiveStrategy


def test_pairwise_loss_is_setfits_cosine_loss_averaged_over_every_pair():
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(6, 5, generator=generator, requires_grad=True)
    targets = torch.tensor([0, 1, 0, 2, 1, 1])
    pairs = list(itertools.combinations(range(6), 2))
    # SetFit's CosineSimilarityLoss: MSE between cos(a, b) and the pair's label (1 same class, 0 different).
    expected = torch.stack(
        [
            (F.cosine_similarity(embeddings[i], embeddings[j], dim=0) - float(targets[i] == targets[j])) ** 2
            for i, j in pairs
        ]
    ).mean()
    loss = pairwise_cosine_loss(embeddings, targets)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert embeddings.grad is not None and embeddings.grad.abs().sum() > 0
    # Same class aligned, different classes orthogonal, any lengths: nothing to learn.
    ideal = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.5, 0.0]])
    assert float(pairwise_cosine_loss(ideal, torch.tensor([0, 1, 0]))) == 0.0
    single = torch.ones(1, 3, requires_grad=True)
    zero = pairwise_cosine_loss(single, torch.tensor([0]))  # no pair: zero, but still part of the graph
    assert float(zero) == 0.0 and zero.requires_grad


@pytest.fixture(scope="module")
def reviews(reviews_csv) -> LabeledData:
    frame = pd.read_csv(reviews_csv)
    frame = frame[frame["split"] == "train"].groupby("score", group_keys=False).head(8)
    return LabeledData("text", frame["review"].tolist(), frame["score"].tolist(), source=str(reviews_csv))


def _separation(backbone, data: LabeledData) -> float:
    """Mean cosine of same-class pairs minus that of different-class pairs (higher: classes apart)."""
    features, _ = extract_features(backbone, data.inputs, use_cache=False)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    cosine = unit @ unit.T
    labels = np.array(data.labels)
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return float(cosine[same & off_diagonal].mean() - cosine[~same].mean())


@pytest.mark.real_backbone
def test_contrastive_pulls_classes_apart_trains_only_unfrozen_groups_and_fits_the_head_on_tuned_features(
    reviews, tmp_path
):
    pretrained = create_backbone("bundled:minilm", max_length=32)
    backbone = create_backbone("bundled:minilm", max_length=32)
    spec = RunSpec.from_dict(
        {
            "strategy": {"name": "contrastive", "unfreeze": 2},
            "optim": {"epochs": 3, "batch_size": 16},
            "backbone": {"max_length": 32, "cache_dir": str(tmp_path / "cache")},
        }
    )
    strategy = get_strategy("contrastive")
    result = strategy.fit(backbone=backbone, train=reviews, valid=None, spec=spec, run_dir=tmp_path / "run")

    assert result.backbone_trained and result.extra["lr"] == pytest.approx(1e-4)
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    # Measured 0.018 -> 0.067 with two of six layers tuned for three steps.
    assert _separation(result.model.backbone, reviews) > _separation(pretrained, reviews) + 0.03
    before = dict(pretrained.named_parameters())
    changed = {n for n, p in result.model.backbone.named_parameters() if not torch.equal(before[n], p)}
    unfrozen = {n for n in before if n.startswith(("model.encoder.layer.4.", "model.encoder.layer.5."))}
    assert changed and changed <= unfrozen  # frozen groups bitwise unchanged
    # The head saw the tuned embeddings (not the cached pretrained ones): it fits its own training rows.
    tuned, _ = extract_features(result.model.backbone, reviews.inputs, use_cache=False)
    predicted = np.array(result.model.class_names)[result.model.predict_proba_features(tuned).argmax(1)]
    assert np.mean(predicted == np.array(reviews.labels)) >= 0.9
    head = result.model.head  # the pair loss shaped directions: the head reads unit-length embeddings
    assert head.normalize and torch.all(head.standardize.scale == head.standardize.scale[0])
    assert not list((tmp_path / "run").glob(".tuned-features-*"))  # the temporary cache is gone


def test_contrastive_refuses_options_for_classifier_losses_and_prepares_its_pair_stage(reviews, tmp_path):
    from transferkit.engine.contrastive import ContrastiveModule

    strategy = get_strategy("contrastive")
    backbone = create_backbone("bundled:minilm", max_length=32)
    prepared = strategy.prepare(  # what lr-find sweeps: the pair loss on the backbone alone
        backbone=backbone, train=reviews, valid=None, spec=RunSpec.from_dict({}), run_dir=tmp_path
    )
    assert isinstance(prepared.module, ContrastiveModule) and prepared.model is backbone
    assert prepared.epochs == 8 and prepared.details["lr"] == pytest.approx(1e-4)
    # SetFit's recipe unless the spec says otherwise: warm up over a tenth of training, then decay.
    assert prepared.module.options.schedule == "cosine" and prepared.module.options.warmup_epochs == pytest.approx(0.8)
    constant = strategy.prepare(
        backbone=backbone,
        train=reviews,
        valid=None,
        spec=RunSpec.from_dict({"optim": {"schedule": "constant", "warmup_epochs": 0}}),
        run_dir=tmp_path,
    )
    assert constant.module.options.schedule == "constant" and constant.module.options.warmup_epochs == 0
    assert prepared.train_loader.batch_size == 16  # SetFit's batch: more updates per epoch than 64
    for options, message in (
        ({"optim": {"label_smoothing": 0.1}}, "label_smoothing"),
        ({"imbalance": {"loss": "focal"}}, "loss"),
        ({"optim": {"optimizer": "lbfgs"}}, "lbfgs"),
        ({"optim": {"early_stopping": 2, "monitor": "val_accuracy"}}, "monitor val_loss"),
    ):
        spec = RunSpec.from_dict({"strategy": {"name": "contrastive"}, **options})
        with pytest.raises(ConfigError, match=message):
            strategy.fit(backbone=backbone, train=reviews, valid=None, spec=spec, run_dir=tmp_path)


def test_default_epochs_let_every_pair_share_a_batch_about_four_times_within_a_step_budget():
    strategy = ContrastiveStrategy()
    # 16 rows in one batch of 16: every pair meets every epoch, so the floor of 8 epochs decides.
    assert strategy.epochs_for(16, 16) == 8
    assert [strategy.epochs_for(rows, 16) for rows in (32, 64)] == [9, 17]  # 496 / 2,016 pairs, 240 / 480 per epoch
    assert strategy.epochs_for(1000, 16) == 8  # the step budget would allow 4 epochs: the floor wins
    for rows in range(17, 400, 7):
        epochs = strategy.epochs_for(rows, 16)
        full, rest = divmod(rows, 16)
        meetings = epochs * (full * 120 + rest * (rest - 1) / 2) / (rows * (rows - 1) / 2)
        steps = epochs * (full + (rest > 0))
        assert meetings >= PAIR_MEETINGS or steps > MAX_DEFAULT_STEPS - (full + 1), rows
        assert epochs == 8 or steps <= MAX_DEFAULT_STEPS, rows

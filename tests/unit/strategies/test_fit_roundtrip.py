"""Fine-tuned models (two-stage, LoRA merged, contrastive) save and load bit-exactly; sklearn probe agrees."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit
from transferkit.artifacts import load_model, read_manifest

COMMON = {"text_column": "review", "label_column": "score", "split_column": "split", "max_length": 32}


def _fit(reviews_csv, tmp_path, name: str, **options):
    return transferkit.fit(reviews_csv, output_dir=str(tmp_path), name=name, **COMMON, **options)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("strategy", "options"),
    [("two-stage", {"unfreeze": 1}), ("lora", {"lora_rank": 4}), ("contrastive", {"unfreeze": 1})],
)
def test_fine_tuned_model_round_trip_is_bit_exact(reviews_csv, tmp_path, strategy, options):
    result = _fit(reviews_csv, tmp_path, strategy, strategy=strategy, epochs=1, train_batch_size=16, **options)
    assert read_manifest(result.model_dir)["backbone"]["trained"] is True
    texts = ["Stale, arrived broken.", "Delicious, my kids love this snack!", "ok I guess"]
    loaded = load_model(result.model_dir)
    np.testing.assert_array_equal(result.model.predict_proba(texts), loaded.predict_proba(texts))
    assert result.metrics["strategy"]["name"] == strategy
    assert [row["epoch"] for row in result.metrics["history"]] == [0]
    if strategy == "two-stage":
        assert result.metrics["strategy"]["stage1"]["epochs"] == 20
        assert (result.run_dir / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_sklearn_probe_solver_matches_sklearn_and_the_lightning_lbfgs_head(tmp_path):
    """Real data (breast cancer features): the copied head reproduces sklearn, and L-BFGS reaches the same optimum."""
    import torch
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from torch.utils.data import DataLoader, TensorDataset

    from transferkit.engine import ClassifierModule, LayerGroup, TrainerOptions, TrainOptions, build_trainer
    from transferkit.models.heads import ClassifierHead
    from transferkit.strategies.probe import sklearn_head

    x, y = load_breast_cancer(return_X_y=True)
    features = torch.as_tensor(x, dtype=torch.float32)
    head = ClassifierHead(in_features=30, num_classes=2)
    head.standardize.fit(features)
    details = sklearn_head(head, features.numpy(), y, seed=0)
    standardized = head.standardize(features).detach().numpy()
    reference = LogisticRegression(C=details["C"], max_iter=5000).fit(standardized, y)
    ours = head.eval()(features).softmax(-1).detach().numpy()
    np.testing.assert_allclose(ours, reference.predict_proba(standardized), atol=2e-2)  # solver tolerances differ

    lbfgs_head = ClassifierHead(in_features=30, num_classes=2)
    lbfgs_head.standardize.fit(features)
    # Binary sklearn penalises w = w1 - w0; a 2-row softmax head at its optimum has w0 = -w1 = w / 2, so
    # 0.5 * wd * (|w0|^2 + |w1|^2) equals sklearn's 0.5 / (C n) * |w|^2 when wd = 2 / (C n).
    options = TrainOptions(optimizer="lbfgs", weight_decay=2.0 / (details["C"] * len(y)))
    module = ClassifierModule(lbfgs_head, groups=[LayerGroup("head", lbfgs_head)], options=options)
    loader = DataLoader(TensorDataset(features, torch.as_tensor(y)), batch_size=len(y))
    trainer = build_trainer(run_dir=tmp_path, options=TrainerOptions(max_epochs=20, checkpoint=False))
    trainer.fit(module, train_dataloaders=loader)
    theirs = lbfgs_head.eval()(features).softmax(-1).detach().numpy()
    np.testing.assert_allclose(ours, theirs, atol=2e-2)

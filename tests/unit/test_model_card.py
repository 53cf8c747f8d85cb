"""The model card (model/README.md): what it says, and that users may edit it without breaking the model."""

from __future__ import annotations

import numpy as np

from transferkit.artifacts import load_model, save_model
from transferkit.config import RunSpec
from transferkit.model_card import model_card
from transferkit.models.classic import ClassicBaseline
from transferkit.models.feature_model import classic_model

METRICS = {
    "data": {"class_counts": {"great": 40, "other": 20}, "splits": {"train": {"great": 28, "other": 14}}},
    "test": {
        "num_examples": 18,
        "accuracy": 0.8333,
        "balanced_accuracy": 0.8,
        "macro_f1": 0.79,
        "majority_rate": 0.667,
        "interval": {"low": 0.667, "high": 1.0},
    },
    "strategy": {"name": "auto", "chosen": "concat"},
    "selection": {"chosen": "concat", "runner_up": "probe", "margin": 0.04, "skipped": {"two-stage": "over budget"}},
    "backbone": {"spec": "bundled:minilm", "parameters": 22565376, "weights": {"source": "s", "licence": "apache-2.0"}},
}


def test_card_names_data_backbone_licence_metrics_choice_and_limits():
    spec = RunSpec.from_dict({"data": {"path": "reviews.csv", "text_column": "review"}, "run": {"name": "r"}})
    card = model_card(metrics=METRICS, spec=spec, class_names=["great", "other"], modality="text")
    assert card.startswith("# Model card: r")
    assert "great: 40, other: 20" in card and "text column `review`" in card
    assert "Licence of the weights: apache-2.0" in card and "`bundled:minilm`" in card
    assert "| test | 18 | 0.833 (95% CI 0.667-1.000) | 0.800 | 0.790 | 0.667 |" in card
    assert "chose concat, 0.040 accuracy above probe" in card and "two-stage was not scored: over budget" in card
    assert "Trained on 42 labelled examples (smallest class: 14)" in card  # the training split, not all rows
    assert "## Intended use" in card and "## Limitations" in card


def test_a_run_whose_budget_ran_out_before_any_fold_does_not_claim_a_cross_validated_choice():
    """auto records folds 0 when loading and embedding left no budget for a fold; its fallback probe was saved."""
    spec = RunSpec.from_dict({"data": {"path": "reviews.csv", "text_column": "review"}, "run": {"name": "r"}})
    selection = {"chosen": "probe", "folds": 0, "runner_up": None, "margin": 0.0, "scores": {}}
    card = model_card(
        metrics=METRICS | {"selection": selection}, spec=spec, class_names=["great", "other"], modality="text"
    )
    assert "No candidate was cross-validated within the budget; probe was saved." in card
    assert "Cross-validation on the training split chose" not in card


def test_card_is_written_beside_the_model_and_editing_it_keeps_the_model_loadable(tmp_path):
    texts, labels = ["good tea", "bad tea", "great taste", "awful smell"], ["+", "-", "+", "-"]
    model = classic_model(ClassicBaseline(modality="text").fit(texts, labels), class_names=["+", "-"])
    folder = save_model(model, tmp_path / "model", backbone_trained=False, card="# Model card: x\n")
    assert (folder / "README.md").read_text() == "# Model card: x\n"
    (folder / "README.md").write_text("# Model card: x\n\nEdited by its owner.\n")
    np.testing.assert_array_equal(load_model(folder).predict_proba(texts), model.predict_proba(texts))

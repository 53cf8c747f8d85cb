"""Choosing a backbone: transferability scores, a measured ranking on the user's data, and an advisor."""

from transferkit.ranking.advisor import Recommendation, Shortlist, recommend
from transferkit.ranking.budget import Budget
from transferkit.ranking.confirm import Confirmation
from transferkit.ranking.ranker import CandidateScore, Ranking, rank, score_embeddings
from transferkit.ranking.scores import (
    SCORES,
    gbc,
    h_score,
    knn_accuracy,
    leep,
    linear_probe_accuracy,
    logme,
    nce,
    nleep,
)

__all__ = [
    "SCORES",
    "Budget",
    "CandidateScore",
    "Confirmation",
    "Ranking",
    "Recommendation",
    "Shortlist",
    "gbc",
    "h_score",
    "knn_accuracy",
    "leep",
    "linear_probe_accuracy",
    "logme",
    "nce",
    "nleep",
    "rank",
    "recommend",
    "score_embeddings",
]

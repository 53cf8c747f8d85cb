"""Choosing a backbone: transferability scores, a measured ranking on the user's data, and an advisor."""

from transferkit.selection.advisor import Recommendation, Shortlist, recommend
from transferkit.selection.budget import Budget
from transferkit.selection.confirm import Confirmation
from transferkit.selection.ranking import CandidateScore, Ranking, rank, score_embeddings
from transferkit.selection.scores import (
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

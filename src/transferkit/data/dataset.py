"""The validated, in-memory description of a labelled dataset that every later layer consumes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Modality = Literal["image", "text", "audio", "tabular"]


@dataclass(frozen=True)
class BadItem:
    """One input that could not be used, with where it is and why."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass
class LabeledData:
    """Inputs (image paths or texts) with their labels.

    `split` holds the user's own train / valid / test assignment per row when the source has one.
    """

    modality: Modality
    inputs: list[str]
    labels: list[str] | None
    source: str
    split: list[str] | None = None
    bad_items: list[BadItem] = field(default_factory=list)
    # Source columns left out of the features, with why (tables: ID-like columns); recorded in the data summary.
    dropped_columns: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.inputs)

    def subset(self, indices: list[int] | range) -> LabeledData:
        pick = list(indices)
        return LabeledData(
            modality=self.modality,
            inputs=[self.inputs[i] for i in pick],
            labels=None if self.labels is None else [self.labels[i] for i in pick],
            source=self.source,
            split=None if self.split is None else [self.split[i] for i in pick],
        )

    @property
    def class_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.labels or []).items()))

    @property
    def class_names(self) -> list[str]:
        return sorted(set(self.labels or []))


def imbalance_ratio(class_counts: dict[str, int]) -> float:
    """Largest class count over smallest (1.0 = perfectly balanced)."""
    counts = [c for c in class_counts.values() if c > 0]
    return max(counts) / min(counts) if counts else float("nan")

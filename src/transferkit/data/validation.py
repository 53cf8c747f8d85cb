"""Checks that make a dataset usable, and the summary users see (class counts, imbalance)."""

from __future__ import annotations

from dataclasses import dataclass, field

from transferkit.data.dataset import BadItem, LabeledData, imbalance_ratio
from transferkit.errors import DataError

MAX_LISTED = 10


@dataclass
class DataReport:
    source: str
    modality: str
    num_examples: int
    class_counts: dict[str, int]
    imbalance_ratio: float
    skipped: list[BadItem]
    dropped_columns: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        summary = {
            "source": self.source,
            "modality": self.modality,
            "num_examples": self.num_examples,
            "class_counts": self.class_counts,
            "imbalance_ratio": round(self.imbalance_ratio, 3),
            "skipped": [str(item) for item in self.skipped],
        }
        return summary | ({"dropped_columns": self.dropped_columns} if self.dropped_columns else {})


def describe_bad_items(items: list[BadItem]) -> str:
    listed = "; ".join(str(item) for item in items[:MAX_LISTED])
    more = f"; and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return listed + more


def validate_labeled(data: LabeledData, *, skip_bad_files: bool) -> DataReport:
    """Refuse unreadable items (unless skipping), empty data and single-class data; return the summary."""
    if data.bad_items and not skip_bad_files:
        raise DataError(
            f"{len(data.bad_items)} unusable item(s) in {data.source}: {describe_bad_items(data.bad_items)}. "
            "Fix or remove them, or pass --skip-bad-files to leave them out."
        )
    if len(data) == 0:
        raise DataError(f"{data.source} holds no usable examples; add labelled data.")
    counts = data.class_counts
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(
            f"{data.source} has a single class ('{only}'); classification needs at least two classes. "
            "Add examples of another class or check --label-column."
        )
    return DataReport(
        source=data.source,
        modality=data.modality,
        num_examples=len(data),
        class_counts=counts,
        imbalance_ratio=imbalance_ratio(counts),
        skipped=list(data.bad_items),
        dropped_columns=dict(data.dropped_columns),
    )

"""The embedded default job (`transferkit demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transferkit.workflows.fit import FitResult

DEMO_TRAINING_REVIEWS = 400


def demo(
    *, output_dir: str | Path = "runs", limit: int = DEMO_TRAINING_REVIEWS, seed: int = 0, **options: Any
) -> FitResult:
    """The embedded default job: sentiment of real Amazon fine-food reviews with bundled MiniLM.

    Trains on `limit` labelled reviews (stratified sample of the 4,000 training reviews, 15% of them
    for validation) with the default `fit` (strategy auto within its default budget, unless `options`
    say otherwise) and evaluates on the 1,000 test reviews.
    """
    from transferkit.workflows.fit import fit  # the CLI reads DEMO_TRAINING_REVIEWS without loading torch

    return fit(
        "builtin:fine-food",
        backbone="bundled:minilm",
        limit=limit,
        seed=seed,
        output_dir=str(output_dir),
        **options,
    )

"""Fine-tune the ranking's top candidates on the same labelled rows and let validation accuracy make the pick.

Transferability scores judge frozen features; fine-tuning can reorder candidates (a model read by [CLS], a much
larger model: README, "Does the ranking agree with training?"). Confirming the top few by a short real
fine-tune is the usual remedy, and each confirmation leaves a trained model behind, so the pick is ready to use.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transferkit.errors import BackboneError, ConfigError, TransferKitError

DEFAULT_CONFIRM_STRATEGY = "two-stage"
DEFAULT_CONFIRM_VALID_FRACTION = 0.2
CHANCE_Z = 1.96  # a difference within 1.96 standard errors is one chance alone produces 1 time in 20 or more


@dataclass
class Confirmation:
    """One candidate fine-tuned for the pick: its validation accuracy, training time and run folder."""

    spec: str
    strategy: str
    valid_accuracy: float | None = None
    valid_examples: int = 0
    seconds: float | None = None
    run_dir: str | None = None
    error: str | None = None

    @property
    def standard_error(self) -> float | None:
        """Standard error of the validation accuracy: how far chance alone moves it on this many rows.

        Agresti-Caffo's adjustment (one more right and one more wrong answer, Agresti & Caffo 2000) keeps it above
        0 at an accuracy of 1.0, where the plain binomial error would claim certainty from 17 rows.
        """
        if self.valid_accuracy is None or not self.valid_examples:
            return None
        rows = self.valid_examples + 2
        adjusted = (self.valid_accuracy * self.valid_examples + 1) / rows
        return math.sqrt(adjusted * (1 - adjusted) / rows)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "standard_error": self.standard_error}


def check_confirm_options(count: int, strategy: str, valid_fraction: float) -> None:
    """Reject bad confirm options before any candidate is embedded."""
    from transferkit.strategies import available_strategies

    if count < 0:
        raise ConfigError(f"The 'confirm' option counts candidates to fine-tune; use 0 (off) or more. Got {count}.")
    names = [name for name in available_strategies() if name != "auto"]
    if strategy not in names:
        raise ConfigError(f"The 'confirm_strategy' option must be one of {', '.join(names)}. Got '{strategy}'.")
    if not 0 < valid_fraction < 0.5:
        raise ConfigError(
            f"The 'confirm_valid_fraction' option must be above 0 and below 0.5 (the share of labelled rows held out "
            f"to compare the fine-tuned candidates). Got {valid_fraction}."
        )


def confirm_candidates(
    specs: list[str],
    data: str | Path | None,
    *,
    config: Any,
    options: dict[str, Any],
    strategy: str,
    valid_fraction: float,
) -> list[Confirmation]:
    """`fit` each spec with `strategy` on the same split of the labelled rows; a failure is kept, not raised.

    Every candidate gets the same seed, hence the same training and validation rows: all the labelled rows, even
    when the scores read a `limit` sample. A test split the data defines takes no part in training or the pick
    (fit still reports it in each run's metrics); only validation accuracy is read.
    """
    from transferkit.backbones import backbone_entry
    from transferkit.workflows.fit import fit

    # Every labelled row, not the scores' `limit` sample: a confirmation is a real training run whose model is kept.
    fit_options = {key: value for key, value in options.items() if key != "limit"}
    fit_options |= {"strategy": strategy, "valid_fraction": valid_fraction, "test_fraction": 0.0}
    confirmations = []
    for spec in specs:
        confirmation = Confirmation(spec=spec, strategy=strategy)
        started = time.perf_counter()
        try:
            backbone_entry(spec)
        except BackboneError:  # a Backbone object handed to rank(): fit builds backbones from specs only
            confirmation.error = f"{spec} is not a registered spec; register_backbone() it to fine-tune it"
            confirmations.append(confirmation)
            continue
        try:
            result = fit(data, config=config, **fit_options, backbone=spec)
        except (TransferKitError, RuntimeError) as exc:  # one candidate that cannot train must not lose the others
            confirmation.error = f"{type(exc).__name__}: {exc}"
        else:
            valid = result.metrics.get("valid") or {}
            confirmation.valid_accuracy = valid.get("accuracy")
            confirmation.valid_examples = sum(result.metrics["data"]["splits"].get("valid", {}).values())
            confirmation.run_dir = str(result.run_dir)
        confirmation.seconds = time.perf_counter() - started
        confirmations.append(confirmation)
    return confirmations


def best_confirmed(confirmations: list[Confirmation]) -> Confirmation | None:
    """The highest validation accuracy; ties go to the candidate the scores ranked higher (listed first)."""
    measured = [item for item in confirmations if item.valid_accuracy is not None]
    return max(measured, key=lambda item: item.valid_accuracy or 0.0) if measured else None


def confirm_caveats(confirmations: list[Confirmation], pick: Confirmation | None, score_pick: str | None) -> list[str]:
    """Plain-words warnings: a pick within chance of the runner-up, or confirmations that failed."""
    caveats = [
        f"{item.spec} could not be fine-tuned to confirm it: {item.error}" for item in confirmations if item.error
    ]
    measured = sorted(
        (item for item in confirmations if item.valid_accuracy is not None and item is not pick),
        key=lambda item: -(item.valid_accuracy or 0.0),
    )
    if pick is None or not measured:
        return caveats
    runner_up = measured[0]
    # 95% half-width of the difference, as if the two had separate validation rows: they share them, so a paired
    # test would be tighter, but fit keeps no per-row answers; this errs towards "within chance".
    spread = CHANCE_Z * math.hypot(pick.standard_error or 0.0, runner_up.standard_error or 0.0)
    if pick.valid_accuracy - runner_up.valid_accuracy <= spread:
        caveats.append(
            f"{pick.spec} ({pick.valid_accuracy:.3f}) and {runner_up.spec} ({runner_up.valid_accuracy:.3f}) are within "
            f"chance of each other on {pick.valid_examples} validation rows (+-{spread:.3f}): either is a fair "
            "choice, so weigh their cost, or confirm on more labelled rows."
        )
    elif score_pick is not None and pick.spec != score_pick:
        caveats.append(f"Fine-tuning overturned the scores: {pick.spec} beat their pick, {score_pick}.")
    return caveats

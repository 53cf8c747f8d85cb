"""One deadline for `--strategy auto` (issue 21): every stage of the default fit spends from the same budget.

What ``--budget-minutes`` covers: everything auto does once the training rows are embedded: the cost
measurements, the cross-validation of every candidate, ``--search``, the final fit and a reserve for saving the
model. Embedding the training rows with the frozen backbone is a fixed cost of the data (no choice can skip it):
it is timed and recorded as ``selection["embedding_seconds"]``, not spent from the budget. So is scoring the
held-out rows after the fit (``metrics.json`` ``seconds.evaluate``).

How each stage honours the deadline:

- the cheap candidates' folds stop between folds when it passes (a candidate with no fold is not scored, and
  says so; the probe stays the fallback);
- a fine-tuned candidate's folds stop when what is left would no longer pay for its own final fit, and each fold
  carries Lightning's ``max_time`` from what is left;
- the final fit gets what is left less the measured reserve for saving: a fine-tune through ``max_time``, the
  probe by keeping the L2 strength its folds scored instead of cross-validating it again, and a fine-tune whose
  final fit no longer fits is replaced by the probe.

Whatever the deadline cut is recorded in ``selection["cut"]`` with the reason, and summed up in one line
(``selection["budget_line"]``) that the console, the report and the model card print.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transferkit.backbones.base import Backbone

SAVE_FACTOR = 2.0  # the model's weights are written once, then read back for the card and the parity examples
REPORT_SECONDS = 5.0  # the report, the card and metrics.json after the weights (measured 1-4 s at load 5-15)
RESERVE_FLOOR_SECONDS = 5.0


@dataclass
class Deadline:
    """A budget of `seconds` from now on `clock`; what was cut to keep it goes in `cut` (name -> reason).

    Example:
        >>> ticks = iter([0.0, 30.0, 130.0])
        >>> deadline = Deadline(120.0, clock=lambda: next(ticks))
        >>> deadline.left(), deadline.passed()
        (90.0, True)
    """

    seconds: float
    clock: Callable[[], float] = time.perf_counter
    started: float = field(init=False)
    cut: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def spent(self) -> float:
        return self.clock() - self.started

    def left(self) -> float:
        return self.seconds - self.spent()

    def passed(self, *, keep: float = 0.0) -> bool:
        """True when no more than `keep` seconds are left."""
        return self.left() <= keep


def measure_save_seconds(backbone: Backbone, folder: Path) -> float:
    """Seconds to write the backbone's weights once (safetensors, in `folder`): what saving the model costs most."""
    from safetensors.torch import save_file

    tensors = {name: tensor.detach().contiguous().clone() for name, tensor in backbone.state_dict().items()}
    with tempfile.TemporaryDirectory(dir=folder, prefix=".auto-save-") as work:
        started = time.perf_counter()
        save_file(tensors, str(Path(work) / "weights.safetensors"))
        return time.perf_counter() - started


def save_reserve(save_seconds: float) -> float:
    """Seconds kept back from the final fit for saving the model, from one measured write of its weights.

    Example:
        >>> save_reserve(0.5), save_reserve(4.0)
        (6.0, 13.0)
    """
    return round(max(RESERVE_FLOOR_SECONDS, SAVE_FACTOR * save_seconds + REPORT_SECONDS), 1)


def fold_limit_seconds(deadline: Deadline, *, keep: float, folds_left: int) -> float:
    """A fine-tune fold's wall-clock limit: its share of what is left once `keep` seconds are kept back.

    Example:
        >>> ticks = iter([0.0, 20.0])
        >>> fold_limit_seconds(Deadline(120.0, clock=lambda: next(ticks)), keep=40.0, folds_left=3)
        20.0
    """
    return max(deadline.left() - keep, 1.0) / max(folds_left, 1)


def budget_line(selection: dict[str, Any]) -> str:
    """One line: the budget, what it paid for, the fixed cost outside it and what the deadline cut.

    Example:
        >>> line = budget_line({"budget_seconds": 120.0, "budget_used_seconds": 101.5, "embedding_seconds": 8.0,
        ...                     "reserve_seconds": 6.0, "cut": {"classic": "cross-validated on 2 of 5 folds"}})
        >>> line.split(";")[0]
        'Budget: 102 of 120 s used (choice, final fit'
        >>> line.split(". ")[1]
        'Cut at the deadline: classic: cross-validated on 2 of 5 folds.'
    """
    used = selection.get("budget_used_seconds")
    line = f"Budget: {used:.0f} of {selection['budget_seconds']:.0f} s used (choice, final fit"
    if selection.get("reserve_seconds") is not None:
        line += f"; {selection['reserve_seconds']:.0f} s kept for saving"
    line += ")"
    if selection.get("embedding_seconds") is not None:
        line += f"; not counted: {selection['embedding_seconds']:.0f} s embedding the training rows"
    cut = selection.get("cut") or {}
    line += "." if not cut else ". Cut at the deadline: " + "; ".join(f"{k}: {v}" for k, v in cut.items()) + "."
    return line

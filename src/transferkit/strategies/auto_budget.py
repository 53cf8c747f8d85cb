"""One deadline for `--strategy auto` (issue 21): every stage of the default fit spends from the same budget.

What ``--budget-minutes`` covers: the whole ``fit`` call from its start (``transferkit.fit`` hands auto its start
time): loading the data and the backbone, embedding the training rows, the cost measurements, the
cross-validation of every candidate, ``--search``, the final fit, and two reserves kept back from the final fit:
scoring the held-out (validation and test) rows afterwards, priced at their count times one measured fp32
forward pass per row, and saving the model. Only the first import of torch and its libraries in a new process
comes before it. When loading and embedding alone use the budget, the run cannot keep to it and says so in one
line (``selection["over_budget"]``).

How each stage honours the deadline:

- the cheap candidates' folds stop between folds when it passes (a candidate with no fold is not scored, and
  says so; the probe stays the fallback);
- a fine-tuned candidate's folds stop when what is left would no longer pay for its own final fit, and each fold
  carries Lightning's ``max_time`` from what is left;
- the final fit gets what is left less the reserves: a fine-tune whose whole schedule does not fit trains fewer
  epochs (a decaying schedule completed, not cut; a constant one trains on until the deadline) down to a minimum
  share of them, below which the probe replaces it; Lightning's ``max_time`` stops it at the deadline all the
  same; the probe keeps the L2 strength its folds scored instead of cross-validating it again when that would not
  fit.

Whatever the deadline cut or scaled is recorded in ``selection["cut"]`` and ``selection["scaled"]`` with the
reason, and summed up in one line (``selection["budget_line"]``) that the console, the report and the model card
print.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transferkit.backbones.base import Backbone
from transferkit.strategies.choice import score_candidates

MEASURE_ROWS = 8  # rows per timed batch of a cost measurement
MEASURE_BATCHES = 4  # timed batches of distinct rows, spread over the data, after a warm-up: their median counts
SAVE_FACTOR = 2.0  # the model's weights are written once, then read back for the card and the parity examples
REPORT_SECONDS = 5.0  # the report, the card and metrics.json after the weights (measured 1-4 s at load 5-15)
RESERVE_FLOOR_SECONDS = 5.0
# A cheap fold starts only when this many times its expected seconds are left: fold times vary on a busy machine
# (under load ~24 at nice 15 a classic fold took longer than the probe's that priced it), and a started scikit-learn
# fit cannot be stopped.
FOLD_START_MARGIN = 1.5


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
    started: float | None = None  # on `clock`; None: now
    cut: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.clock()

    def spent(self) -> float:
        return self.clock() - (self.started or 0.0)

    def left(self) -> float:
        return self.seconds - self.spent()

    def passed(self, *, keep: float = 0.0) -> bool:
        """True when no more than `keep` seconds are left."""
        return self.left() <= keep


def spread_batches(inputs: list[str], *, batches: int = MEASURE_BATCHES, rows: int = MEASURE_ROWS) -> list[list[str]]:
    """`batches` batches of `rows` distinct inputs spread evenly over `inputs` (repeating them when too few): rows
    differ in cost (a text's length), so no batch of the first rows stands for the data.

    Example:
        >>> spread_batches([str(i) for i in range(100)], batches=2, rows=3)
        [['0', '16', '33'], ['50', '66', '83']]
    """
    picked = np.linspace(0, len(inputs), batches * rows, endpoint=False).astype(int) % max(len(inputs), 1)
    return [[inputs[i] for i in picked[b * rows : (b + 1) * rows]] for b in range(batches)]


def median_row_seconds(
    step: Callable[[list[str]], float], inputs: list[str], batches: list[list[str]] | None = None
) -> float:
    """Seconds per row of `step` (seconds of one batch): a two-row warm-up pass (the first pass pays one-off set-up
    costs), then the median over `batches` (default: `spread_batches`) of each batch's seconds per row: one batch
    slowed by a busy neighbour, or of unusually long rows, does not decide it."""
    step(inputs[:2])
    return float(np.median([step(rows) / len(rows) for rows in batches or spread_batches(inputs)]))


def measure_forward_seconds(backbone: Backbone, inputs: list[str]) -> float:
    """Seconds per row of a forward pass in fp32 torch, in inference mode: what scoring held-out rows after the fit
    costs (a fine-tuned model scores them so; a frozen one embeds them, in fp32 too, unless they are cached). The
    rows are batched by size, as the embedding of held-out rows batches them (less padding): random batches of
    8 reviews read 2.4x what scoring 1,045 held-out reviews took at load 15."""
    rows = [row for batch in spread_batches(inputs) for row in batch]
    sizes = backbone.input_sizes(rows)
    if sizes is not None:
        rows = [row for _, row in sorted(zip(sizes, rows, strict=True), key=lambda pair: pair[0])]
    batches = [rows[start : start + MEASURE_ROWS] for start in range(0, len(rows), MEASURE_ROWS)]
    backbone.eval()

    @torch.inference_mode()
    def step(rows: list[str]) -> float:
        started = time.perf_counter()
        backbone(backbone.load_batch(rows))
        return time.perf_counter() - started

    return median_row_seconds(step, inputs, batches)


def scoring_reserve(rows: int, row_seconds: float) -> float:
    """Seconds kept back for scoring `rows` held-out rows after the fit, at `row_seconds` each.

    Example:
        >>> scoring_reserve(1060, 0.015), scoring_reserve(0, 0.015)
        (15.9, 0.0)
    """
    return round(rows * row_seconds, 1)


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


def deadline_scorers(scorers: dict[str, Callable], deadline: Deadline, *, keep: float = 0.0):
    """The scorers with each fold timed on the deadline's clock, and the rule that stops them: no fold starts unless
    `keep` seconds (the reserves) plus FOLD_START_MARGIN times its expected time are left: its candidate's own mean
    fold so far (a first fold: the slowest candidate's so far). A fold cannot be stopped once started (a
    scikit-learn fit)."""
    took: dict[str, list[float]] = {name: [] for name in scorers}

    def timed(name: str, scorer: Callable) -> Callable:
        def score(train: list[int], test: list[int]) -> float:
            started = deadline.clock()
            value = scorer(train, test)
            took[name].append(deadline.clock() - started)
            return value

        return score

    def stop(name: str) -> bool:
        known = [float(np.mean(seconds)) for seconds in took.values() if seconds]
        expected = float(np.mean(took[name])) if took[name] else max(known, default=0.0)
        return deadline.passed(keep=keep + FOLD_START_MARGIN * expected)

    return {name: timed(name, scorer) for name, scorer in scorers.items()}, stop


def over_budget_line(deadline: Deadline, record: dict[str, Any]) -> str:
    """The line a run prints when loading and embedding the training rows left less than its reserves (scoring the
    held-out rows, saving) of the budget: it cannot keep to it.

    Example:
        >>> ticks = iter([0.0, 130.0])
        >>> line = over_budget_line(Deadline(120.0, clock=lambda: next(ticks)), {"loading_seconds": 20.0,
        ...     "embedding_seconds": 110.0, "scoring_reserve_seconds": 30.0, "reserve_seconds": 6.0})
        >>> line.split(", before")[0]
        'Over budget: loading and embedding the training rows took 130 s of the 120 s budget'
    """
    fixed = (record.get("loading_seconds") or 0.0) + record["embedding_seconds"]
    return (
        f"Over budget: loading and embedding the training rows took {fixed:.0f} s of the {deadline.seconds:.0f} s "
        f"budget, before scoring the held-out rows (about {record['scoring_reserve_seconds']:.0f} s) and saving "
        f"({record['reserve_seconds']:.0f} s): this run cannot keep to it; raise --budget-minutes (a rerun reads the "
        "embeddings from the cache)."
    )


def fold_limit_seconds(deadline: Deadline, *, keep: float, folds_left: int) -> float:
    """A fine-tune fold's wall-clock limit: its share of what is left once `keep` seconds are kept back.

    Example:
        >>> ticks = iter([0.0, 20.0])
        >>> fold_limit_seconds(Deadline(120.0, clock=lambda: next(ticks)), keep=40.0, folds_left=3)
        20.0
    """
    return max(deadline.left() - keep, 1.0) / max(folds_left, 1)


def budget_line(selection: dict[str, Any]) -> str:
    """One line: the budget, what it paid for, what it kept back, what was scaled or cut, and whether loading and
    embedding alone overran it.

    Example:
        >>> line = budget_line({"budget_seconds": 120.0, "budget_used_seconds": 101.5, "loading_seconds": 3.0,
        ...                     "embedding_seconds": 8.0, "reserve_seconds": 6.0, "scoring_reserve_seconds": 16.0,
        ...                     "held_out_rows": 1060, "cut": {"classic": "cross-validated on 2 of 5 folds"}})
        >>> line.split(";")[0]
        'Budget: 102 of 120 s used (loading 3 s, embedding the training rows 8 s, choice, final fit'
        >>> line.split("; ")[1].split(". ")[0]
        '16 s kept for scoring 1,060 held-out rows, 6 s for saving)'
        >>> line.split(". ")[1]
        'Cut at the deadline: classic: cross-validated on 2 of 5 folds.'
    """
    used = selection.get("budget_used_seconds")
    parts = [
        f"{what} {selection[key]:.0f} s"
        for what, key in (("loading", "loading_seconds"), ("embedding the training rows", "embedding_seconds"))
        if selection.get(key) is not None
    ]
    line = f"Budget: {used:.0f} of {selection['budget_seconds']:.0f} s used ({', '.join([*parts, 'choice, final fit'])}"
    kept = []
    if selection.get("scoring_reserve_seconds"):
        rows = selection["held_out_rows"]
        kept.append(f"{selection['scoring_reserve_seconds']:.0f} s kept for scoring {rows:,} held-out rows")
    if selection.get("reserve_seconds") is not None:
        kept.append(f"{selection['reserve_seconds']:.0f} s {'for' if kept else 'kept for'} saving")
    line += (f"; {', '.join(kept)}" if kept else "") + ")."
    if selection.get("over_budget"):
        line += f" {selection['over_budget']}"
    scaled = selection.get("scaled") or {}
    line += "".join(f" Scaled: {name}: {plan['why']}." for name, plan in scaled.items())
    cut = selection.get("cut") or {}
    line += "" if not cut else " Cut at the deadline: " + "; ".join(f"{k}: {v}" for k, v in cut.items()) + "."
    return line


def score_repeated_within_deadline(
    scorers: dict[str, Callable],
    folds_for: Callable[[int], list],
    *,
    deadline: Deadline,
    keep: float,
    skipped: dict[str, str],
    repeats: int,
    share: float,
) -> tuple[dict[str, dict[str, Any]], int]:
    """Cheap candidates scored on `folds_for(0)`, then on `folds_for(1..repeats-1)` (paired evidence) while they
    have used at most `share` of the budget; no fold starts past the deadline less `keep` seconds (the reserves).
    A candidate cut short says so in `deadline.cut`, one with no fold in `skipped` too. Returns the scores (every
    fold pooled) and the number of folds in one round."""
    first = folds_for(0)
    scorers, stop = deadline_scorers(scorers, deadline, keep=keep)
    scores = score_candidates(scorers, first, stop=stop)
    for name in scorers:
        ran = len(scores[name]["folds"]) if name in scores else 0
        if ran == 0:
            skipped[name] = deadline.cut[name] = "the budget ran out before its first cross-validation fold"
        elif ran < len(first):
            deadline.cut[name] = f"cross-validated on {ran} of {len(first)} folds: the budget ran out"
    for repeat in range(1, repeats):
        if deadline.spent() > share * deadline.seconds:
            break
        more = score_candidates({name: scorers[name] for name in scores}, folds_for(repeat), stop=stop)
        for name, score in more.items():
            folds = scores[name]["folds"] + score["folds"]
            scores[name] |= {"mean": float(np.mean(folds)), "std": float(np.std(folds)), "folds": folds}
            scores[name]["seconds"] = round(scores[name]["seconds"] + score["seconds"], 2)
    return scores, len(first)

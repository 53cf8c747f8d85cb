"""Learning curves: test accuracy against labelled examples per class, for transfer and a classic baseline.

Transfer is the probe: a logistic regression on the frozen backbone's cached embeddings (standardised,
L2 strength by cross-validation when there are enough examples). The baseline is the classic model of
`baselines.ClassicBaseline`. Each point is the mean (and std) over `repeats` random draws of k examples
per class from the training split; every draw is scored on the same test split.

Example::

    result = learning_curve("builtin:fine-food", shots=[4, 16], limit=400, test_limit=200)
    [row["accuracy_mean"] for row in result["rows"] if row["method"] == "probe"]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from transferkit.data.dataset import LabeledData
from transferkit.errors import ConfigError, DataError
from transferkit.evaluation.metrics import label_indices
from transferkit.evaluation.report import write_report
from transferkit.models.classic import ClassicBaseline
from transferkit.run_folder import write_output

DEFAULT_SHOTS = (4, 8, 16, 32, None)
PROBE_C = 0.1


def sample_per_class(labels: list[str], per_class: int | None, *, rng: np.random.Generator) -> list[int]:
    """Indices of `per_class` random examples of every class (all of a smaller class; all rows for None)."""
    if per_class is None:
        return list(range(len(labels)))
    picked: list[int] = []
    for name in sorted(set(labels)):
        rows = [i for i, label in enumerate(labels) if label == name]
        picked += list(rng.choice(rows, size=min(per_class, len(rows)), replace=False))
    return sorted(int(i) for i in picked)


def curve_points(
    *,
    train: LabeledData,
    test: LabeledData,
    train_features: np.ndarray,
    test_features: np.ndarray,
    shots: list[int | None],
    repeats: int = 3,
    seed: int = 0,
    baseline: bool = True,
) -> list[dict[str, Any]]:
    """Rows of {method, per_class, accuracy_mean, accuracy_std, repeats} for the probe (and the classic baseline)."""
    class_names = train.class_names
    labels = train.labels or []
    y_test = label_indices(test.labels or [], class_names)
    rows = []
    for per_class in shots:
        draws = 1 if per_class is None else repeats
        scores: dict[str, list[float]] = {"probe": [], "classic": []}
        for draw in range(draws):
            rng = np.random.default_rng([seed, draw, per_class or 0])
            pick = sample_per_class(labels, per_class, rng=rng)
            picked_labels = [labels[i] for i in pick]
            probe = make_pipeline(StandardScaler(), LogisticRegression(C=PROBE_C, max_iter=2000))
            probe.fit(train_features[pick], picked_labels)
            predicted = label_indices(list(probe.predict(test_features)), class_names)
            scores["probe"].append(float((predicted == y_test).mean()))
            if baseline:
                model = ClassicBaseline(modality=train.modality, seed=seed)
                proba = model.fit([train.inputs[i] for i in pick], picked_labels).predict_proba(
                    test.inputs, class_names=class_names
                )
                scores["classic"].append(float((proba.argmax(1) == y_test).mean()))
        shown = per_class if per_class is not None else max(train.class_counts.values())
        for method, values in scores.items():
            if values:
                rows.append(
                    {
                        "method": method,
                        "per_class": shown,
                        "all": per_class is None,
                        "accuracy_mean": float(np.mean(values)),
                        "accuracy_std": float(np.std(values)),
                        "repeats": len(values),
                    }
                )
    return rows


def learning_curve(
    data: str | Path,
    *,
    shots: list[int | None] | None = None,
    repeats: int = 3,
    output_dir: str | Path | None = None,
    baseline: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Accuracy vs labelled examples per class for the probe and the classic baseline, written as curve.json,
    curve.csv and curve.png (when matplotlib is installed) into `output_dir`; when that is a run folder,
    its report.html / report.md are written again with the learning curve in them.

    `options` are `fit`'s flat options (backbone, text_column, label_column, limit, test_limit, seed, ...);
    the data is split as `fit` splits it, and the curve is scored on the test split.
    """
    from transferkit.backbones import create_backbone
    from transferkit.embedding_cache import extract_features
    from transferkit.evaluation import figures
    from transferkit.modalities import get_modality
    from transferkit.workflows.fit import prepare_splits, resolve_spec

    spec = resolve_spec(data, None, options)
    splits, _ = prepare_splits(spec)
    test = splits.test or splits.valid
    if test is None or not len(test):
        raise DataError(f"{data} leaves no test rows for the learning curve; pass --test-fraction or --test-data.")
    backbone_spec = spec.backbone.spec or get_modality(splits.train.modality).default_backbone
    backbone = create_backbone(backbone_spec, max_length=spec.backbone.max_length)
    embed = {"cache_dir": spec.backbone.cache_dir, "batch_size": spec.backbone.batch_size}
    train_features, _ = extract_features(backbone, splits.train.inputs, description="Embedding training data", **embed)
    test_features, _ = extract_features(backbone, test.inputs, description="Embedding test data", **embed)
    rows = curve_points(
        train=splits.train,
        test=test,
        train_features=train_features,
        test_features=test_features,
        shots=list(DEFAULT_SHOTS if shots is None else shots),
        repeats=repeats,
        seed=spec.run.seed,
        baseline=baseline,
    )
    result = {"data": str(data), "backbone": backbone_spec, "test_examples": len(test), "rows": rows}
    if output_dir is not None:
        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        write_output(folder / "curve.json", json.dumps(result, indent=2) + "\n")
        lines = ["method,per_class,accuracy_mean,accuracy_std,repeats"]
        lines += [
            f"{r['method']},{r['per_class']},{r['accuracy_mean']:.4f},{r['accuracy_std']:.4f},{r['repeats']}"
            for r in rows
        ]
        write_output(folder / "curve.csv", "\n".join(lines) + "\n")
        if figures.figures_available():
            write_output(folder / "curve.png", figures.learning_curve_png(rows))
        if (folder / "metrics.json").is_file() and (folder / "config.yaml").is_file():  # a run folder: re-render
            write_report(
                folder,
                metrics=json.loads((folder / "metrics.json").read_text()),
                config_yaml=(folder / "config.yaml").read_text(),
                modality=splits.train.modality,
            )
    return result


def parse_shots(text: str) -> list[int | None]:
    """'4,8,16,all' -> [4, 8, 16, None]; raises ConfigError on anything else.

    Example:
        >>> parse_shots("4, 8, all")
        [4, 8, None]
    """
    shots: list[int | None] = []
    for part in (item.strip() for item in text.split(",") if item.strip()):
        if part == "all":
            shots.append(None)
        elif part.isdigit() and int(part) >= 1:
            shots.append(int(part))
        else:
            raise ConfigError(
                f"The 'shots' option takes positive counts per class or 'all', e.g. 4,8,16,all. Got {part!r}."
            )
    if not shots:
        raise ConfigError("The 'shots' option is empty; pass counts per class such as 4,8,16,all.")
    return shots

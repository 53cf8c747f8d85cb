"""The one-line suggestion `fit` prints when the classes are skewed and no imbalance handling was chosen."""

from __future__ import annotations

from transferkit.data.dataset import imbalance_ratio

HIGH_RATIO = 4.0


def handling_chosen(imbalance) -> bool:
    """Whether the run's imbalance section asks for any handling (weights, focal loss, resampling, threshold)."""
    return (
        imbalance.class_weight != "none"
        or imbalance.loss != "cross-entropy"
        or imbalance.resample != "none"
        or imbalance.threshold != "argmax"
    )


def imbalance_advice(class_counts: dict[str, int], imbalance) -> str | None:
    """A suggestion when the training split's ratio is >= 4:1 and nothing was chosen, else None.

    Example:
        >>> from transferkit.config import ImbalanceConfig
        >>> imbalance_advice({"bad": 10, "good": 190}, ImbalanceConfig())
        'imbalance ratio 19:1 and no handling chosen; try --class-weight balanced or --resample smote'
    """
    ratio = imbalance_ratio(class_counts)
    if ratio < HIGH_RATIO or handling_chosen(imbalance):
        return None
    return f"imbalance ratio {ratio:.0f}:1 and no handling chosen; try --class-weight balanced or --resample smote"


def imbalance_summary(class_counts: dict[str, int], imbalance) -> dict:
    """The "imbalance" block of metrics.json: training class counts, ratio, minority class, handling, suggestion."""
    minority = min(class_counts, key=lambda name: (class_counts[name], name))
    return {
        "train_class_counts": dict(class_counts),
        "imbalance_ratio": round(imbalance_ratio(class_counts), 3),
        "minority_class": minority,
        "handling": imbalance.model_dump(mode="json"),
        "suggestion": imbalance_advice(class_counts, imbalance),
    }


def imbalance_lines(metrics: dict) -> list[str]:
    """Lines `fit` prints under the metrics table: minority recall / PR-AUC, the threshold, the suggestion."""
    summary = metrics.get("imbalance")
    if not summary:
        return []
    minority = summary["minority_class"]
    lines = []
    for split in ("valid", "test"):
        if split in metrics:
            m = metrics[split]
            recalls = ", ".join(f"{name} {c['recall']:.3f}" for name, c in m["per_class"].items())
            pr = f"; PR-AUC of {minority} {m['minority_pr_auc']:.3f}" if m.get("minority_pr_auc") is not None else ""
            lines.append(f"{split}: recall per class: {recalls}{pr}")
    lines[:0] = [
        f"class counts (train) {summary['train_class_counts']}, imbalance ratio {summary['imbalance_ratio']:.1f}:1"
    ]
    if metrics.get("threshold"):
        t = metrics["threshold"]
        lines.append(
            f"decision threshold: predict {t['class']} when its probability >= {t['value']:.3f} ({t['objective']})"
        )
    if summary.get("suggestion"):
        lines.append(f"suggestion: {summary['suggestion']}")
    return lines

"""The model card written as model/README.md: data, backbone and its weights' licence, metrics, limits, use."""

from __future__ import annotations

from typing import Any

from transferkit.config import RunSpec
from transferkit.models.boosting import trees_modality
from transferkit.tasks import ClassificationTask, Task

KIND_TEXT = {
    "probe": "a linear head trained on the frozen backbone's embeddings",
    "two-stage": "the backbone fine-tuned end to end after a probe trained its head (LP-FT)",
    "classic": "a classic model (TF-IDF or pixels + logistic regression); the pretrained backbone is not used",
    "concat": "logistic regression on the frozen backbone's embeddings concatenated with classic features",
}
# On a table, strategy auto's classic candidate is gradient-boosted trees (saved as allow-listed skops, not pickle).
TABLE_CLASSIC_TEXT = (
    "gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, or HistGradientBoostingRegressor for a "
    "number) on the table's columns, saved as a skops "
    "file whose types are checked against an allow-list; it does not export to ONNX"
)


def model_card(
    *,
    metrics: dict[str, Any],
    spec: RunSpec,
    modality: str,
    task: Task | None = None,
    class_names: list[str] | None = None,
) -> str:
    """Markdown model card of a fitted run, from its metrics and resolved config; the task writes its summary,
    intended use and metrics table (`class_names` stands for single-label classification when no task is given)."""
    task = task or ClassificationTask(class_names=list(class_names or []))
    strategy = metrics.get("strategy") or {}
    chosen = strategy.get("chosen") or strategy.get("name", spec.strategy.name)
    own = task.card_lines(metrics=metrics, spec=spec, modality=modality, chosen=chosen)
    backbone = metrics.get("backbone") or {}
    weights = backbone.get("weights") or {}
    data = metrics.get("data") or {}
    lines = [
        f"# Model card: {spec.run.name}",
        "",
        f"{' '.join(own['summary'])}, {_kind_text(chosen, modality, metrics.get('selection'))}.",
        "",
        "## Intended use",
        "",
        f"{' '.join(own['intended_use'])} "
        "It is not meant for other kinds of inputs, other label definitions, or decisions about people "
        "without human review.",
        "",
        "## Training data",
        "",
        f"- Source: {spec.data.path} (text column `{spec.data.text_column}`, label column `{spec.data.label_column}`)",
        *own.get("training_data", []),  # the task's counts: per class, per label, or the target's range
        f"- Splits: {data.get('splits', 'n/a')}",
        "",
        "## Backbone",
        "",
        *(
            ["The saved classic model does not use it; it is the backbone the other candidates were scored with.", ""]
            if chosen == "classic"
            else []
        ),
        f"- Spec: `{backbone.get('spec', spec.backbone.spec)}` ({backbone.get('parameters', 'n/a')} parameters)",
        f"- Weights: {weights.get('source', 'n/a')}; sha256 `{weights.get('checksum', 'n/a')}`",
        f"- Licence of the weights: {weights.get('licence') or 'not recorded: check the weights source'}",
        "",
        "## Metrics",
        "",
        *own["metrics"],
    ]
    lines += _selection_lines(metrics.get("selection")) + _baseline_lines(metrics.get("baselines") or {})
    return "\n".join(lines + _limitations_and_use(own.get("limitations", [])))


def _kind_text(chosen: str, modality: str, selection: dict[str, Any] | None = None) -> str:
    ensemble = (selection or {}).get("ensemble") or {}
    if chosen == "ensemble" and ensemble.get("line"):  # strategy auto saved its ensemble of cheap candidates
        return f"{ensemble['line']}: the members' class probabilities averaged with weights chosen out of fold"
    if chosen == "classic" and trees_modality(modality):
        return TABLE_CLASSIC_TEXT
    return KIND_TEXT.get(chosen, "a transfer strategy")


def metric_name(selection: dict[str, Any]) -> str:
    """What the choice's cross-validated scores are: accuracy, or R² for a number (strategy auto on regression)."""
    return {"r2": "R²"}.get(selection.get("metric"), "accuracy")


def _selection_lines(selection: dict[str, Any] | None) -> list[str]:
    """Strategy auto's (or --select's) cross-validated choice."""
    if not selection:
        return []
    chose = (
        f"Cross-validation on the training split chose {selection['chosen']}, "
        + (
            f"{selection['margin']:.3f} {metric_name(selection)} above {selection['runner_up']}."
            if selection.get("runner_up")
            else "the only candidate scored."
        )
        if selection.get("folds", 1)  # 0: auto ran out of budget before any fold and saved its fallback
        else f"No candidate was cross-validated within the budget; {selection['chosen']} was saved."
    )
    lines = ["", chose]
    lines += [f"- {name} was not scored: {why}" for name, why in (selection.get("skipped") or {}).items()]
    lines += [f"- {selection['budget_line']}"] if selection.get("budget_line") else []  # auto: budget and cuts
    return lines + ([f"- {selection['search']['line']}"] if selection.get("search") else [])  # --search


def _baseline_lines(baselines: dict[str, Any]) -> list[str]:
    """The transfer gain over each baseline (--baseline)."""
    lines = []
    for name, entry in baselines.items():
        if isinstance(entry, dict):
            gain = entry["gain"]
            lines.append(
                f"- vs {name} baseline ({entry['description']}): gain {gain['gain']:+.3f} "
                f"[{gain['low']:+.3f}, {gain['high']:+.3f}]{' NEGATIVE TRANSFER' if gain['negative_transfer'] else ''}"
            )
    return lines


def _limitations_and_use(task_lines: list[str]) -> list[str]:
    return [
        "",
        "## Limitations",
        "",
        *task_lines,  # how much data trained it and what its outputs mean, in the task's terms
        "- The backbone's pretraining data and its biases carry over to this model.",
        "",
        "## How to use",
        "",
        "```",
        "transferkit predict MODEL_DIR inputs.csv --output predictions.csv",
        "```",
        "",
    ]

"""Per-class loss weights: inverse frequency ("balanced"), effective number of samples, or the user's map.

Effective number (Cui et al., CVPR 2019): a class with n examples counts as (1 - beta^n) / (1 - beta)
distinct ones; weights are proportional to the inverse, so beta -> 0 gives equal weights and beta -> 1
inverse frequency. Weights are normalised to average 1 over the training examples, so the loss keeps its scale.

Example:
    >>> class_weights({"bad": 10, "good": 90}, "balanced").round(2).tolist()
    [5.0, 0.56]
"""

from __future__ import annotations

import numpy as np

# The parsing lives with the schema (config validates --class-weight without importing this layer); re-exported
# here for existing callers.
from transferkit.config import CLASS_WEIGHT_FORMS as VALID
from transferkit.config import parse_class_weight
from transferkit.errors import ConfigError

__all__ = ["VALID", "class_weights", "parse_class_weight"]


def class_weights(class_counts: dict[str, int], value: str | dict[str, float]) -> np.ndarray | None:
    """Weights in the order of sorted class names (None for "none"), averaging 1 over the training examples.

    Args:
        class_counts: Training examples per class (all classes of the model, sorted by name).
        value: The --class-weight option.
    """
    kind, parameter = parse_class_weight(value)
    if kind == "none":
        return None
    names = sorted(class_counts)
    counts = np.array([class_counts[name] for name in names], dtype=np.float64)
    if kind == "balanced":
        weights = counts.sum() / (len(counts) * counts)  # scikit-learn's class_weight="balanced"
    elif kind == "effective":
        weights = (1.0 - parameter) / (1.0 - np.power(parameter, counts))
    else:
        unknown = sorted(set(parameter) - set(names))
        if unknown:
            raise ConfigError(
                f"The 'class-weight' map names class(es) {', '.join(unknown)} that the training data lacks; "
                f"classes: {', '.join(names)}."
            )
        weights = np.array([parameter.get(name, 1.0) for name in names])
    return weights * counts.sum() / float((weights * counts).sum())

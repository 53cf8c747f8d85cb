"""Report figures drawn with matplotlib (headless Agg backend) and returned as PNG bytes.

matplotlib is optional (the `report` extra): `figures_available()` says whether figures can be drawn.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
from typing import Any

import numpy as np

# A wider confusion matrix is unreadable, and above ~1,300 classes its figure passes matplotlib's 2^16-pixel limit.
CONFUSION_FIGURE_MAX_CLASSES = 60


def figures_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def new_figure(width: float = 5.0, height: float = 3.6) -> Any:
    """A matplotlib Figure; the object API needs no pyplot, no display and no switch of the global backend."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def img_tag(png: bytes | None, alt: str, *, kind: str = "png") -> str:
    """An inline <img> of `png` (or another `kind` of image) for a self-contained HTML report ("" for None)."""
    if png is None:
        return ""
    data = base64.b64encode(png).decode()
    return f'<img class="fig" alt="{html.escape(alt)}" src="data:image/{kind};base64,{data}">'


def training_curves_png(history: list[dict[str, float]]) -> bytes | None:
    """Loss, accuracy and learning rate per epoch, one panel each (only the panels with data)."""
    panels = {
        "loss": [key for key in ("train_loss", "val_loss") if any(key in row for row in history)],
        "accuracy": [key for key in ("train_accuracy", "val_accuracy") if any(key in row for row in history)],
        "learning rate": sorted({key for row in history for key in row if key.startswith("lr")}),
    }
    panels = {title: keys for title, keys in panels.items() if keys}
    if not history or not panels:
        return None
    figure = new_figure(4.0 * len(panels), 3.2)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, (title, keys) in zip(axes, panels.items(), strict=True):
        for key in keys:
            points = [(row.get("epoch", i), row[key]) for i, row in enumerate(history) if key in row]
            axis.plot(*zip(*points, strict=True), marker="o", label=key)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.legend(fontsize=8)
    return figure_png(figure)


def confusion_matrix_png(labels: list[str], matrix: list[list[int]]) -> bytes | None:
    """Counts per (true, predicted) class, darker for more; None above CONFUSION_FIGURE_MAX_CLASSES classes."""
    if len(labels) > CONFUSION_FIGURE_MAX_CLASSES:
        return None
    values = np.asarray(matrix)
    size = max(3.5, 0.5 * len(labels) + 2)
    figure = new_figure(size, size * 0.85)
    axis = figure.subplots()
    axis.imshow(values, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = values.max() / 2 if values.size else 0
    for (row, column), count in np.ndenumerate(values):
        axis.text(column, row, str(count), ha="center", va="center", color="white" if count > threshold else "black")
    return figure_png(figure)


def reliability_png(calibration: dict[str, Any]) -> bytes:
    """Reliability diagram: accuracy vs confidence per bin against the diagonal of perfect calibration."""
    figure = new_figure(4.2, 3.8)
    axis = figure.subplots()
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    widths = np.subtract(calibration["bin_upper"], calibration["bin_lower"])
    axis.bar(
        calibration["bin_lower"],
        calibration["accuracy"],
        width=widths,
        align="edge",
        alpha=0.6,
        edgecolor="black",
        label="accuracy in bin",
    )
    axis.plot(calibration["confidence"], calibration["accuracy"], marker="o", color="C1", label="mean confidence")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("confidence (top probability)")
    axis.set_ylabel("accuracy")
    axis.set_title(f"ECE {calibration['ece']:.3f}")
    axis.legend(fontsize=8, loc="upper left")
    return figure_png(figure)


def learning_curve_png(rows: list[dict[str, Any]]) -> bytes:
    """Accuracy against labelled examples per class, one line per method, with +-1 std bands."""
    figure = new_figure(5.0, 3.6)
    axis = figure.subplots()
    for method in dict.fromkeys(row["method"] for row in rows):
        points = sorted(
            (row["per_class"], row["accuracy_mean"], row["accuracy_std"]) for row in rows if row["method"] == method
        )
        x, mean, std = (np.array(column, dtype=float) for column in zip(*points, strict=True))
        axis.plot(x, mean, marker="o", label=method)
        axis.fill_between(x, mean - std, mean + std, alpha=0.2)
    axis.set_xscale("log", base=2)
    axis.set_xlabel("labelled examples per class")
    axis.set_ylabel("test accuracy")
    axis.legend(fontsize=8)
    return figure_png(figure)

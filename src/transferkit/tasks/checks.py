"""Checks before training: options that only single-label classification honours (refused by the other tasks
with the fix named), and label cells no task can read (a written-out list, another separator, a label seen once)."""

from __future__ import annotations

from pathlib import Path

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.data.labels import as_number
from transferkit.errors import ConfigError, DataError


def classification_only_options(spec: RunSpec) -> list[str]:
    """The flags set in `spec` that shape a single-label classifier (one class per example)."""
    optim, imbalance = spec.optim, spec.imbalance
    given = {
        "--mixup / --cutmix": bool(optim.mixup or optim.cutmix),
        "--label-smoothing": bool(optim.label_smoothing),
        "--loss focal": imbalance.loss != "cross-entropy",
        "--class-weight": imbalance.class_weight != "none",
        "--resample": imbalance.resample != "none",
        "--threshold": imbalance.threshold != "argmax",
        "--baseline": spec.run.baseline != "none",
        "--augment": spec.augment.policy != "none",
    }
    return [flag for flag, is_set in given.items() if is_set]


def refuse_classification_options(spec: RunSpec, *, task: str, also: dict[str, bool] | None = None) -> None:
    """ConfigError naming every classification-only option set in a run of `task` (and the task's own `also`)."""
    flags = classification_only_options(spec) + [flag for flag, is_set in (also or {}).items() if is_set]
    if flags:
        raise ConfigError(
            f"{', '.join(flags)} {'applies' if len(flags) == 1 else 'apply'} to single-label classification, "
            f"not to --task {task}; leave {'it' if len(flags) == 1 else 'them'} out."
        )


LIST_BRACKETS = (("[", "]"), ("(", ")"), ("{", "}"))
OTHER_SEPARATORS = (",", ";", "/")


def row_of(data: LabeledData, index: int) -> str:
    """Where the `index`-th labelled example sits: its CSV row when no row was skipped, else its position."""
    if not data.bad_items and Path(data.source).suffix.lower() in (".csv", ".tsv"):
        return f"row {index + 2}"  # the header is row 1
    return f"labelled example {index + 1}"


def check_label_cells(data: LabeledData, *, spec: RunSpec, task: str) -> None:
    """Refuse label cells that are neither one label nor a list separated by --label-separator: a written-out
    list (``['Drama', 'Comedy']``) for any task, and for multi-label cells that use another separator."""
    column, separator, labels = spec.data.label_column, spec.data.label_separator, data.labels or []
    if spec.data.label_columns:
        return  # label sets built from 0/1 columns
    for index, cell in enumerate(labels):
        text = cell.strip()
        bracketed = any(text.startswith(open_) and text.endswith(close) for open_, close in LIST_BRACKETS)
        if bracketed and any(mark in text for mark in (",", "'", '"')):  # "(no genres listed)" is one label
            raise DataError(
                f"Label column '{column}' of {data.source} holds a written-out list ({text!r}, {row_of(data, index)}); "
                f"write one label, or several separated by '{separator}' (Drama{separator}Comedy), without brackets."
            )
    if task != "multilabel" or any(separator in cell for cell in labels):
        return
    for other in OTHER_SEPARATORS:
        index = next((i for i, cell in enumerate(labels) if other in cell), None)
        if index is not None:
            raise DataError(
                f"Label column '{column}' of {data.source} has no cell separated by '{separator}' but "
                f"{labels[index]!r} ({row_of(data, index)}) holds '{other}'; pass --label-separator '{other}'."
            )


def refuse_labels_seen_once(data: LabeledData, names: list[list[str]], *, spec: RunSpec) -> None:
    """A label in a single row cannot be both trained on and measured; name it, its row and the fix."""
    rows: dict[str, list[int]] = {}
    for index, row_names in enumerate(names):
        for name in row_names:
            rows.setdefault(name, []).append(index)
    once = sorted(name for name, where in rows.items() if len(where) == 1)
    if once:
        first = once[0]
        raise DataError(
            f"Label '{first}' of label column '{spec.data.label_column}' in {data.source} appears only once "
            f"({row_of(data, rows[first][0])}){f' (and {len(once) - 1} more label(s) too)' if len(once) > 1 else ''}; "
            "add examples of it or remove it from that cell."
        )


def refuse_non_finite(data: LabeledData, *, spec: RunSpec) -> None:
    """Regression: name the label cells that are not finite numbers (empty ones are already bad rows)."""
    bad = [(index, cell) for index, cell in enumerate(data.labels or []) if as_number(cell) is None]
    if bad:
        shown = ", ".join(f"{cell!r} ({row_of(data, index)})" for index, cell in bad[:3])
        raise DataError(
            f"Label column '{spec.data.label_column}' of {data.source} has {len(bad)} value(s) that are not finite "
            f"numbers: {shown}{', ...' if len(bad) > 3 else ''}; regression needs a number in every label cell. "
            "Fix or remove those rows, or pass --task classification."
        )

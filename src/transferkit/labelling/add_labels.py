"""`transferkit fit RUN_OR_DATA --add-labels labelled.csv`: take a filled-in to_label.csv back.

The labelled rows join the training split of a new run; validation and test rows stay exactly those of the
earlier run (the same data, seed and split options), so the two runs' scores compare. DATA may be a run folder:
its config.yaml gives the data and every option (flags given now override them) and the new run is named after
it (`reviews` -> `reviews-round2` -> `reviews-round3`). Rows with an empty label are skipped, rows whose input
is already in the training split (or the file) are not added twice, rows that sit in the validation or test split
are not moved into training (that would leak), and a label outside the training classes is an error naming the
file and row. The merged split files are kept in `runs/NEW/data/` and the new config.yaml points at them, so the
run repeats with `fit --config`.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from transferkit.config import RunSpec
from transferkit.data import LabeledData
from transferkit.data.text_tables import read_table, require_column
from transferkit.errors import ConfigError, DataError
from transferkit.labelling.report import append_section
from transferkit.run_folder import write_atomic, write_json
from transferkit.workflows.fit import FitResult, prepare_splits, resolve_spec

DATA_FOLDER = "data"  # runs/NAME/data: the split files the run trained and was scored on
ROLES = ("train", "valid", "test")
_ROUND = re.compile(r"-round(\d+)$")


@dataclass
class Added:
    """The rows taken from the labelled file, and what was left out and why."""

    inputs: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def earlier_run(data: str | Path | None) -> Path | None:
    """DATA itself when it is a run folder (it holds the config.yaml fit wrote), else None."""
    if data is None or str(data).startswith("builtin:"):
        return None
    path = Path(data)
    return path if (path / "config.yaml").is_file() and (path / "metrics.json").is_file() else None


def next_name(name: str) -> str:
    """`reviews` -> `reviews-round2`, `reviews-round2` -> `reviews-round3`.

    Example::

        >>> next_name("reviews"), next_name("reviews-round2")
        ('reviews-round2', 'reviews-round3')
    """
    found = _ROUND.search(name)
    number = int(found.group(1)) + 1 if found else 2
    return f"{_ROUND.sub('', name)}-round{number}"


def base_spec(data: str | Path | None, config: Any, options: dict[str, Any]) -> tuple[RunSpec, Path | None]:
    """The spec of the new run before the rows are added, and the earlier run folder when DATA is one."""
    run = earlier_run(data)
    if run is None:
        return resolve_spec(data, config, options), None
    if config is not None:
        raise ConfigError(f"{run} is a run folder: its config.yaml is the config; drop --config.")
    earlier = RunSpec.from_yaml(run / "config.yaml")
    values = earlier.model_dump()
    values["run"] |= {"name": next_name(run.name), "output_dir": str(run.parent), "overwrite": False}
    return resolve_spec(None, RunSpec.from_dict(values, source=str(run / "config.yaml")), options), run


def _input(modality: str, value: str, base: Path) -> str:
    """An input as training reads it: an image path made absolute (relative to `base`), a text as it is."""
    if modality != "image":  # image inputs are file paths (the modality branch: paths, not text, need resolving)
        return value
    return str((Path(value) if Path(value).is_absolute() else base / value).resolve())


def _key(value: str) -> str:
    return " ".join(value.split())  # a CSV round trip or a spreadsheet may change spacing


# Long: one pass over the file's rows, each either added or counted under the reason it was left out.
def read_added(path: str | Path, spec: RunSpec, *, train: LabeledData, held_out: list[LabeledData]) -> Added:
    """The labelled rows of `path` to add to `train` (see the module docstring for what is left out)."""
    path = Path(path)
    frame, bad = read_table(path)
    if bad:
        raise DataError(f"{path}: {len(bad)} row(s) could not be read; fix the file and run again.")
    text_column, label_column = spec.data.text_column, spec.data.label_column
    require_column(frame, text_column, option="--text-column", path=path)
    require_column(frame, label_column, option="--label-column", path=path)
    modality, classes = train.modality, train.class_names
    seen = {_key(_input(modality, item, Path.cwd())) for item in train.inputs}
    held = {_key(_input(modality, item, Path.cwd())) for part in held_out for item in part.inputs}
    added = Added(counts=dict.fromkeys(("unlabelled", "already_in_training", "in_validation_or_test"), 0))
    for index, (item, label) in enumerate(zip(frame[text_column], frame[label_column], strict=True)):
        if _blank(label) or _blank(item):
            added.counts["unlabelled"] += 1
            continue
        label = str(label).strip()
        if label not in classes:
            raise DataError(
                f"{path} row {index + 2} (the header is row 1): label '{label}' is not a class of the training data "
                f"({', '.join(classes)}); correct it, or empty the cell to skip the row."
            )
        item = _input(modality, str(item), path.parent)
        key = _key(item)
        if key in held:
            added.counts["in_validation_or_test"] += 1
        elif key in seen:
            added.counts["already_in_training"] += 1
        else:
            seen.add(key)
            added.inputs.append(item)
            added.labels.append(label)
    if not added.inputs:
        raise DataError(
            f"{path} adds no new labelled rows ({_counts_text(added.counts)}); fill in the '{label_column}' column."
        )
    return added


def _blank(value: object) -> bool:
    return value is None or pd.isna(value) or str(value).strip() == ""


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{number} {what.replace('_', ' ')}" for what, number in counts.items() if number) or "no rows"


def _write(path: Path, inputs: list[str], labels: list[str], spec: RunSpec) -> str:
    frame = pd.DataFrame({spec.data.text_column: inputs, spec.data.label_column: labels})
    write_atomic(path, frame.to_csv(index=False))
    return str(path)


def child_spec(spec: RunSpec, files: dict[str, str | None]) -> RunSpec:
    """The new run's spec: the written split files under the same column names, every other option kept."""
    values = spec.model_dump()
    values["data"] |= {"path": files["train"], "valid_path": files["valid"], "test_path": files["test"]}
    values["data"] |= {"split_column": None, "limit": None, "test_limit": None}
    values["run"] |= {"add_labels": None}
    if not files["test"]:
        values["data"]["test_fraction"] = 0.0
    if not files["valid"]:
        values["data"]["valid_fraction"] = 0.0
    return RunSpec.from_dict(values, source="--add-labels")


def write_splits(folder: Path, spec: RunSpec, splits: Any, added: Added) -> dict[str, str | None]:
    """train.csv (the earlier training rows, then the added ones), valid.csv and test.csv in `folder`."""
    train = splits.train
    files = {
        "train": _write(folder / "train.csv", train.inputs + added.inputs, list(train.labels) + added.labels, spec)
    }
    for role, part in (("valid", splits.valid), ("test", splits.test)):
        files[role] = None if part is None else _write(folder / f"{role}.csv", part.inputs, list(part.labels), spec)
    return files


def held_out_accuracy(metrics: dict[str, Any]) -> float | None:
    return (metrics.get("test") or metrics.get("valid") or {}).get("accuracy")


def fit_on_splits(
    spec: RunSpec, splits: Any, added: Added, *, fit: Any, after: dict[str, Any] | None = None
) -> FitResult:
    """Fit on the splits written as files (training rows + `added`); keep them in runs/NEW/data and point the
    run's config.yaml at them (with the `after` overrides), so `fit --config runs/NEW/config.yaml` repeats it."""
    Path(spec.run.output_dir).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".labelled-data-", dir=spec.run.output_dir))
    try:
        result = fit(config=child_spec(spec, write_splits(staging, spec, splits, added)))
        kept = result.run_dir / DATA_FOLDER
        if kept.exists():  # a nested call (--add-labels, then --zero-shot's seeding) kept its files: they hold ours
            return result
        shutil.move(str(staging), str(kept))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    moved = {role: str(kept / f"{role}.csv") if (kept / f"{role}.csv").is_file() else None for role in ROLES}
    config_file = result.run_dir / "config.yaml"
    kept_spec = child_spec(RunSpec.from_yaml(config_file), moved).with_overrides(after or {})
    write_atomic(config_file, kept_spec.to_yaml())
    return result


def fit_adding_labels(data: str | Path | None, config: Any, options: dict[str, Any], *, fit: Any) -> FitResult:
    """Add the rows of --add-labels to the training split and fit (`fit` routes --zero-shot as usual)."""
    spec, run = base_spec(data, config, options)
    if spec.run.drop_suspect:
        raise ConfigError("--add-labels and --drop-suspect together: add the labels first, then audit the new run.")
    splits, summary = prepare_splits(spec)
    if summary["task"]["name"] != "classification" or splits.train.modality not in ("text", "image"):
        raise ConfigError("--add-labels takes single-label classification of texts or images.")
    held_out = [part for part in (splits.valid, splits.test) if part is not None]
    source = Path(str(spec.run.add_labels))
    added = read_added(source, spec, train=splits.train, held_out=held_out)
    result = fit_on_splits(spec, splits, added, fit=fit)
    record = added_record(source, added, run=run, rows_before=len(splits.train), result=result)
    result.metrics["added_labels"] = record
    write_json(result.run_dir / "metrics.json", result.metrics)
    append_section(result.run_dir / "report.html", f"<h2>--add-labels</h2><p>{html.escape(record['line'])}</p>")
    return result


def added_record(source: Path, added: Added, *, run: Path | None, rows_before: int, result: FitResult) -> dict:
    """metrics.json's `added_labels`: what was added and skipped, and the held-out accuracy before and after."""
    earlier = None
    if run is not None:
        earlier = held_out_accuracy(json.loads((run / "metrics.json").read_text(encoding="utf-8")))
    now = held_out_accuracy(result.metrics)
    line = f"Added {len(added.inputs)} labelled rows from {source}"
    skipped = _counts_text(added.counts)
    line += f" (left out: {skipped})" if skipped != "no rows" else ""
    line += f": {rows_before} -> {rows_before + len(added.inputs)} training rows"
    if earlier is not None and now is not None:
        line += f"; held-out accuracy {earlier:.4f} in {run} -> {now:.4f}, on the same rows."
    return {
        "file": str(source),
        "earlier_run": None if run is None else str(run),
        "added": len(added.inputs),
        **added.counts,
        "training_rows_before": rows_before,
        "training_rows_after": rows_before + len(added.inputs),
        "earlier_accuracy": earlier,
        "accuracy": now,
        "line": line,
    }

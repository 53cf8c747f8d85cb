"""report.html and report.md for a run folder.

report.html is one self-contained file: CSS inline, figures embedded as base64 PNG, no scripts and no
network references, so it opens anywhere (an air-gapped laptop, a CI artifact viewer).
report.md holds the same tables as plain Markdown.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.data.splits import Splits
from transferkit.evaluation import figures
from transferkit.evaluation.metrics import label_indices
from transferkit.modalities import get_modality
from transferkit.run_folder import write_atomic

WORST_EXAMPLES = 8
PER_CLASS_ROWS = 50  # more classes than this: the per-class table shows the weakest ones
CURVE_FILE = "curve.json"
MISTAKES_FILE = "mistakes.json"

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;
background:#fff;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;border-bottom:3px solid #2b6cb0;padding-bottom:.3rem}
h2{font-size:1.2rem;margin-top:2rem;color:#2b6cb0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #cbd5e0;padding:.3rem .6rem;text-align:right;vertical-align:top}
th{background:#edf2f7}td.l,th.l{text-align:left}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{background:#ebf4ff;border-radius:8px;padding:.7rem 1rem;min-width:10rem}
.card b{display:block;font-size:1.4rem}
.bad{background:#fed7d7;color:#822727;font-weight:700;padding:.5rem .8rem;border-radius:6px}
.good{background:#c6f6d5;color:#22543d;padding:.5rem .8rem;border-radius:6px}
pre{background:#f7fafc;border:1px solid #e2e8f0;padding:.8rem;overflow:auto;font-size:.85rem}
img.fig{max-width:100%;border:1px solid #e2e8f0;margin:.4rem 0}
img.thumb{width:72px;height:72px;object-fit:contain;image-rendering:pixelated}
.note{color:#4a5568;font-size:.9rem}
"""

METRIC_ROWS = [
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("macro_f1", "macro F1"),
    ("weighted_f1", "weighted F1"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("log_loss", "log-loss"),
    ("ece", "expected calibration error"),
    ("majority_rate", "majority-class rate"),
]


@dataclass
class Example:
    """One misclassified example: the input, its true and predicted class and the predicted probability."""

    item: str
    true: str
    predicted: str
    confidence: float


def worst_examples(
    data: LabeledData, proba: np.ndarray, class_names: list[str], *, count: int = WORST_EXAMPLES
) -> list[Example]:
    """The misclassified examples the model was most confident about, most confident first."""
    y_true = label_indices(data.labels or [], class_names)
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    order = wrong[np.argsort(-proba[wrong, predicted[wrong]], kind="stable")][:count]
    return [
        Example(data.inputs[i], class_names[y_true[i]], class_names[predicted[i]], float(proba[i, predicted[i]]))
        for i in order
    ]


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def html_table(header: list[str], rows: list[list[Any]], *, left: int = 1) -> str:
    """An HTML table (escaped; floats to 3 decimals, None as n/a); the first `left` columns align left."""

    def cells(values: list[Any], tag: str) -> str:
        opening = [f'<{tag} class="l">' if i < left else f"<{tag}>" for i in range(len(values))]
        return "".join(f"{o}{html.escape(_fmt(v))}</{tag}>" for o, v in zip(opening, values, strict=True))

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table><tr>{cells(header, 'th')}</tr>{body}</table>"


def html_page(title: str, body: str) -> str:
    """A self-contained report page around `body`: inline CSS, no scripts, no network references."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n"
    )


def note_html(text: str, kind: str = "note") -> str:
    """A paragraph of `text` (escaped) in the page's note, good or bad style; "" for no text."""
    return f'<p class="{kind}">{html.escape(text)}</p>' if text else ""


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _split_metrics(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: metrics[name] for name in ("valid", "test") if isinstance(metrics.get(name), dict)}


Section = tuple[str, str, str]  # (title, html, markdown)


def table_section(title: str, header: list[str], rows: list[list[Any]], *, note: str | None = None) -> Section:
    """A section holding one table (and an optional note under it), for the tasks' own sections."""
    return title, html_table(header, rows) + note_html(note), _md_table(header, rows) + (f"\n\n{note}" if note else "")


# A task's own sections: (those shown before the training curves, those after them). See `classification_sections`.
TaskSections = Callable[..., tuple[list[Section], list[Section]]]


def _main_split(metrics: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The split the report headlines: test when there is one, else validation."""
    splits = _split_metrics(metrics)
    name = "test" if "test" in splits else next(iter(splits), None)
    return name, splits.get(name, {})


def _summary_section(metrics: dict[str, Any]) -> Section:
    main_name, main = _main_split(metrics)
    strategy = metrics.get("strategy", {}).get("name", "?")
    if metrics.get("strategy", {}).get("chosen"):  # strategy auto: what cross-validation chose
        strategy = f"{strategy}: {metrics['strategy']['chosen']}"
    backbone = metrics.get("backbone", {}).get("spec", "?")
    cards = [("backbone", backbone), ("strategy", strategy)]
    if main and "accuracy" in main:  # other tasks headline their own scores in their sections
        interval = main.get("interval")
        accuracy = f"{main['accuracy']:.3f}"
        if interval:
            accuracy += f" [{interval['low']:.3f}, {interval['high']:.3f}]"
        cards += [(f"{main_name} accuracy (95% CI)", accuracy), ("majority-class rate", f"{main['majority_rate']:.3f}")]
    seconds = metrics.get("seconds", {}).get("total")
    if seconds is not None:
        cards.append(("time", f"{seconds:.1f} s"))
    body = "".join(f'<div class="card">{html.escape(k)}<b>{html.escape(str(v))}</b></div>' for k, v in cards)
    return "Run summary", f'<div class="cards">{body}</div>', "\n".join(f"- **{k}**: {v}" for k, v in cards)


def _data_section(metrics: dict[str, Any]) -> Section | None:
    data = metrics.get("data", {})
    counts = data.get("class_counts") or {}
    if not counts:
        return None
    rows = [[name, count] for name, count in counts.items()]
    note = f"Imbalance ratio (largest / smallest class): {_fmt(data.get('imbalance_ratio'))}."
    split_rows = [
        [name, sum(size.values()) if isinstance(size, dict) else size]
        for name, size in (data.get("splits") or {}).items()
    ]
    extra_html = html_table(["split", "size"], split_rows) if split_rows else ""
    extra_md = "\n\n" + _md_table(["split", "size"], split_rows) if split_rows else ""
    return (
        "Data",
        html_table(["class", "examples"], rows) + note_html(note) + extra_html,
        _md_table(["class", "examples"], rows) + f"\n\n{note}" + extra_md,
    )


def _metrics_section(metrics: dict[str, Any]) -> Section | None:
    splits = _split_metrics(metrics)
    if not splits:
        return None
    header = ["metric", *splits]
    rows = [[label, *(m.get(key) for m in splits.values())] for key, label in METRIC_ROWS]
    return "Metrics", html_table(header, rows), _md_table(header, rows)


def _training_curves_section(metrics: dict[str, Any], *, draw: bool) -> Section | None:
    history = metrics.get("history") or []
    png = figures.training_curves_png(history) if history and draw else None
    if not png:
        return None
    return "Training curves", figures.img_tag(png, "training curves"), f"{len(history)} epochs (see report.html)."


def _confusion_section(main_name: str, main: dict[str, Any], *, draw: bool) -> Section:
    confusion = main["confusion_matrix"]
    labels, total = confusion["labels"], confusion.get("classes_total", len(confusion["labels"]))
    notes = [f"The matrix shows the {len(labels)} most confused of {total} classes."] if total > len(labels) else []
    scores = list(main["per_class"].items())
    if len(scores) > PER_CLASS_ROWS:  # thousands of rows help nobody: the weakest classes, the rest in metrics.json
        scores = sorted(scores, key=lambda item: (item[1]["f1"], -item[1]["support"]))[:PER_CLASS_ROWS]
        notes.append(f"Per-class scores of the {PER_CLASS_ROWS} classes with the lowest F1 of {total}.")
    if notes:
        notes.append("metrics.json holds every class's scores.")
    per_class = [[name, row["precision"], row["recall"], row["f1"], row["support"]] for name, row in scores]
    header = ["class", "precision", "recall", "F1", "support"]
    matrix_rows = [[label, *row] for label, row in zip(labels, confusion["matrix"], strict=True)]
    matrix_header = ["true \\ predicted", *labels]
    if len(labels) > figures.CONFUSION_FIGURE_MAX_CLASSES:  # an old metrics.json with a whole large matrix
        notes.insert(0, f"{len(labels)} classes are too many to draw or tabulate a confusion matrix for.")
        matrix_rows, image = [], ""
    elif draw:
        image = figures.img_tag(figures.confusion_matrix_png(labels, confusion["matrix"]), "confusion matrix")
    else:
        image = html_table(matrix_header, matrix_rows)
    note = " ".join(notes)
    matrix_md = _md_table(matrix_header, matrix_rows) + "\n\n" if matrix_rows else ""
    return (
        f"Confusion matrix and per-class scores ({main_name})",
        note_html(note) + image + html_table(header, per_class),
        (note + "\n\n" if note else "") + matrix_md + _md_table(header, per_class),
    )


def _calibration_section(main: dict[str, Any], *, draw: bool) -> Section | None:
    calibration = main.get("calibration")
    if not calibration:
        return None
    rows = [
        [f"{lo:.1f}-{hi:.1f}", conf, acc, count]
        for lo, hi, conf, acc, count in zip(
            calibration["bin_lower"],
            calibration["bin_upper"],
            calibration["confidence"],
            calibration["accuracy"],
            calibration["count"],
            strict=True,
        )
    ]
    header = ["confidence bin", "mean confidence", "accuracy", "examples"]
    note = f"Expected calibration error: {calibration['ece']:.3f} (0 = confidences match accuracy)."
    return (
        "Calibration",
        (figures.img_tag(figures.reliability_png(calibration), "reliability diagram") if draw else "")
        + note_html(note)
        + html_table(header, rows),
        note + "\n\n" + _md_table(header, rows),
    )


def _mistakes_section(examples: list[Example], *, modality: str) -> Section | None:
    if not examples:
        return None
    header = ["input", "true", "predicted", "probability"]
    show = get_modality(modality)
    html_rows = "".join(
        f'<tr><td class="l">{show.show_html(e.item)}</td><td class="l">{html.escape(e.true)}</td>'
        f'<td class="l">{html.escape(e.predicted)}</td><td>{e.confidence:.3f}</td></tr>'
        for e in examples
    )
    head = "".join(f'<th class="l">{h}</th>' for h in header)
    md_rows = [[show.show_text(e.item), e.true, e.predicted, e.confidence] for e in examples]
    return "Most confident mistakes", f"<table><tr>{head}</tr>{html_rows}</table>", _md_table(header, md_rows)


def classification_sections(
    metrics: dict[str, Any], *, examples: list[Example], modality: str, draw: bool
) -> tuple[list[Section], list[Section]]:
    """Single-label classification's sections: class counts and metrics (before the training curves); the
    confusion matrix with per-class scores, calibration and the most confident mistakes (after them)."""
    main_name, main = _main_split(metrics)
    overview = [_data_section(metrics), _metrics_section(metrics)]
    details = [_confusion_section(main_name, main, draw=draw), _calibration_section(main, draw=draw)] if main else []
    details.append(_mistakes_section(examples, modality=modality))
    return [s for s in overview if s], [s for s in details if s]


def _gain_section(metrics: dict[str, Any]) -> Section | None:
    rows, flags = [], []
    for name, entry in (metrics.get("baselines") or {}).items():
        if not isinstance(entry, dict):
            continue
        gain = entry["gain"]
        verdict = "helped" if gain["low"] > 0 else "no clear gain"
        rows.append(
            [
                name,
                entry["description"],
                entry["metrics"]["accuracy"],
                gain["gain"],
                f"[{gain['low']:+.3f}, {gain['high']:+.3f}]",
                "NEGATIVE TRANSFER" if gain["negative_transfer"] else verdict,
            ]
        )
        if gain["negative_transfer"]:
            flags.append(name)
    if not rows:
        return None
    header = ["baseline", "what", "baseline accuracy", "transfer gain", "95% interval", "verdict"]
    verdict = (
        f"NEGATIVE TRANSFER: the transfer model is worse than the {', '.join(flags)} baseline(s) beyond noise. "
        "Prefer the baseline, or try another backbone or strategy."
        if flags
        else "No negative transfer: no baseline beats the transfer model beyond noise."
    )
    banner = note_html(verdict, "bad" if flags else "good")
    return "Transfer gain", banner + html_table(header, rows, left=2), f"**{verdict}**\n\n" + _md_table(header, rows)


def _cross_validated_note(selection: dict[str, Any], *, saved: bool) -> str:
    """The sentence of a choice that cross-validation scored: the margin over the runner-up, and whether it is saved."""
    return (
        f"{selection['folds']}-fold cross-validation on the training split chose {selection['chosen']}, "
        + (
            "the only candidate scored"
            if "runner_up" in selection and selection["runner_up"] is None
            else f"{selection['margin']:.3f} above {selection.get('runner_up', 'the runner-up')}"
        )
        + (
            " (strategy auto: it is the saved model)."
            if saved
            else " (reported only; the model is the named strategy)."
        )
    )


def _selection_section(metrics: dict[str, Any]) -> Section | None:
    """The cross-validated choice among probe / two-stage / classic / concatenated features."""
    selection = metrics.get("selection")
    if not selection:
        return None
    metric = {"r2": "R²"}.get(selection.get("metric"), "accuracy")  # R²: regression
    header = ["candidate", f"CV {metric} (mean)", "std"]
    rows = [[name, score["mean"], score["std"]] for name, score in selection["scores"].items()]
    saved = (metrics.get("strategy") or {}).get("name") == "auto"
    if not selection.get("folds"):  # auto ran out of budget before any fold: its fallback was saved
        note = f"No candidate was cross-validated within the budget; {selection['chosen']} was saved."
    else:
        note = _cross_validated_note(selection, saved=saved)
    for name, why in (selection.get("skipped") or {}).items():
        note += f" Not scored: {name}: {why}."
    if selection.get("decided_by"):  # strategy auto: the recorded prior or cross-validation, and why
        note += f" Decided by {selection['decided_by']}: {selection['why']}."
    if selection.get("search"):  # --search: trials, the best against the defaults with its noise, adopted or not
        note += f" {selection['search']['line']}"
    if selection.get("budget_line"):  # strategy auto: the budget, the fixed cost outside it, what its deadline cut
        note += f" {selection['budget_line']}"
    return (
        "Model choice",
        note_html(note) + html_table(header, rows),
        note + "\n\n" + _md_table(header, rows),
    )


def _holdout_section(metrics: dict[str, Any]) -> Section | None:
    """Data too small to hold rows out: what was not carved, and the cross-validated estimate instead."""
    holdout = metrics.get("holdout")
    if not holdout:
        return None
    return "No held-out split", note_html(holdout["line"]), holdout["line"]


def _learning_curve_section(curve: list[dict[str, Any]] | None, *, draw: bool) -> Section | None:
    if not curve:
        return None
    header = ["method", "per class", "accuracy (mean)", "std", "repeats"]
    rows = [[r["method"], r["per_class"], r["accuracy_mean"], r["accuracy_std"], r["repeats"]] for r in curve]
    return (
        "Learning curve",
        (figures.img_tag(figures.learning_curve_png(curve), "learning curve") if draw else "")
        + html_table(header, rows),
        _md_table(header, rows),
    )


def _sections(
    metrics: dict[str, Any],
    *,
    config_yaml: str,
    examples: list[Example],
    modality: str,
    curve: list[dict[str, Any]] | None,
    task_sections: TaskSections = classification_sections,
) -> list[Section]:
    """(title, html, markdown) for every section of the report that has data; the task supplies its own."""
    draw = figures.figures_available()
    overview, details = task_sections(metrics, examples=examples, modality=modality, draw=draw)
    sections = [
        _summary_section(metrics),
        *overview,
        _training_curves_section(metrics, draw=draw),
        *details,
        _gain_section(metrics),
        _selection_section(metrics),
        _holdout_section(metrics),
        _learning_curve_section(curve, draw=draw),
    ]
    if not draw:
        sections.append(
            (
                "Figures",
                '<p class="note">Install matplotlib (pip install "transferkit[report]") for figures.</p>',
                "Figures need matplotlib: `pip install 'transferkit[report]'`.",
            )
        )
    sections.append(("Config", f"<pre>{html.escape(config_yaml)}</pre>", f"```yaml\n{config_yaml}```"))
    return [section for section in sections if section]


def write_report(
    run_dir: str | Path,
    *,
    metrics: dict[str, Any],
    config_yaml: str,
    examples: list[Example] | None = None,
    modality: str = "text",
    title: str | None = None,
    extra_sections: list[tuple[str, list[str], list[list[Any]]]] | None = None,
    task_sections: TaskSections = classification_sections,
) -> tuple[Path, Path]:
    """Write report.html (self-contained) and report.md into `run_dir`; returns their paths.

    `extra_sections` are (title, header, rows) tables that commands other than `fit` add after the
    standard sections (e.g. `adapt`'s candidate methods). `task_sections` are the task's own (default: single-label
    classification's, `classification_sections`).

    A learning curve is included when `run_dir` holds curve.json (written by `transferkit curve`). The
    mistakes are kept in mistakes.json, so a later call without `examples` (after `curve`) shows them again.
    """
    run_dir = Path(run_dir)
    if examples is None and (run_dir / MISTAKES_FILE).is_file():  # re-rendering: keep the run's mistakes
        examples = [Example(**row) for row in json.loads((run_dir / MISTAKES_FILE).read_text())]
    elif examples is not None:
        write_atomic(run_dir / MISTAKES_FILE, json.dumps([dataclasses.asdict(e) for e in examples], indent=1))
    curve_file = run_dir / CURVE_FILE
    curve = json.loads(curve_file.read_text())["rows"] if curve_file.is_file() else None
    title = title or f"transferkit report: {run_dir.name}"
    sections = _sections(
        metrics,
        config_yaml=config_yaml,
        examples=examples or [],
        modality=modality,
        curve=curve,
        task_sections=task_sections,
    )
    for name, header, rows in extra_sections or []:
        sections.insert(-1, (name, html_table(header, rows), _md_table(header, rows)))  # before the config
    page = html_page(title, "".join(f"<h2>{html.escape(name)}</h2>\n{content}\n" for name, content, _ in sections))
    markdown = f"# {title}\n\n" + "\n\n".join(f"## {name}\n\n{content}" for name, _, content in sections) + "\n"
    html_path, md_path = run_dir / "report.html", run_dir / "report.md"
    write_atomic(html_path, page)
    write_atomic(md_path, markdown)
    return html_path, md_path


def write_run_report(
    run_dir: Path,
    *,
    metrics: dict[str, Any],
    spec: RunSpec,
    splits: Splits,
    probas: dict[str, np.ndarray],
    class_names: list[str],
    task_sections: TaskSections = classification_sections,
    mistakes: bool = True,
) -> tuple[Path, Path]:
    """The report of a `fit` run: its metrics, its config, the task's sections and the most confident mistakes
    on the test split (single-label classification: `mistakes`)."""
    name = "test" if "test" in probas else "valid"
    data = splits.test if name == "test" else splits.valid
    shown = mistakes and name in probas and data is not None
    examples = worst_examples(data, probas[name], class_names) if shown else []
    return write_report(
        run_dir,
        metrics=metrics,
        config_yaml=spec.to_yaml(),
        examples=examples,
        modality=splits.train.modality,
        task_sections=task_sections,
    )

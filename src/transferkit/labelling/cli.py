"""`transferkit zero-shot | suggest | audit | distil`: parsing and printing only; the work is in
transferkit.labelling's workflows, imported when a command runs (so `transferkit --help` stays quick)."""

from __future__ import annotations

from pathlib import Path

import typer

from transferkit.errors import ConfigError
from transferkit.terminal import stdout_console

ZERO_SHOT_EXAMPLE = (
    'Example: transferkit zero-shot reviews.csv --text-column review --labels "great: a review praising the '
    'product, other: a complaint or a mixed review"'
)
SUGGEST_EXAMPLE = "Example: transferkit suggest runs/reviews pool.csv --text-column review --n 50"
AUDIT_EXAMPLE = "Example: transferkit audit reviews.csv --text-column review --label-column score"
DISTIL_EXAMPLE = (
    "Example: transferkit distil runs/lite2 unlabelled/ --student bundled:mobilenet_v2 --test-data test/; text: "
    "transferkit distil runs/reviews reviews.csv --text-column review --student bundled:minilm-l2 --epochs 2"
)
out = stdout_console()

BACKBONE_HELP = "Backbone spec [the data's default: bundled:minilm for text, bundled:efficientnet_lite0 for images]."
NAME_HELP = "Run name (folder under --output-dir)."


def _say(line: str) -> None:
    out.print(line, markup=False, highlight=False)


def zero_shot(
    data: str = typer.Argument(..., help="Texts to classify: a CSV / JSONL / Parquet table, or builtin:fine-food."),
    labels: str = typer.Option(..., help='Classes and short descriptions: "great: praise for it, other: a complaint".'),
    text_column: str = typer.Option("text", help="The text column."),
    label_column: str = typer.Option("label", help="A label column, if any: its rows score the zero-shot accuracy."),
    method: str = typer.Option("similarity", help="similarity, centred (the pool's mean removed) or synthetic."),
    backbone: str = typer.Option(None, help=BACKBONE_HELP),
    name: str = typer.Option(None, help=NAME_HELP),
    output_dir: str = typer.Option("runs", help="Where run folders go."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
) -> None:
    """Classify texts with no labelled examples, from label names or descriptions (embedding similarity)."""
    from transferkit.labelling.zero_shot_run import zero_shot as run

    result = run(
        data,
        labels=labels,
        text_column=text_column,
        label_column=label_column,
        method=method,
        backbone=backbone,
        name=name,
        output_dir=output_dir,
        overwrite=overwrite,
    )
    scored = result.metrics["zero_shot"]
    if scored:
        _say(f"Zero-shot accuracy {scored['accuracy']:.3f} (majority rate {scored['majority_rate']:.3f}).")
    _say(f"Predictions: {result.run_dir / 'predictions.csv'}")


def suggest(
    paths: list[str] = typer.Argument(..., help="[RUN] DATA: a run folder (or model folder), then the pool."),
    n: int = typer.Option(50, help="How many rows to suggest."),
    strategy: str = typer.Option(
        None,
        help="random, entropy, margin, kcenter, typiclust, badge or schedule (TypiClust until every class has "
        "5 labels, then cluster-margin) [schedule with a run, kcenter without].",
    ),
    text_column: str = typer.Option("text", help="The text (or image path) column of a table."),
    label_column: str = typer.Option("label", help="The label column; rows with a label are not suggested."),
    backbone: str = typer.Option(None, help="Cold start only: " + BACKBONE_HELP),
    seed: int = typer.Option(0, help="Random seed."),
    name: str = typer.Option(None, help=NAME_HELP),
    output_dir: str = typer.Option("runs", help="Where run folders go."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
) -> None:
    """Choose the next rows to label (to_label.csv): uncertainty, diversity or BADGE; no run: diversity only."""
    from transferkit.labelling.suggest_run import suggest as run

    if len(paths) not in (1, 2):
        raise ConfigError(f"suggest takes [RUN] DATA (one or two paths); got {len(paths)}.")
    model, data = (None, paths[0]) if len(paths) == 1 else (paths[0], paths[1])
    result = run(
        model,
        data,
        n=n,
        strategy=strategy,
        text_column=text_column,
        label_column=label_column,
        backbone=backbone,
        seed=seed,
        name=name,
        output_dir=output_dir,
        overwrite=overwrite,
    )
    _say(
        f"{result.metrics['suggested']} rows to label ({result.metrics['strategy']}): {result.run_dir / 'to_label.csv'}"
    )


def audit(
    data: str = typer.Argument(..., help="Labelled data: image folder, CSV / JSONL / Parquet table or builtin:NAME."),
    text_column: str = typer.Option("text", help="The text (or image path) column of a table."),
    label_column: str = typer.Option("label", help="The label column."),
    test_data: str = typer.Option(None, help="Test data: near-duplicates between it and DATA are reported as leaks."),
    backbone: str = typer.Option(None, help=BACKBONE_HELP),
    filter_by: str = typer.Option("both", help="cleanlab's find_label_issues filter (both, prune_by_noise_rate, ...)."),
    folds: int = typer.Option(5, help="Cross-validation folds for the out-of-fold probabilities."),
    model: str = typer.Option(
        "frozen",
        help="frozen: linear models on cached embeddings (+ TF-IDF for text); finetune: also fine-tune the backbone "
        "in each of --finetune-folds folds (one fine-tune per fold: slow on a CPU; see the labelling guide).",
    ),
    finetune_folds: int = typer.Option(3, help="Folds of the fine-tuned model (--model finetune)."),
    epochs: int = typer.Option(1, help="Epochs of each fold's fine-tune (--model finetune)."),
    lm: str = typer.Option(
        None,
        help="Text: also probe a causal language model's middle-layer features, e.g. bundled:smollm2-135m "
        "(ranked flipped reviews more precisely; one pass of the LM per text, cached).",
    ),
    lm_layer: int = typer.Option(None, help="The --lm block whose output is used [just past the middle]."),
    duplicate_threshold: float = typer.Option(0.98, help="Cosine similarity at which two rows are near-duplicates."),
    devices: int = typer.Option(1, help="Processes / devices to embed on, through Lightning (rows shared out)."),
    seed: int = typer.Option(0, help="Random seed."),
    name: str = typer.Option(None, help=NAME_HELP),
    output_dir: str = typer.Option("runs", help="Where run folders go."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
) -> None:
    """Find likely label errors (with the label to use), near-duplicates and leaks, outliers, confused classes."""
    from transferkit.labelling.audit_run import audit as run

    result = run(
        data,
        text_column=text_column,
        label_column=label_column,
        test_data=test_data,
        backbone=backbone,
        filter_by=filter_by,
        folds=folds,
        model=model,
        finetune_folds=finetune_folds,
        epochs=epochs,
        lm=lm,
        lm_layer=lm_layer,
        duplicate_threshold=duplicate_threshold,
        devices=devices,
        seed=seed,
        name=name,
        output_dir=output_dir,
        overwrite=overwrite,
    )
    summary = result.metrics
    _say(
        f"{summary['label_issues']} likely label errors in {summary['rows']} rows, {summary['near_duplicate_pairs']} "
        f"near-duplicate pairs ({summary['leaking_pairs'] or 0} leaking into test), {summary['outliers']} outliers."
    )
    _say(f"Issues: {result.run_dir / 'issues.csv'}; report: {result.run_dir / 'report.html'}")


def distil(
    teacher: Path = typer.Argument(..., help="The teacher: a run folder or a model folder."),
    data: str = typer.Argument(..., help="Unlabelled inputs: a folder of images or a table of texts."),
    student: str = typer.Option(..., help="The student's backbone spec, e.g. bundled:mobilenet_v2."),
    test_data: str = typer.Option(None, help="Labelled test data: scores teacher and student."),
    labelled_data: str = typer.Option(None, help="Labelled data: its true labels train the student too."),
    epochs: int = typer.Option(
        0,
        help="Fine-tune the whole student on the soft labels for N epochs (e.g. bundled:minilm-l2) [0: probe].",
    ),
    text_column: str = typer.Option("text", help="The text (or image path) column of a table."),
    label_column: str = typer.Option("label", help="The label column of --test-data."),
    seed: int = typer.Option(0, help="Random seed."),
    name: str = typer.Option(None, help=NAME_HELP),
    output_dir: str = typer.Option("runs", help="Where run folders go."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
) -> None:
    """Train a smaller, faster student on the teacher's soft labels over unlabelled data; compare the two."""
    from transferkit.labelling.distil import distil as run

    result = run(
        teacher,
        data,
        student=student,
        test_data=test_data,
        labelled_data=labelled_data,
        text_column=text_column,
        label_column=label_column,
        epochs=epochs,
        seed=seed,
        name=name,
        output_dir=output_dir,
        overwrite=overwrite,
    )
    metrics = result.metrics
    for role in ("teacher", "student"):
        part = metrics[role]
        accuracy = f"accuracy {part['accuracy']:.3f}, " if "accuracy" in part else ""
        _say(f"{role}: {accuracy}{part['parameters']:,} parameters, {part['ms_per_input']:.2f} ms per input")
    _say(f"Speed-up {metrics['speedup']:.2f}x; student model: {result.model_dir}")

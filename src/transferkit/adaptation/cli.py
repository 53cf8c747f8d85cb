"""`transferkit shift` and `transferkit adapt`: thin typer commands over `transferkit.adaptation`.

They are mounted on the main app in `transferkit.cli`; parsing and printing only.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from transferkit.errors import ConfigError
from transferkit.terminal import stdout_console

out = stdout_console()

SHIFT_EXAMPLE = "Example: transferkit shift data/fonts data/mnist --backbone bundled:efficientnet_lite0"
ADAPT_EXAMPLE = "Example: transferkit adapt --source data/fonts --target data/mnist --method coral,dann,adabn"


def _columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _weights(value: str | None) -> list[float] | None:
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"The 'weight' option must be a number or comma-separated numbers. Got '{value}'.") from None


def _options(command: typer.Context, **parsed: object) -> dict:
    """The command's flags as the API's keyword options (each flag has the name of its keyword); `parsed`
    replaces the flags that are text on the command line."""
    return {**command.params, "numeric_columns": _columns(command.params["numeric_columns"]), **parsed}


def shift(
    command: typer.Context,
    source: str = typer.Argument(..., help="Source data: image class folders, CSV / JSONL, or a table."),
    target: str = typer.Argument(..., help="Target data of the same kind (labels optional)."),
    backbone: str = typer.Option(None, help="Backbone spec [the modality's default]."),
    text_column: str = typer.Option("text", help="Text column of CSV / JSONL data."),
    label_column: str = typer.Option("label", help="Label column (optional in the target)."),
    numeric_columns: str = typer.Option(None, help="Tables: comma-separated shared numeric columns."),
    limit: int = typer.Option(1000, help="At most N random examples per domain."),
    seed: int = typer.Option(0, help="Random seed."),
    output: Path = typer.Option(None, help="Write the report as JSON here."),
) -> None:
    """Measure how far the target data is from the source, and say what that predicts."""
    from transferkit.adaptation import api  # torch loads when the command runs, not for --help

    report = api.shift(**_options(command))
    table = Table(title=f"shift {source} -> {target}")
    for column in ("examples", "domain-classifier acc.", "proxy A-distance", "MMD^2", "p-value", "shift"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{report.num_source} / {report.num_target}",
        f"{report.domain_accuracy:.3f}",
        f"{report.proxy_a_distance:.2f}",
        f"{report.mmd:.4f}",
        f"{report.mmd_p_value:.3f}",
        report.severity,
    )
    out.print(table)
    out.print(report.verdict, soft_wrap=True)


def adapt(
    command: typer.Context,
    source: str = typer.Option(..., help="Labelled source data."),
    target: str = typer.Option(
        ..., help="Target data: unlabelled (flat image folder, CSV without labels) or labelled (labels only evaluate)."
    ),
    target_labels: str = typer.Option(None, help="A few labelled target examples (for --method finetune)."),
    method: str = typer.Option(
        "dann",
        help="Method(s), comma-separated, or auto: source-only, adabn, dann, coral, mmd, self-training, finetune.",
    ),
    weight: str = typer.Option(None, help="Alignment weight(s) or self-training threshold; commas make a grid."),
    backbone: str = typer.Option(None, help="Backbone spec [the modality's default]."),
    validator: str = typer.Option("dev", help="Unsupervised model selection: dev or iwv."),
    epochs: int = typer.Option(40, help="Training epochs per candidate."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    text_column: str = typer.Option("text", help="Text column of CSV / JSONL data."),
    label_column: str = typer.Option("label", help="Label column."),
    numeric_columns: str = typer.Option(None, help="Tables: comma-separated shared numeric columns."),
    limit: int = typer.Option(None, help="At most N random examples per domain."),
    name: str = typer.Option(None, help="Run name (folder under --output-dir)."),
    output_dir: str = typer.Option("runs", help="Where run folders go."),
    seed: int = typer.Option(0, help="Random seed."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder of the same name."),
) -> None:
    """Adapt a classifier from labelled source data to the target; picks a candidate without target labels."""
    from transferkit.adaptation import api

    result = api.adapt(**_options(command, weight=_weights(weight)))
    table = Table(title=f"adapt {source} -> {target}")
    for column in ("method", "weight", f"estimated risk ({validator})", "source valid acc.", "target acc."):
        table.add_column(column, justify="left" if column == "method" else "right")
    best = min(range(len(result.candidates)), key=lambda i: result.candidates[i]["estimated_target_risk"])
    for index, row in enumerate(result.candidates):
        accuracy = f"{row['target']['accuracy']:.3f}" if "target" in row else "-"
        marker = " *" if index == best else ""
        table.add_row(
            row["method"] + marker,
            f"{row['weight']:g}",
            f"{row['estimated_target_risk']:.3f}",
            f"{row['source_valid_accuracy']:.3f}",
            accuracy,
        )
    out.print(table)
    out.print(f"Chose {result.method} (lowest estimated target risk). Run folder: {result.run_dir}")

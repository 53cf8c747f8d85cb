"""The `transferkit` command line: a thin typer shell over the Python API (parsing and printing only)."""

from __future__ import annotations

import inspect
import json
import os
import platform
import sys
import tempfile
import traceback
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

import transferkit
from transferkit.config import BUILTIN_STRATEGIES, RUN_OPTIONS, RunOption
from transferkit.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, TransferKitError, attached_log
from transferkit.rl.cli import app as rl_app
from transferkit.terminal import stdout_console
from transferkit.version import __version__
from transferkit.workflows.demo import DEMO_TRAINING_REVIEWS

if TYPE_CHECKING:
    from transferkit.api import FitResult

# torch, transformers and Lightning load inside the commands that run a model (`from transferkit import api`
# there), so that --help, --version and a mistyped option answer in about a second instead of five.

app = typer.Typer(
    name="transferkit",
    help="Transfer learning from pretrained models to small labelled datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = stdout_console()
err = Console(stderr=True)
app.add_typer(rl_app, name="rl")  # `transferkit rl pretrain|transfer`; gymnasium / SB3 load only when they run


def _version(value: bool) -> None:
    if value:
        out.print(f"transferkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
) -> None:
    """Transfer learning from pretrained models to small labelled datasets."""


# The columns of fit's summary table per task: the first family whose first key the split metrics hold.
TABLE_COLUMNS = [
    [
        ("accuracy", "accuracy"),
        ("balanced_accuracy", "balanced acc."),
        ("macro_f1", "macro-F1"),
        ("majority_rate", "majority rate"),
    ],
    [
        ("micro_f1", "micro-F1"),
        ("macro_f1", "macro-F1"),
        ("mean_average_precision", "mAP"),
        ("subset_accuracy", "subset acc."),
    ],
    [("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"), ("spearman", "Spearman")],
    [("map", "mAP@[.5:.95]"), ("map_50", "mAP@.5"), ("map_75", "mAP@.75"), ("mar_100", "AR@100")],  # detection
    [  # language models (transferkit.generation)
        ("perplexity", "perplexity"),
        ("base_perplexity", "base perplexity"),
        ("exact_match", "exact match"),
        ("base_exact_match", "base exact match"),
    ],
]


def _cell(value: Any) -> str:
    if not isinstance(value, float):
        return "n/a"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"  # scores, or errors in a price's units


def _metrics_table(metrics: dict[str, Any], title: str) -> Table:
    splits = [split for split in ("valid", "test") if split in metrics]
    first = metrics[splits[0]] if splits else {}
    columns = next((family for family in TABLE_COLUMNS if family[0][0] in first), TABLE_COLUMNS[0])
    table = Table(title=title)
    for column in ("split", "examples", *(name for _, name in columns)):
        table.add_column(column, justify="right" if column != "split" else "left")
    for split in splits:
        m = metrics[split]
        cells = [_cell(m.get(key)) for key, _ in columns]
        table.add_row(split, str(m["num_examples"]), *cells)
    return table


def _prediction_summary(frame: Any) -> str:
    """Counts of predicted labels (or label sets); for values (regression) their range."""
    column = next((name for name in ("label", "labels", "class") if name in frame), None)  # class: detection boxes
    if column is None:
        return f"values {frame['value'].min():.4g} to {frame['value'].max():.4g}" if "value" in frame else ""
    return ", ".join(f"{label}: {count}" for label, count in frame[column].value_counts().head(10).items())


CONFIG_HELP = "YAML run config; flags override it."
# Commands that load a model folder (perhaps received from someone else): its backbone loads from local files
# and caches only, unless this flag lets it fetch weights from their hub.
ALLOW_DOWNLOAD = typer.Option(
    False,
    "--allow-download",
    help="Let the model folder's backbone download its weights (e.g. an hf: model not cached here) [off: local only].",
)
RESUME_HELP = "Continue the run in this folder from its last checkpoint."


def _value_types(option: RunOption) -> tuple[Any, ...]:
    """The types a field's value may take, None left out (`int | None` -> (int,))."""
    annotation = option.annotation
    arms = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    return tuple(arm for arm in arms or (annotation,) if arm is not type(None))


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number_or_word(text: str) -> float | str:
    """`float | Literal[...]` fields (weight_decay 0.01 or auto): the schema says which words are valid."""
    try:
        return float(text)
    except ValueError:
        return text


def _text_shape(option: RunOption) -> str | None:
    """What a flag's text holds where click's own types cannot say: a list, a map, or a number or a word."""
    kinds = _value_types(option)
    origins = {typing.get_origin(kind) for kind in kinds}
    if origins == {list}:
        return "list"
    if origins == {dict}:
        return "map"
    if float in kinds and Literal in origins:
        return "number-or-word"
    return None  # str, int, float, bool, Literal; str | dict (class_weight's JSON map) is parsed by the schema


def _key_value_pairs(text: str) -> dict[str, str] | None:
    from transferkit.backbones.tabular import parse_column_map

    return parse_column_map(text) or None  # PRETRAINED=THIS,...


_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "list": _comma_list,
    "map": _key_value_pairs,
    "number-or-word": _number_or_word,
}


def _metavar(option: RunOption) -> str | None:
    """How to write the value where typer's `<type>` would not tell (lists, maps, weight_decay's float|auto)."""
    if option.choices:
        return f"<{'|'.join(option.choices)}>"
    shape = _text_shape(option)
    if shape == "number-or-word":
        words = [word for kind in _value_types(option) for word in typing.get_args(kind)]
        return f"<float|{'|'.join(words)}>"
    return {"list": "NAME,...", "map": "KEY=VALUE,..."}.get(shape or "")


def _strategies_hint(option: RunOption) -> str:
    users = [name for name in BUILTIN_STRATEGIES if name in option.strategies]
    others = [name for name in BUILTIN_STRATEGIES if name not in option.strategies]
    if not option.strategies:
        return ""
    return f" Strategy {' / '.join(users)} only." if len(users) <= len(others) else f" Not for {' / '.join(others)}."


def _default_hint(default: Any) -> str:
    if default is None:
        return ""
    if isinstance(default, bool):
        return " [on]" if default else " [off]"
    return f" [{','.join(default) if isinstance(default, list) else default}]"


def _option_help(option: RunOption) -> str:
    """The field's description, the strategies that use it and its default, for `transferkit fit --help`."""
    return f"{option.description}{_strategies_hint(option)}{_default_hint(option.default)}"


def _fit_parameter(option: RunOption) -> inspect.Parameter:
    """One RunSpec field as a typer option: None when absent, so the config file (or the default) holds."""
    flag = "--" + option.flat.replace("_", "-")
    kinds = _value_types(option)
    if kinds == (bool,):
        annotation, decls = bool, [f"{flag}/--no-{flag[2:]}"]
    elif option.choices:  # checked by RunSpec (one line naming the config key and the choices), listed in --help
        annotation, decls = str, [flag]
    else:
        annotation = kinds[0] if len(kinds) == 1 and kinds[0] in (int, float, str) else str
        decls = [flag]
    default = typer.Option(None, *decls, help=_option_help(option), metavar=_metavar(option))
    return inspect.Parameter(option.flat, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _fit_signature() -> inspect.Signature:
    """DATA, --config and --resume, then one option per RunSpec field (data.path is DATA), section by section."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    data_help = RUN_OPTIONS["data"].description
    fixed = [
        inspect.Parameter("data", keyword, default=typer.Argument(None, help=data_help), annotation=str),
        inspect.Parameter("config", keyword, default=typer.Option(None, "--config", help=CONFIG_HELP), annotation=Path),
        inspect.Parameter("resume", keyword, default=typer.Option(None, "--resume", help=RESUME_HELP), annotation=Path),
    ]
    generated = [_fit_parameter(option) for name, option in RUN_OPTIONS.items() if name != "data"]
    return inspect.Signature([*fixed, *generated], return_annotation=None)


def _with_run_options(command: Any, *, sections: tuple[str, ...] | None = None, also: tuple[str, ...] = ()) -> None:
    """Give `command` the RunSpec options (all, or those of `sections` plus `also`) after its own parameters.

    The command takes them as ``**options``; names it declares itself (e.g. curve's --output-dir) win.
    """
    keyword = inspect.Parameter.KEYWORD_ONLY
    own = [p.replace(kind=keyword) for p in inspect.signature(command).parameters.values() if p.kind != p.VAR_KEYWORD]
    taken = {parameter.name for parameter in own} | {"data"}
    wanted = [
        option
        for name, option in RUN_OPTIONS.items()
        if name not in taken and (sections is None or option.dotted.split(".")[0] in sections or name in also)
    ]
    command.__signature__ = inspect.Signature([*own, *map(_fit_parameter, wanted)], return_annotation=None)


def _fit_options(given: dict[str, Any]) -> dict[str, Any]:
    """The flags the user gave, their text turned into field values."""
    options = {}
    for name, value in given.items():
        if value is None:
            continue
        shape = _text_shape(RUN_OPTIONS[name])
        options[name] = _FROM_TEXT[shape](value) if shape and isinstance(value, str) else value
    return options


def _print_fit_result(result: FitResult) -> None:
    from transferkit.evaluation import gain_summary
    from transferkit.imbalance.advice import imbalance_lines

    strategy_name = result.metrics.get("strategy", {}).get("chosen") or result.spec.strategy.name
    out.print(_metrics_table(result.metrics, f"{result.spec.backbone.spec} + {strategy_name}"))
    for line in [*imbalance_lines(result.metrics), *gain_summary(result.metrics)]:
        out.print(line, markup=False, highlight=False)
    if "selection" in result.metrics:
        _print_selection(result.metrics["selection"], saved=result.spec.strategy.name == "auto")
    if "inferred" in result.metrics:  # what the data was read as, when no option said
        out.print(result.metrics["inferred"], markup=False, highlight=False)
    if "holdout" in result.metrics:  # too few rows for a test split: the one line that says so
        out.print(result.metrics["holdout"]["line"], markup=False, highlight=False)
    if "added_labels" in result.metrics:  # --add-labels: what was added and skipped, accuracy before and after
        out.print(result.metrics["added_labels"]["line"], markup=False, highlight=False)
    out.print(f"Run folder: {result.run_dir}")


def _print_selection(choice: dict[str, Any], *, saved: bool) -> None:
    scores = ", ".join(f"{name} {score['mean']:.3f}" for name, score in choice["scores"].items())
    versus = f"{choice['margin']:+.3f} vs {choice['runner_up']}" if choice["runner_up"] else "the only candidate"
    line = (
        f"Cross-validated choice ({choice['folds']} folds; {scores}): {choice['chosen']}, {versus} "
        f"({'saved as the model' if saved else 'reported only'})"
        if choice.get("folds", 1)  # 0: auto ran out of budget before any fold and saved its fallback
        else f"No candidate was cross-validated within the budget; {choice['chosen']} was saved"
    )
    out.print(line, markup=False, highlight=False)
    for candidate, why in (choice.get("skipped") or {}).items():
        out.print(f"Not scored: {candidate}: {why}", markup=False, highlight=False)
    if choice.get("decided_by"):  # strategy auto: whether the recorded prior or cross-validation decided, and why
        out.print(f"Decided by {choice['decided_by']}: {choice['why']}", markup=False, highlight=False)
    if choice.get("search"):  # --search: trials, the best against the defaults with its noise, adopted or not
        out.print(choice["search"]["line"], markup=False, highlight=False)
    if choice.get("budget_line"):  # strategy auto: what the budget paid for, what it left out, what its deadline cut
        out.print(choice["budget_line"], markup=False, highlight=False)


def fit(*, data: str | None = None, config: Path | None = None, resume: Path | None = None, **options: Any) -> None:
    """Train a transfer model and write runs/NAME/ (config.yaml, metrics.json, fit.log, model/)."""
    from transferkit import api

    result = api.fit(data, config=config, resume=resume, **_fit_options(options))
    if "global_rank" in result.metrics:  # an extra process of a multi-process run: the primary prints
        return
    _print_fit_result(result)


# The options of `fit` are RunSpec's fields (transferkit.config.RUN_OPTIONS): typer reads this signature.
fit.__signature__ = _fit_signature()
app.command(epilog="Example: transferkit fit reviews.csv --text-column review --label-column score")(fit)


@app.command(epilog="Example: transferkit predict runs/reviews/model new_reviews.csv --output predictions.csv")
def predict(
    model: Path = typer.Argument(..., help="A model folder (runs/NAME/model)."),
    inputs: list[str] = typer.Argument(..., help="Image / audio files or folders, or CSV / JSONL / TXT of texts."),
    output: Path = typer.Option(Path("predictions.csv"), help="CSV to write."),
    text_column: str = typer.Option(None, help="Text column of CSV / JSONL inputs [the training one]."),
    batch_size: int = typer.Option(32, help="Batch size."),
    skip_bad_files: bool = typer.Option(False, "--skip-bad-files", help="Leave out unreadable images or clips."),
    runtime: str = typer.Option(
        "torch", help="torch, or onnx: run MODEL/model.onnx (transferkit export) in onnxruntime."
    ),
    onnx_path: Path = typer.Option(None, "--onnx", help="runtime onnx: the exported file [MODEL/model.onnx]."),
    allow_download: bool = ALLOW_DOWNLOAD,
    score_threshold: float = typer.Option(None, help="Detection: keep boxes scoring at least this [the model's]."),
    nms_iou: float = typer.Option(None, "--nms-iou", help="Detection: IoU above which NMS drops a box [the model's]."),
    draw: Path = typer.Option(None, "--draw", help="Detection: save each image with its boxes drawn into this folder."),
    chunk_size: int = typer.Option(1024, help="Rows read, predicted and written at a time (memory holds one chunk)."),
    restart: bool = typer.Option(False, "--restart", help="Discard a partial job left at OUTPUT.partial/ [resume it]."),
    devices: int = typer.Option(1, help="Processes / devices to predict on, through Lightning (chunks shared out)."),
    num_nodes: int = typer.Option(1, help="Machines, each running this command under torchrun or SLURM."),
    accelerator: str = typer.Option("cpu", help="cpu, gpu or auto: where the backbone runs."),
    embed_runtime: str = typer.Option(None, help="The backbone's runtime: torch, onnx, bf16 or auto [torch]."),
) -> None:
    """Predict labels and per-class probabilities (detection: boxes, also as COCO-style JSON) into a CSV.

    Streamed: inputs are read and predictions written one chunk at a time; an interrupted job resumes when the
    same command runs again (chunks already written are kept; a different job at the same --output is refused).
    """
    from transferkit import api

    boxes = {"score_threshold": score_threshold, "nms_iou": nms_iou, "draw": draw}
    if any(value is not None for value in boxes.values()):  # detection-only options go to the model's task route
        frame = _predict_boxes(model, inputs, output=output, batch_size=batch_size, **boxes)
        out.print(f"Wrote {len(frame)} predictions to {output} ({_prediction_summary(frame)})")
        return
    if api.streams(model):  # a model folder: streamed in chunks, resumable (workflows/batch_predict.py)
        result = api.predict_batch(
            model,
            inputs,
            output=output,
            text_column=text_column,
            chunk_size=chunk_size,
            batch_size=batch_size,
            skip_bad_files=skip_bad_files,
            runtime=runtime,
            embed_runtime_name=embed_runtime,
            onnx_path=onnx_path,
            restart=restart,
            devices=devices,
            num_nodes=num_nodes,
            accelerator=accelerator,
            allow_download=allow_download,
        )
        resumed = [f"{result.resumed_chunks} chunk(s) resumed"] if result.resumed_chunks else []
        details = "; ".join([result.summary(), *resumed] if result.summary() else resumed)
        out.print(f"Wrote {result.rows} predictions to {output}" + (f" ({details})" if details else ""))
        return
    frame = api.predict(
        model,
        inputs,
        output=output,
        text_column=text_column,
        batch_size=batch_size,
        skip_bad_files=skip_bad_files,
        runtime=runtime,
        onnx_path=onnx_path,
        allow_download=allow_download,
    )
    out.print(f"Wrote {len(frame)} predictions to {output} ({_prediction_summary(frame)})")


def _predict_boxes(model: Path, inputs: list[str], **options: Any) -> Any:
    from transferkit.errors import ConfigError
    from transferkit.workflows.routes import route_for_model, saved_task_name

    if saved_task_name(model) != "detection" or (route := route_for_model(model)) is None or route.predict is None:
        raise ConfigError(f"--score-threshold, --nms-iou and --draw are for detection models; {model} is not one.")
    return route.predict(model, inputs, **options)


@app.command(
    epilog="Example: transferkit evaluate runs/reviews/model test.csv --text-column review --label-column score"
)
def evaluate(
    model: Path = typer.Argument(..., help="A model folder (runs/NAME/model)."),
    data: str = typer.Argument(..., help="Labelled data in the format used for fit."),
    text_column: str = typer.Option(None, help="Text column [the training one]."),
    label_column: str = typer.Option("label", help="Label column."),
    output: Path = typer.Option(None, help="Write the metrics to this JSON file."),
    allow_download: bool = ALLOW_DOWNLOAD,
) -> None:
    """Measure a saved model on labelled data."""
    from transferkit import api

    metrics = api.evaluate(
        model, data, text_column=text_column, label_column=label_column, output=output, allow_download=allow_download
    )
    out.print(_metrics_table({"test": metrics}, f"{model} on {data}"))
    if "per_class" not in metrics:  # multi-label / regression: the table above, the rest in --output's JSON
        return
    more = Table(title="ranking, calibration and uncertainty")
    for column in ("weighted-F1", "ROC-AUC", "PR-AUC", "log-loss", "ECE", "accuracy 95% CI"):
        more.add_column(column, justify="right")
    interval = metrics.get("interval") or {}
    more.add_row(
        *(_metric_text(metrics.get(key)) for key in ("weighted_f1", "roc_auc", "pr_auc", "log_loss", "ece")),
        f"[{_metric_text(interval.get('low'))}, {_metric_text(interval.get('high'))}]",
    )
    out.print(more)
    table = Table(title="per class")
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column)
    for label, row in metrics["per_class"].items():
        table.add_row(label, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    out.print(table)


backbones_app = typer.Typer(
    help="List the available backbones, or show one in detail (`transferkit backbones show SPEC`).",
    invoke_without_command=True,
    rich_markup_mode=None,
)
app.add_typer(backbones_app, name="backbones")


@backbones_app.callback(epilog="Example: transferkit backbones; transferkit backbones show bundled:minilm --measure")
def backbones(context: typer.Context) -> None:
    """List the available backbones (modality, parameters, input, offline availability)."""
    if context.invoked_subcommand is not None:
        return
    from transferkit.backbones import list_sources
    from transferkit.backbones.describe import availability

    table = Table(title="backbones")
    table.add_column("spec", no_wrap=True)
    for column in ("modality", "params", "input", "offline", "description"):
        table.add_column(column)
    for entry in transferkit.list_backbones(students=True):  # the distillation students too (description says so)
        table.add_row(entry.name, entry.modality, entry.parameters, entry.input, availability(entry), entry.description)
    out.print(table)
    sources = ", ".join(f"{source.prefix}:NAME ({source.description})" for source in list_sources())
    out.print(f"Also any {sources}; add @FILE to load a local weights file.")
    from transferkit.detection.detectors import can_detect

    bundled = [entry.name for entry in transferkit.list_backbones() if entry.name.startswith("bundled:")]
    detect = ", ".join(name for name in bundled if can_detect(name))
    out.print(f"Detection (--task detection) on: {detect}; timm CNNs with features_only; torchvision MobileNets.")


@backbones_app.command("show", epilog="Example: transferkit backbones show timm:resnet18@resnet18.safetensors")
def backbones_show(
    spec: str = typer.Argument(..., help="Backbone spec, e.g. bundled:efficientnet_lite0 or hf:./my_model."),
    measure: bool = typer.Option(False, "--measure", help="Measure embeddings/s on this machine now (cached)."),
    max_length: int = typer.Option(128, help="Token limit for text backbones."),
) -> None:
    """Details of one backbone: weights, checksum, licence, input spec, size, layer groups, embeddings/s."""
    from transferkit.backbones.describe import describe_backbone

    info = describe_backbone(spec, measure=measure, max_length=max_length)
    table = Table(title=info["spec"], show_header=False)
    table.add_column("field")
    table.add_column("value")
    weights = info["weights"]
    speed = info["speed"]
    rows = [
        ("modality", info["modality"]),
        ("description", info["description"]),
        ("parameters", f"{info['parameters']:,}"),
        ("embedding size", str(info["num_features"])),
        ("layer groups", str(info["layer_groups"])),
        ("trainable", "yes" if info["trainable"] else "no (frozen features only)"),
        ("offline", info["available_offline"]),
        ("weights source", weights["source"]),
        ("checksum (sha256)", weights["checksum"]),
        ("licence", weights["licence"]),
        ("input", ", ".join(f"{key}={value}" for key, value in weights["preprocessing"].items())),
        (
            "embeddings/s",
            f"{speed['embeddings_per_s']} ({speed['threads']} threads, batch {speed['batch_size']}, "
            f"{speed['measured_at']})"
            if speed
            else "not measured yet (add --measure)",
        ),
    ]
    for field, value in rows:
        table.add_row(field, value)
    out.print(table)


cache_app = typer.Typer(
    help="The embedding cache: show its size and location, or clear it (only its own files are removed).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")
CACHE_DIR_HELP = "Cache folder (default: $TRANSFERKIT_CACHE/features, else ~/.cache/transferkit/features)."


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1024**2:.1f} MiB" if size_bytes < 1024**3 else f"{size_bytes / 1024**3:.2f} GiB"


@cache_app.command("info", epilog="Example: transferkit cache info")
def cache_info(cache_dir: Path = typer.Option(None, help=CACHE_DIR_HELP)) -> None:
    """Where the embedding cache is, how big it is, how many embeddings it holds, and its size cap."""
    from transferkit.embedding_cache import MAX_BYTES_ENV, cache_info

    info = cache_info(cache_dir)
    out.print(f"Embedding cache: {info.location}")
    out.print(f"{_size(info.size_bytes)} in {info.shards} shards, {info.entries} entries, {info.backbones} backbones")
    out.print(f"Size cap: {_size(info.max_bytes)} (least recently used shards go first; set {MAX_BYTES_ENV})")
    if info.set_aside:
        out.print(f"{info.set_aside} unreadable shard(s) set aside; `transferkit cache clear` removes them")


@cache_app.command("clear", epilog="Example: transferkit cache clear")
def cache_clear(cache_dir: Path = typer.Option(None, help=CACHE_DIR_HELP)) -> None:
    """Delete the cached embeddings (transferkit's own cache files only; anything else in the folder stays)."""
    from transferkit.embedding_cache import clear_cache, default_cache_dir

    removed, freed = clear_cache(cache_dir)
    out.print(f"Removed {removed} cache files ({_size(freed)}) from {cache_dir or default_cache_dir()}")


@app.command(epilog="Example: transferkit demo --limit 400")
def demo(
    limit: int = typer.Option(DEMO_TRAINING_REVIEWS, help="Labelled training reviews to use."),
    output_dir: str = typer.Option("runs", help="Where the run folder goes."),
    seed: int = typer.Option(0, help="Random seed."),
    test_limit: int = typer.Option(None, help="Evaluate on a sample of N test reviews (quick check) [all 1,000]."),
) -> None:
    """Sentiment of real Amazon fine-food reviews with bundled MiniLM, trained on a few hundred reviews."""
    from transferkit import api

    result = api.demo(output_dir=output_dir, limit=limit, seed=seed, test_limit=test_limit)
    test = result.metrics["test"]
    chosen = result.metrics.get("strategy", {}).get("chosen") or result.spec.strategy.name
    out.print(_metrics_table(result.metrics, f"fine-food reviews, {limit} labelled, bundled:minilm + {chosen}"))
    out.print(
        f"Test accuracy {test['accuracy']:.3f} vs {test['majority_rate']:.3f} for always predicting the majority "
        f"class; {result.metrics['seconds']['total']:.0f} s."
    )
    out.print(f"Run folder: {result.run_dir}")


def lr_find(
    data: str = typer.Argument(None, help="Labelled data, as for fit."),
    config: Path = typer.Option(None, "--config", help=CONFIG_HELP),
    min_lr: float = typer.Option(1e-7, help="Start of the sweep."),
    max_lr: float = typer.Option(1.0, help="End of the sweep."),
    steps: int = typer.Option(60, help="Optimiser steps in the sweep."),
    output: Path = typer.Option(Path("lr-find.csv"), help="CSV of lr and loss; the plot goes beside it (.png)."),
    **options: Any,
) -> None:
    """Plot training loss against learning rate and suggest a learning rate (every fit option applies; the
    strategy defaults to two-stage)."""
    from transferkit.workflows.lr_find import lr_find as run_lr_find

    sweep = {"min_lr": min_lr, "max_lr": max_lr, "steps": steps}
    result = run_lr_find(data, config=config, output=output, **sweep, **_fit_options(options))
    plot = f" and {result.plot_path}" if result.plot_path else ""
    out.print(f"Swept {len(result.lrs)} learning rates; wrote {result.csv_path}{plot}.")
    if result.suggestion is None:
        out.print("No clear descent in the loss; try a wider --min-lr / --max-lr range or more --steps.")
    else:
        out.print(f"Suggested learning rate: {result.suggestion:.3g} (pass --lr {result.suggestion:.3g} to fit)")


_with_run_options(lr_find)
app.command("lr-find", epilog="Example: transferkit lr-find reviews.csv --text-column review --label-column score")(
    lr_find
)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def rank(
    data: str = typer.Argument(..., help="Labelled data: image folder, CSV / JSONL file, or builtin:NAME."),
    candidates: str = typer.Option(None, help="Comma-separated backbone specs [every offline one of the modality]."),
    budget: str = typer.Option(None, help="Limits, e.g. latency=50ms,memory=1GB,params=25M."),
    by: str = typer.Option(
        "logme", help="Score that orders the table: logme, leep, nce, h_score, gbc, nleep, knn, linear."
    ),
    confirm: int = typer.Option(
        0,
        help="Fine-tune the best N candidates on every labelled row (not the --limit sample) and pick by validation "
        "accuracy [0: scores only].",
    ),
    confirm_strategy: str = typer.Option("two-stage", help="Strategy that fine-tunes the --confirm candidates."),
    confirm_valid_fraction: float = typer.Option(0.2, help="Share of the labelled rows held out by --confirm."),
    json_output: bool = typer.Option(False, "--json", help="Print the table as JSON."),
    **options: Any,
) -> None:
    """Score candidate backbones on your labelled data (LogME, LEEP, NCE, H-score, GBC, N-LEEP, k-NN, linear CV)
    and pick one (data options as for fit; --output-dir is where --confirm writes its trained models). With --task
    detection the boxes' crops are scored, over the backbones that can carry a detector."""
    from transferkit.ranking import rank as run_rank

    specs = [item.strip() for item in candidates.split(",") if item.strip()] if candidates is not None else None
    ranking = run_rank(
        data,
        candidates=specs,
        budget=budget,
        by=by,
        confirm=confirm,
        confirm_strategy=confirm_strategy,
        confirm_valid_fraction=confirm_valid_fraction,
        **_fit_options(options),
    )
    if json_output:
        typer.echo(json.dumps(ranking.to_dict(), indent=2))
        return
    out.print(_ranking_table(ranking, title=f"{ranking.data['examples']} examples of {data}, ranked by {ranking.by}"))
    pick = {item.spec: item for item in ranking.confirmed}.get(ranking.recommended or "")
    if pick is not None:
        out.print(
            f"Recommended: {ranking.recommended} (best {ranking.picked_by} of the top {len(ranking.confirmed)} by "
            f"{by}; its trained model: {pick.run_dir}/model)."
        )
    elif ranking.recommended:
        out.print(f"Recommended: {ranking.recommended} (best {ranking.picked_by or by} within the budget).")
    else:
        out.print("No candidate is within the budget; loosen --budget.")
    for caveat in ranking.caveats:
        out.print(f"Note: {caveat}")


# rank reads data as fit does: the data and backbone options, the seed, and --output-dir for --confirm's runs;
# --devices / --num-nodes / --accelerator share the embedding (and --confirm's fine-tunes) over processes.
_with_run_options(
    rank, sections=("data", "backbone"), also=("seed", "output_dir", "devices", "num_nodes", "accelerator")
)
app.command(
    epilog="Example: transferkit rank reviews.csv --text-column review --label-column score --budget params=30M"
)(rank)


def _ranking_table(ranking: Any, *, title: str) -> Table:
    """One row per candidate: its scores, the --confirm validation accuracy, its costs and a note."""
    table = Table(title=title)
    score_names = list(ranking.rows[0].scores) if ranking.rows and ranking.rows[0].scores else []
    confirmed = {item.spec: item for item in ranking.confirmed}
    tuned = ("valid acc.", "fine-tune s") if confirmed else ()
    for column in ("spec", *score_names, *tuned, "params", "embed s", "latency ms", "peak MB", "note"):
        table.add_column(column, justify="left" if column in {"spec", "note"} else "right")
    for row in ranking.rows:
        check = confirmed.get(row.spec)
        note = row.error or "; ".join(row.over_budget) or ("recommended" if row.spec == ranking.recommended else "")
        scores = [_fmt(row.scores.get(name)) for name in score_names]
        measured = (_fmt(check.valid_accuracy), _fmt(check.seconds, 1)) if check else ("",) * len(tuned)
        params = "n/a" if row.params_m is None else f"{row.params_m:.1f}M"
        latency = (_fmt(row.embed_seconds, 1), _fmt(row.latency_ms, 0), _fmt(row.memory_mb, 0))
        table.add_row(row.spec, *scores, *measured, params, *latency, note)
    return table


@app.command(epilog="Example: transferkit recommend --modality text --n-samples 500 --device cpu")
def recommend(
    modality: str = typer.Option(..., help="image, text, audio or tabular."),
    n_samples: int = typer.Option(..., help="How many labelled examples you have."),
    device: str = typer.Option("cpu", help="Where the model will run: cpu or cuda."),
    budget: str = typer.Option(None, help="Limits, e.g. latency=50ms,memory=1GB,params=25M."),
    measure: bool = typer.Option(True, "--measure/--no-measure", help="Measure latency and memory here."),
    json_output: bool = typer.Option(False, "--json", help="Print the shortlist as JSON."),
    generate: bool = typer.Option(False, "--generate", help="Only backbones that generate text (causal LMs)."),
    detect: bool = typer.Option(False, "--detect", help="Only image backbones that can carry a detector."),
) -> None:
    """A shortlist of backbones for a task, from their metadata and their measured speed on this machine."""
    from transferkit.ranking import recommend as run_recommend

    shortlist = run_recommend(
        modality=modality,
        n_samples=n_samples,
        device=device,
        budget=budget,
        measure=measure,
        generate=generate,
        detect=detect,
    )
    if json_output:
        typer.echo(json.dumps(shortlist.to_dict(), indent=2))
        return
    table = Table(title=f"{modality} backbones for {n_samples} labelled examples on {device}")
    for column in ("spec", "family", "params", "latency ms", "memory MB", "trade-off"):
        table.add_column(column)
    for row in shortlist.rows:
        params = "n/a" if row.params_m is None else f"{row.params_m:.1f}M"
        table.add_row(row.spec, row.family, params, _fmt(row.latency_ms, 0), _fmt(row.memory_mb, 0), row.why)
    out.print(table)
    for row in shortlist.excluded:
        out.print(f"Left out by the budget: {row.spec} ({'; '.join(row.over_budget)})")
    for note in shortlist.notes:
        out.print(note)


# Domain adaptation commands live in transferkit.adaptation.cli; mounted here.
from transferkit.adaptation import cli as adaptation_cli  # noqa: E402

app.command("shift", epilog=adaptation_cli.SHIFT_EXAMPLE)(adaptation_cli.shift)
app.command("adapt", epilog=adaptation_cli.ADAPT_EXAMPLE)(adaptation_cli.adapt)

# Forecasting (transferkit.forecasting.cli); neuralforecast / statsforecast load only when it runs.
from transferkit.forecasting import cli as forecasting_cli  # noqa: E402

app.command("forecast", epilog=forecasting_cli.EXAMPLE)(forecasting_cli.forecast)

# Language models (transferkit.generation.cli): torch and transformers load only when it runs.
from transferkit.generation import cli as generation_cli  # noqa: E402

app.command("generate", epilog=generation_cli.EXAMPLE)(generation_cli.generate)

# The labelling loop (transferkit.labelling.cli): zero-shot start, active learning, label audit, distillation.
from transferkit.labelling import cli as labelling_cli  # noqa: E402

app.command("zero-shot", epilog=labelling_cli.ZERO_SHOT_EXAMPLE)(labelling_cli.zero_shot)
app.command("suggest", epilog=labelling_cli.SUGGEST_EXAMPLE)(labelling_cli.suggest)
app.command("audit", epilog=labelling_cli.AUDIT_EXAMPLE)(labelling_cli.audit)
app.command("distil", epilog=labelling_cli.DISTIL_EXAMPLE)(labelling_cli.distil)

# Serving (transferkit.serving.cli); fastapi / uvicorn load only when it runs.
from transferkit.serving import cli as serving_cli  # noqa: E402

app.command("serve", epilog=serving_cli.EXAMPLE)(serving_cli.serve)


def _metric_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def curve(
    data: str = typer.Argument(..., help="Labelled data: image folder, CSV / JSONL file, or builtin:NAME."),
    shots: str = typer.Option("4,8,16,32,all", help="Labelled examples per class, comma-separated; all = every row."),
    repeats: int = typer.Option(3, help="Random draws per point (mean and std are reported)."),
    output_dir: Path = typer.Option(Path("curve"), help="Folder for curve.json, curve.csv and curve.png."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also draw the classic baseline."),
    **options: Any,
) -> None:
    """Accuracy vs labelled examples per class, for transfer (probe) and the classic baseline (data options as
    for fit)."""
    from transferkit.workflows.curve import learning_curve, parse_shots

    result = learning_curve(
        data,
        shots=parse_shots(shots),
        repeats=repeats,
        output_dir=output_dir,
        baseline=baseline,
        **_fit_options(options),
    )
    table = Table(title=f"{data}: test accuracy ({result['test_examples']} examples) by labelled examples per class")
    for column in ("method", "per class", "accuracy", "std", "draws"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in result["rows"]:
        shown = f"all ({row['per_class']})" if row["all"] else str(row["per_class"])
        mean, std = _metric_text(row["accuracy_mean"]), _metric_text(row["accuracy_std"])
        table.add_row(row["method"], shown, mean, std, str(row["repeats"]))
    out.print(table)
    out.print(f"Wrote {output_dir}/curve.json and curve.csv (curve.png with matplotlib).")


# The curve trains probes only: the data, backbone and split options of fit apply, not the training ones.
_with_run_options(curve, sections=("data", "backbone"), also=("seed",))
app.command(epilog="Example: transferkit curve reviews.csv --text-column review --label-column score --shots 4,8,all")(
    curve
)


@app.command(epilog="Example: transferkit export runs/reviews/model --format onnx --bundle bundles/reviews")
def export(
    model: Path = typer.Argument(..., help="A model folder (runs/NAME/model)."),
    format: str = typer.Option("onnx", "--format", help="onnx or torchscript (language models: onnx, transformers)."),
    check: list[str] = typer.Option(
        None, "--check", help="Your own inputs for the parity check (images or texts), besides the kept examples."
    ),
    output: Path = typer.Option(None, help="File to write [model.onnx / model.pt in the model folder]."),
    bundle: Path = typer.Option(
        None, "--bundle", help="Write a self-contained, torch-free bundle folder here (--format onnx)."
    ),
    quantize: str = typer.Option("none", "--quantize", help="--bundle: none, or int8 (dynamic quantisation)."),
    text_column: str = typer.Option(None, help="Text column of CSV / JSONL check inputs [the training one]."),
    limit: int = typer.Option(8, help="Use at most N of your check inputs."),
    allow_download: bool = ALLOW_DOWNLOAD,
) -> None:
    """Export a model to ONNX or TorchScript (or a torch-free bundle) and check it against PyTorch (max abs
    difference <= 1e-4) on held-out examples kept with the model, plus --check inputs."""
    from transferkit.export import export_model
    from transferkit.run_folder import check_output
    from transferkit.workflows.routes import route_for_model, saved_task_name

    if output is not None:
        check_output(output)  # before the check inputs are read and predicted
    if saved_task_name(model) == "detection" and (route := route_for_model(model)) is not None and route.export:
        options = {"output": output, "check_inputs": check, "limit": limit, "bundle": bundle, "quantize": quantize}
        result = route.export(model, format=format, **options)
        out.print(
            f"Wrote {result.path} and {result.metadata_path}; parity with PyTorch on {result.checked_inputs} image(s), "
            f"{result.boxes_compared} box(es) after NMS: max abs difference {result.max_abs_diff:.2e}: OK"
        )
        return
    if saved_task_name(model) in ("causal-lm", "seq2seq-pairs") and (route := route_for_model(model)) is not None:
        # onnx: a torch-free bundle (decoder with past key/values); transformers: the adapter merged into the base
        result = route.export(model, format=format, bundle=bundle, output=output, check_prompts=check)
        out.print(result.summary, markup=False, highlight=False)
        return
    inputs = []
    if check:
        from transferkit import api

        frame = api.predict(model, check, text_column=text_column, allow_download=allow_download, limit=limit)
        inputs = frame["input"].tolist()  # read as predict reads them; only the first `limit` are predicted
    if bundle is not None:
        _export_bundle(model, bundle, format=format, inputs=inputs, quantize=quantize, allow_download=allow_download)
        return
    with tempfile.TemporaryDirectory(prefix="transferkit-examples-") as scratch:
        from transferkit.bundle import parity_inputs
        from transferkit.workflows.routes import route_for_model

        if route_for_model(model) is None:  # core tasks keep held-out examples; routed families check their own way
            inputs = parity_inputs(model, inputs, Path(scratch))
        result = export_model(model, format=format, output=output, check_inputs=inputs, allow_download=allow_download)
    out.print(
        f"Wrote {result.path} and {result.metadata_path}; parity with PyTorch on {result.checked_inputs} input(s): "
        f"max abs difference {result.max_abs_diff:.2e} (limit {result.tolerance:.0e}): OK"
    )


def _export_bundle(model: Path, bundle: Path, *, format: str, inputs: list[str], quantize: str, **options) -> None:
    from transferkit.bundle import export_bundle
    from transferkit.errors import ConfigError

    if format != "onnx":
        raise ConfigError(f"--bundle writes an ONNX bundle; drop --format {format} or pass --format onnx.")
    result = export_bundle(model, bundle, check_inputs=inputs, quantize=quantize, **options)
    out.print(
        f"Wrote the bundle {result.path}; the runtime's parity with PyTorch on {result.checked_inputs} input(s): "
        f"max abs difference {result.max_abs_diff:.2e} (limit {result.tolerance:.0e}): OK"
    )
    if result.quantised:
        change = result.quantised["vs_fp32"]
        out.print(
            f"int8 graph (the default; fp32 kept): {result.quantised['size_ratio']:.2f}x the size; on the same inputs "
            f"max abs change {change['max_abs_diff']:.2e}, decisions unchanged on {change['agreement']:.0%}."
        )


def _one_line(text: str, *, limit: int = 2000) -> str:
    """`text` on one line (the error promise: one line on stderr), cut to `limit` characters."""
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _say(line: str) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def _crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """The file holding the traceback of an unexpected error: the run's fit.log when the error happened in a run,
    else a new file under the cache's logs/ folder (the temporary folder when that cannot be written)."""
    attached = attached_log(exc)
    if attached is not None and attached.is_file():
        return attached
    from transferkit.run_folder import unique_stamp

    report = (
        f"transferkit {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
        f"command: transferkit {' '.join(argv)}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    cache = Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit"))
    for folder in (cache / "logs", Path(tempfile.gettempdir()) / "transferkit-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"error-{unique_stamp()}.log"
            path.write_text(report, encoding="utf-8", errors="backslashreplace")
            return path
        except OSError:
            continue
    return None


def _usage_error(exc: Exception) -> int:
    """A command-line usage error (unknown option, bad value, missing argument) as one line, exit code 2."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # `transferkit rl` alone: the help is the answer
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    context = getattr(exc, "ctx", None)
    hint = f" (see '{context.command_path if context is not None else 'transferkit'} --help')"
    _say(f"Error: {_one_line(exc.format_message())}{hint}")  # type: ignore[attr-defined]
    return EXIT_USAGE


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; every failure ends with one line on stderr (`--debug`: the traceback).

    0: done. 2 (EXIT_USAGE): the input or the options (a TransferKitError or a usage error), the line saying what
    and how to fix it. 1 (EXIT_BUG): an unexpected error, a bug; the line names the log file holding the
    traceback (the run's fit.log, else one under the cache's logs/). 130: interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]  # accepted anywhere on the line, not only before the command
    try:
        result = app(args=argv, prog_name="transferkit", standalone_mode=False)
    except TransferKitError as exc:
        if debug:
            traceback.print_exc()
        else:
            _say(f"Error: {_one_line(str(exc))}")
        return EXIT_USAGE
    except (typer.Abort, KeyboardInterrupt):
        _say("Interrupted.")
        return EXIT_INTERRUPTED
    except Exception as exc:
        # Exits and usage errors of click (typer vendors its own copy): they carry their exit code.
        if hasattr(exc, "exit_code") and not hasattr(exc, "format_message"):
            return int(exc.exit_code)
        if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
            return _usage_error(exc)
        if debug:
            traceback.print_exc()
            return EXIT_BUG
        log = _crash_log(exc, argv)
        where = f"the traceback is in {log}" if log else "rerun with --debug for the traceback"
        _say(
            f"Error: unexpected {type(exc).__name__}: {_one_line(str(exc), limit=300)} (a bug in transferkit; "
            f"{where}; please report it)"
        )
        return EXIT_BUG
    if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into Exit(130), which click returns
        _say("Interrupted.")
    return result if isinstance(result, int) else EXIT_OK


def main() -> None:
    sys.exit(run())

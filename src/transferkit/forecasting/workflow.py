"""`transferkit forecast`: pretrain NHITS or PatchTST on source series, transfer it to target series, and
backtest it against the target-only model and statsforecast's baselines over rolling origins.

Everything the data can get wrong is checked before the run folder is claimed, so bad input leaves nothing
behind. The run folder holds config.yaml, metrics.json, forecasts.csv, report.html, fit.log and model/
(neuralforecast's own save of the model the strategy made).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from transferkit.errors import ConfigError
from transferkit.forecasting import backtest as bt
from transferkit.forecasting.engines import BASELINES, NEURAL_MODELS, NeuralSettings, neuralforecast, statsforecast
from transferkit.forecasting.report import write_report
from transferkit.forecasting.table import SeriesTable, TableSpec, check_lengths, read_series, series_from_frame
from transferkit.forecasting.transfer import check_strategy, train_fresh, transfer
from transferkit.progress import progress_bar
from transferkit.run_folder import RunFolder, run_log, unique_run_name, write_atomic, write_json

logger = logging.getLogger("transferkit")
MODEL_DIR = "model"


@dataclass(frozen=True)
class ForecastResult:
    """A finished forecast run: its folder, metrics.json's content and the saved model's folder."""

    run_dir: Path
    metrics: dict[str, Any]
    model_dir: Path | None


@dataclass(frozen=True)
class Plan:
    """What a run trains and how it is scored (resolved from the options, before any work)."""

    strategy: str
    settings: NeuralSettings
    backtest: bt.Backtest
    history: int | None
    finetune_steps: int
    compare_target_only: bool


# Long: the public call carries every option of the command (tables, horizon, training budget, run folder).
def forecast(
    data: str | Path | pd.DataFrame,
    *,
    source: str | Path | pd.DataFrame | None = None,
    wide: bool = False,
    id_column: str = "series_id",
    time_column: str = "timestamp",
    value_column: str = "value",
    covariates: tuple[str, ...] | list[str] = (),
    future_covariates: tuple[str, ...] | list[str] = (),
    model: str = "nhits",
    series: tuple[str, ...] | list[str] = (),
    source_series: tuple[str, ...] | list[str] = (),
    freq: str | int | None = None,
    horizon: int = 5,
    context: int | None = None,
    strategy: str | None = None,
    history: int | None = None,
    origins: int = 5,
    step: int | None = None,
    season: int = 1,
    steps: int = 300,
    finetune_steps: int = 100,
    compare_target_only: bool = True,
    level: int = 80,
    seed: int = 0,
    name: str | None = None,
    output_dir: str | Path = "runs",
    overwrite: bool = False,
) -> ForecastResult:
    """Backtest a forecaster on the target series `data` (see the module docstring); return the run."""
    strategy = strategy or ("finetune" if source is not None else "target-only")
    check_strategy(strategy, has_source=source is not None)
    _check_model(model, covariates=tuple(covariates), future_covariates=tuple(future_covariates))
    _check_numbers(horizon=horizon, origins=origins, history=history, level=level, season=season)
    spec = TableSpec(
        wide, id_column, time_column, value_column, tuple(covariates), freq, tuple(series), tuple(future_covariates)
    )
    context = context or 4 * horizon
    settings = NeuralSettings(
        horizon=horizon,
        input_size=context,
        steps=steps,
        level=level,
        seed=seed,
        hist_exog=tuple(covariates),
        model=model,
        futr_exog=tuple(future_covariates),
    )
    plan = Plan(
        strategy, settings, bt.Backtest(horizon, origins, step, season), history, finetune_steps, compare_target_only
    )
    target = _load(data, spec, "target")
    source_table = _load(source, replace(spec, series=tuple(source_series)), "source") if source is not None else None
    _check_tables(target, source_table, plan)
    neuralforecast(), statsforecast()  # a missing engine fails here, before the run folder exists
    folder = RunFolder.claim(
        output_dir, name or unique_run_name("forecast", strategy), overwrite=overwrite, kind="forecast"
    )
    options = {"data": _describe(data), "source": _describe(source), **asdict(spec), "model": model}
    options["strategy"] = strategy
    options |= {"horizon": horizon, "context": context, "history": history, "origins": origins, "step": step}
    options |= {"season": season, "steps": steps, "finetune_steps": finetune_steps, "level": level, "seed": seed}
    options["compare_target_only"] = compare_target_only
    write_atomic(folder.path / "config.yaml", yaml.safe_dump(options, sort_keys=False))
    with folder.in_progress(), run_log(folder.path):
        metrics, model_dir = _run(target, source_table, plan=plan, run_dir=folder.path)
    return ForecastResult(run_dir=folder.path, metrics=metrics, model_dir=model_dir)


def _check_model(model: str, *, covariates: tuple[str, ...], future_covariates: tuple[str, ...]) -> None:
    if model not in NEURAL_MODELS:
        raise ConfigError(f"--model {model!r} is not one of: {', '.join(NEURAL_MODELS)}.")
    both = sorted(set(covariates) & set(future_covariates))
    if both:
        raise ConfigError(f"Column {both[0]!r} is both a --covariate and a --future-covariate; pass it as one.")
    if model == "patchtst" and (covariates or future_covariates):
        raise ConfigError(
            "--model patchtst reads only the series' own past (neuralforecast's PatchTST takes no covariates); "
            "drop --covariate / --future-covariate or use --model nhits."
        )


def _check_numbers(*, horizon: int, origins: int, history: int | None, level: int, season: int) -> None:
    for option, value in {"--horizon": horizon, "--origins": origins, "--season": season}.items():
        if value < 1:
            raise ConfigError(f"{option} must be at least 1; got {value}.")
    if history is not None and history < 1:
        raise ConfigError(f"--history must be at least 1 point; got {history}.")
    if not 0 < level < 100:
        raise ConfigError(f"--level is an interval's coverage in percent, between 0 and 100; got {level}.")


def _describe(data: Any) -> str | None:
    if data is None:
        return None
    return "<DataFrame>" if isinstance(data, pd.DataFrame) else str(data)


def _load(data: str | Path | pd.DataFrame, spec: TableSpec, what: str) -> SeriesTable:
    if isinstance(data, pd.DataFrame):
        return series_from_frame(data, spec=spec, what=what)
    return read_series(data, spec=spec, what=what)


def _check_tables(target: SeriesTable, source: SeriesTable | None, plan: Plan) -> None:
    """Series long enough for a context, a horizon and the backtest; the same grid and covariates."""
    window = plan.settings.input_size + plan.settings.horizon
    if plan.history is not None and plan.history < window:
        raise ConfigError(f"--history {plan.history} is shorter than --context + --horizon ({window}); raise it.")
    needed = window + plan.backtest.test_points()
    check_lengths(
        target,
        needed=needed,
        what="target",
        fix=f"it needs context + horizon ({window}) to train and {plan.backtest.test_points()} to backtest; "
        "lower --context, --horizon or --origins, or give a longer series",
    )
    if source is None:
        return
    check_lengths(source, needed=window, what="source", fix=f"it needs context + horizon ({window}); lower --context")
    if str(source.freq) != str(target.freq):
        raise ConfigError(f"The source steps by {source.freq} and the target by {target.freq}; pass one --freq.")


def _run(target: SeriesTable, source: SeriesTable | None, *, plan: Plan, run_dir: Path) -> tuple[dict, Path | None]:
    started = time.perf_counter()
    target_train = bt.training_frame(target.frame, backtest=plan.backtest, history=plan.history)
    histories = bt.origin_histories(target.frame, backtest=plan.backtest)
    future = bt.future_values(target.frame, backtest=plan.backtest, columns=list(plan.settings.futr_exog))
    neural = _neural_models(target, source, target_train, plan=plan)
    forecasts = {
        name: bt.neural_forecasts(model, histories, level=plan.settings.level, future=future)
        for name, model in neural.items()
    }
    forecasts |= bt.baseline_forecasts(
        histories,
        horizon=plan.settings.horizon,
        freq=target.freq,
        level=plan.settings.level,
        season=plan.backtest.season,
    )
    scored = {name: bt.score(frame, target.frame, backtest=plan.backtest) for name, frame in forecasts.items()}
    metrics = _metrics(target, source, scored, plan=plan, trained_on=target_train)
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    joined = pd.concat([frame.assign(model=name) for name, (_rows, frame) in scored.items()], ignore_index=True)
    write_atomic(run_dir / "forecasts.csv", joined.to_csv(index=False))
    model_dir = run_dir / MODEL_DIR
    neural[plan.strategy].save(path=str(model_dir), overwrite=True, save_dataset=False)
    write_json(run_dir / "metrics.json", metrics)
    write_report(run_dir, metrics=metrics, forecasts=joined, history=target.frame)
    logger.info("forecast run done in %.1f s: %s", metrics["seconds"], metrics["verdict"])
    return metrics, model_dir


def _neural_models(
    target: SeriesTable, source: SeriesTable | None, target_train: pd.DataFrame, *, plan: Plan
) -> dict[str, Any]:
    """The neural forecasters to backtest, by name: zero-shot and the strategy's model, and target-only."""
    names = ["target-only"] if source is None else ["zero-shot", plan.strategy]
    if source is not None and plan.compare_target_only:
        names.append("target-only")
    names = list(dict.fromkeys(names))
    models: dict[str, Any] = {}
    with progress_bar("Training forecasters", total=len(names)) as advance:
        if source is not None:
            logger.info(
                "pretraining %s on %d source series for %d steps",
                plan.settings.alias,
                len(source.ids),
                plan.settings.steps,
            )
            models["zero-shot"] = train_fresh(source.frame, settings=plan.settings, freq=source.freq)
            advance(1)
        for name in names:
            if name == "target-only":
                logger.info("training %s on the target alone (%d points)", plan.settings.alias, len(target_train))
                models[name] = train_fresh(target_train, settings=plan.settings, freq=target.freq)
            elif name != "zero-shot":
                models[name] = transfer(
                    models["zero-shot"], target_train, strategy=name, settings=plan.settings, steps=plan.finetune_steps
                )
            else:
                continue
            advance(1)
    return models


def _metrics(
    target: SeriesTable,
    source: SeriesTable | None,
    scored: dict[str, tuple[list[dict[str, Any]], pd.DataFrame]],
    *,
    plan: Plan,
    trained_on: pd.DataFrame,
) -> dict[str, Any]:
    models = {name: bt.summarise(rows) for name, (rows, _frame) in scored.items()}
    naive = models["Naive"]["mase"]
    beats_naive = {name: bool(summary["mase"] < naive) for name, summary in models.items() if name != "Naive"}
    best = min(models, key=lambda name: models[name]["mase"])
    return {
        "task": "forecast",
        "strategy": plan.strategy,
        "model": f"{plan.settings.alias} (neuralforecast)",
        "covariates": list(plan.settings.hist_exog),
        "future_covariates": list(plan.settings.futr_exog),
        "baselines": list(BASELINES),
        "horizon": plan.settings.horizon,
        "context": plan.settings.input_size,
        "freq": str(target.freq),
        "backtest": {"origins": plan.backtest.origins, "step": plan.backtest.step or plan.backtest.horizon},
        "target_series": target.ids,
        "target_training_points": trained_on.groupby("unique_id").size().astype(int).to_dict(),
        "source_series": source.ids if source is not None else [],
        "filled_timestamps": {"target": target.filled, "source": source.filled if source is not None else {}},
        "models": models,
        "naive": models["Naive"],
        "beats_naive": beats_naive,
        "best": best,
        "naive_wins": best == "Naive",
        "verdict": _verdict(models, best=best, strategy=plan.strategy),
    }


def _verdict(models: dict[str, dict[str, Any]], *, best: str, strategy: str) -> str:
    naive = models["Naive"]["mase"]
    if best == "Naive":
        return f"The naive forecast (random walk) wins: MASE {naive:.3f}; no model beats 'tomorrow = today'."
    chosen = models[strategy]["mase"]
    return f"Best: {best} (MASE {models[best]['mase']:.3f}); {strategy} {chosen:.3f}; naive {naive:.3f}."

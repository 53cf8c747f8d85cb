"""`transferkit fit DATA --task causal-lm | seq2seq-pairs`: adapt a causal LM and write a run folder.

The run folder holds config.yaml, fit.log, metrics.json (held-out perplexity of the adapted model against the
base, pair scores, sample generations of both), generations.csv (pairs), report.html, checkpoints/ and model/
(see `transferkit.generation.folder`). The base model is scored before training, once: a resumed run reads
base_metrics.json instead of scoring it again.
"""

from __future__ import annotations

import json
import logging
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd

from transferkit.config import RunSpec
from transferkit.generation.data import SHOTS, Prepared, prepare
from transferkit.generation.evaluation import sample_prompts, score
from transferkit.generation.folder import save_model
from transferkit.generation.lm import DEFAULT_LM, LanguageModel, load_base
from transferkit.generation.report import write_report
from transferkit.generation.training import add_adapters, lm_strategy, train
from transferkit.run_folder import (
    default_run_name,
    inherited_run_name,
    is_primary_process,
    open_spec_run_folder,
    run_log,
    write_atomic,
    write_json,
)

logger = logging.getLogger("transferkit")
BASE_METRICS = "base_metrics.json"


@dataclass(frozen=True)
class LMFitResult:
    """A finished language-model run: its folder, the saved model folder, metrics.json's content and the spec."""

    run_dir: Path
    model_dir: Path
    metrics: dict[str, Any]
    spec: RunSpec
    model: LanguageModel


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _complete(spec: RunSpec) -> RunSpec:
    backbone = spec.backbone.spec or DEFAULT_LM
    name = (  # a process Lightning launched for DDP takes the primary's folder name
        spec.run.name
        or inherited_run_name()
        or default_run_name(spec.data.path or "corpus", backbone, lm_strategy(spec))
    )
    return spec.with_overrides({"backbone.spec": backbone, "run.name": name})


def _base_scores(lm: LanguageModel, prepared: Prepared, *, run_dir: Path, spec: RunSpec) -> dict[str, Any]:
    path = run_dir / BASE_METRICS
    if path.is_file():  # a resumed run: the base was scored before its first attempt trained
        return json.loads(path.read_text(encoding="utf-8"))
    scores = score(lm, prepared, base=True, batch_size=_eval_batch(spec), precision=spec.optim.precision)
    write_json(path, scores)
    return scores


def _eval_batch(spec: RunSpec) -> int:
    return spec.optim.batch_size or 8


def _gain(base: dict[str, Any], adapted: dict[str, Any]) -> dict[str, Any]:
    gain: dict[str, Any] = {}
    if "perplexity" in base and "perplexity" in adapted:
        gain["perplexity_reduction"] = round(1 - adapted["perplexity"] / base["perplexity"], 4)
    for key in ("exact_match", "rouge_l"):
        if key in base and key in adapted:
            gain[key] = round(adapted[key] - base[key], 4)
    return gain


def _test_row(base: dict[str, Any], adapted: dict[str, Any]) -> dict[str, Any]:
    row = dict(adapted)
    for key in ("perplexity", "exact_match", "rouge_l"):
        if key in base:
            row[f"base_{key}"] = base[key]
    return row


def _samples(prepared: Prepared, base: dict[str, Any], adapted: dict[str, Any]) -> list[dict[str, str]]:
    rows = sample_prompts(prepared)
    for row, before, after in zip(rows, base.get("samples", []), adapted.get("samples", []), strict=False):
        row |= {"base": before, "adapted": after}
    return rows


def fit_language_model(spec: RunSpec, *, resume: str | Path | None = None) -> LMFitResult:
    """Adapt a causal LM to a corpus or to pairs (spec.data.task), score it against its base, save it."""
    started = time.perf_counter()
    spec = _complete(spec)
    strategy = lm_strategy(spec)
    L.seed_everything(spec.run.seed, workers=True, verbose=False)
    lm = load_base(spec.backbone.spec)
    prepared = prepare(spec, lm)  # every data problem raises before the run folder is claimed
    folder = open_spec_run_folder(spec, resume=resume)
    run_dir = folder.path
    primary = is_primary_process()
    with folder.in_progress(), run_log(run_dir) as log:
        log.info("data %s (%s): %s", spec.data.path, spec.data.task, prepared.summary)
        if primary:  # DDP's other processes only train; the primary scores the base and, after training, saves
            base = _base_scores(lm, prepared, run_dir=run_dir, spec=spec)
            log.info("base model scored; peak RSS %.0f MB", peak_rss_mb())
        identity = lm.identity()
        if strategy == "lora":
            add_adapters(lm, spec)
        fit_started = time.perf_counter()
        training = train(
            lm,
            train_rows=prepared.train_rows,
            valid_rows=prepared.valid_rows,
            spec=spec,
            run_dir=run_dir,
            strategy=strategy,
        )
        train_seconds = time.perf_counter() - fit_started
        log.info("trained %s in %.0f s; peak RSS %.0f MB", training.record(), train_seconds, peak_rss_mb())
        if not primary:
            return LMFitResult(run_dir, run_dir / "model", {"global_rank": 1}, spec, lm)
        adapted = score(lm, prepared, base=False, batch_size=_eval_batch(spec), precision=spec.optim.precision)
        metrics = _metrics(spec, prepared, base=base, adapted=adapted, training=training, lm=lm)
        metrics["seconds"] = {"train": round(train_seconds, 2), "total": round(time.perf_counter() - started, 2)}
        if "answers" in adapted:
            _write_generations(run_dir / "generations.csv", prepared, base=base, adapted=adapted)
        record = {"task": {"name": spec.data.task}, "format": _format_record(spec, lm), "strategy": strategy}
        model_dir = save_model(run_dir / "model", lm, base=identity, record=record, merge=spec.strategy.lora_merge)
        write_json(run_dir / "metrics.json", metrics)
        if spec.run.report:
            write_report(run_dir / "report.html", metrics, title=f"{spec.backbone.spec} + {strategy}")
        log.info("metrics written to %s", run_dir / "metrics.json")
    return LMFitResult(run_dir=run_dir, model_dir=model_dir, metrics=metrics, spec=spec, model=lm)


def _format_record(spec: RunSpec, lm: LanguageModel) -> dict[str, Any]:
    """How prompts are written for this model: generation formats them the way training did."""
    return {
        "chat_template": lm.has_chat_template and spec.data.task == "seq2seq-pairs",
        "block_size": spec.backbone.max_length,
        "prompt_template": spec.data.prompt_template,
        "prompt_column": spec.data.prompt_column,
        "text_column": spec.data.text_column,
        "response_column": spec.data.response_column,
    }


def _metrics(spec: RunSpec, prepared: Prepared, *, base: dict, adapted: dict, training: Any, lm: LanguageModel) -> dict:
    metrics: dict[str, Any] = {"task": {"name": spec.data.task}, "data": prepared.summary}
    if "valid" in adapted:
        metrics["valid"] = adapted["valid"]
    if "test" in adapted:
        metrics["test"] = _test_row(base.get("test", {}), adapted["test"])
        metrics["gain"] = _gain(base.get("test", {}), adapted["test"])
    metrics["base"] = {
        "test": base.get("test"),
        "prompting": f"few-shot ({SHOTS} training pairs)"
        if spec.data.task == "seq2seq-pairs"
        else "none (the corpus continues as it is)",
    }
    metrics["samples"] = _samples(prepared, base, adapted)
    metrics["backbone"] = {"spec": spec.backbone.spec, "weights": lm.weights.to_dict()}
    metrics["strategy"] = {"name": lm_strategy(spec), "chosen": lm_strategy(spec), **training.record()}
    metrics["history"] = training.history
    metrics["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return metrics


def _write_generations(path: Path, prepared: Prepared, *, base: dict, adapted: dict) -> None:
    frame = pd.DataFrame(
        {
            "prompt": [p.prompt for p in prepared.test_items],
            "reference": [p.response for p in prepared.test_items],
            "base": base.get("answers", [""] * len(prepared.test_items)),
            "adapted": adapted["answers"],
        }
    )
    write_atomic(path, frame.to_csv(index=False))

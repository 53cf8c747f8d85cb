"""Task families with their own data readers and training loops (detection, language models).

`fit`, `predict`, `evaluate` and `export` hand a run to the family's own workflow when the task names one: the
classification / multi-label / regression core (tasks/, strategies/) stays shaped for one embedding per input,
and a detector or a causal language model does not pretend to be one. Each family adds one `TaskRoute` below.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transferkit.config import register_task_name


@dataclass(frozen=True)
class TaskRoute:
    """Where a task family's workflows live; each callable imports its package only when it runs."""

    fit: Callable[..., Any]  # fit(data, *, config, resume, **options) -> a FitResult-like object
    predict: Callable[..., Any] | None = None  # predict(model_dir, inputs, **options) -> DataFrame
    evaluate: Callable[..., Any] | None = None  # evaluate(model_dir, data, **options) -> metrics dict
    export: Callable[..., Any] | None = None  # export(model_dir, **options) -> an export result


ROUTES: dict[str, TaskRoute] = {}


def add_route(task: str, route: TaskRoute) -> None:
    """Send `task` runs to `route`, and let configs and `--task` name it."""
    ROUTES[task] = route
    register_task_name(task)


def route_for(task: str | None) -> TaskRoute | None:
    """The route of a task family, or None for the core tasks (classification, multilabel, regression)."""
    return ROUTES.get(task or "")


def saved_task_name(model_dir: str | Path) -> str | None:
    """The task name a model folder's model.json records (None when absent or unreadable: the core loader then
    gives the precise error)."""
    manifest = Path(model_dir) / "model.json"
    try:
        record = json.loads(manifest.read_text()).get("task")
    except (OSError, ValueError, AttributeError):
        return None
    return record.get("name") if isinstance(record, dict) else None


def route_for_model(model: Any) -> TaskRoute | None:
    """The route of a saved model folder's task family, or None (a core task, or a model in memory)."""
    return route_for(saved_task_name(model)) if isinstance(model, str | Path) else None


# The task families. Each helper import happens inside the callable, when a run of that task starts.


def _fit_language_model(spec: Any, *, resume: Any = None) -> Any:
    from transferkit.generation.workflow import fit_language_model

    return fit_language_model(spec, resume=resume)


def _predict_language_model(model: Any, inputs: Any, **options: Any) -> Any:
    from transferkit.generation.api import predict_route

    return predict_route(model, inputs, **options)


def _evaluate_language_model(model: Any, data: Any, **options: Any) -> Any:
    from transferkit.generation.api import evaluate_route

    return evaluate_route(model, data, **options)


def _export_language_model(model: Any, **options: Any) -> Any:
    from transferkit.generation.export import export_language_model

    return export_language_model(model, **options)


_LANGUAGE_MODEL = TaskRoute(
    fit=_fit_language_model,
    predict=_predict_language_model,
    evaluate=_evaluate_language_model,
    export=_export_language_model,
)
add_route("causal-lm", _LANGUAGE_MODEL)  # a corpus: continued pretraining (transferkit.generation)
add_route("seq2seq-pairs", _LANGUAGE_MODEL)  # prompt -> response pairs: instruction tuning


def _fit_detection(spec: Any, *, resume: Any = None) -> Any:
    from transferkit.detection.workflow import fit_detection

    return fit_detection(spec, resume=resume)


def _predict_detection(model: Any, inputs: Any, **options: Any) -> Any:
    from transferkit.detection.predict import predict_detection

    return predict_detection(model, inputs, **options)


def _evaluate_detection(model: Any, data: Any, **options: Any) -> Any:
    from transferkit.detection.predict import evaluate_detection

    return evaluate_detection(model, data, **options)


def _export_detection(model: Any, **options: Any) -> Any:
    from transferkit.detection.export import export_detection

    return export_detection(model, **options)


add_route(  # boxes: COCO / VOC / YOLO readers, torchvision detectors (transferkit.detection)
    "detection", TaskRoute(_fit_detection, _predict_detection, _evaluate_detection, _export_detection)
)

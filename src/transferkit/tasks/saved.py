"""A task's entry in model.json, and the task of a saved model (folders from before tasks: classification)."""

from __future__ import annotations

from typing import Any

from transferkit.errors import ArtifactError, TransferKitError
from transferkit.tasks.base import Task
from transferkit.tasks.registry import get_task

DEFAULT_TASK = "classification"


def task_record(task: Task) -> dict[str, Any]:
    """model.json's "task" entry: the task's name and its state."""
    return {"name": task.name, "state": task.state()}


def task_from_manifest(manifest: dict[str, Any]) -> Task:
    """The task a model folder's manifest records; a folder saved before tasks were recorded is single-label
    classification of its class names, with the threshold its metadata may hold."""
    record = manifest.get("task")
    if record is None:
        state = {"class_names": manifest["class_names"], "threshold": (manifest.get("metadata") or {}).get("threshold")}
        return get_task(DEFAULT_TASK).from_state(state)
    try:
        return get_task(record["name"]).from_state(record["state"])
    except TransferKitError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(
            f"model.json's task record ({record.get('name')!r}) has a malformed state ({exc!r}); retrain or restore "
            "the model folder."
        ) from None

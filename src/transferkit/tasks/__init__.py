"""Tasks as plugins: what a model predicts (single-label classification, ...), looked up by name (`--task`).

A new task is one module: subclass `Task`, decorate it with `register_task`, import it here.
"""

from transferkit.tasks import classification as _classification  # noqa: F401  (registers "classification")
from transferkit.tasks.base import Task
from transferkit.tasks.classification import ClassificationTask
from transferkit.tasks.registry import available_tasks, get_task, register_task
from transferkit.tasks.saved import task_from_manifest, task_record

__all__ = [
    "ClassificationTask",
    "Task",
    "available_tasks",
    "get_task",
    "register_task",
    "task_from_manifest",
    "task_record",
]

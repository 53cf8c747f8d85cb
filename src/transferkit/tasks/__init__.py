"""Tasks as plugins: what a model predicts (classification, multi-label, regression, ...), by name (`--task`).

A new task is one module: subclass `Task`, decorate it with `register_task`, import it here.
"""

from transferkit.tasks import classification as _classification  # noqa: F401  (registers "classification")
from transferkit.tasks import multilabel as _multilabel  # noqa: F401  (registers "multilabel")
from transferkit.tasks import regression as _regression  # noqa: F401  (registers "regression")
from transferkit.tasks.base import Task
from transferkit.tasks.classification import ClassificationTask
from transferkit.tasks.infer import infer_task
from transferkit.tasks.multilabel import MultiLabelTask
from transferkit.tasks.registry import available_tasks, get_task, register_task
from transferkit.tasks.regression import RegressionTask
from transferkit.tasks.saved import task_from_manifest, task_record

__all__ = [
    "ClassificationTask",
    "MultiLabelTask",
    "RegressionTask",
    "Task",
    "available_tasks",
    "get_task",
    "infer_task",
    "register_task",
    "task_from_manifest",
    "task_record",
]

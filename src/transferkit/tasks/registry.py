"""Tasks looked up by name (`--task classification`); a plugin registers its class with `register_task`."""

from __future__ import annotations

from transferkit.config import register_task_name
from transferkit.errors import ConfigError
from transferkit.tasks.base import Task

_TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator adding a task under `cls.name`; a duplicate name raises."""
    if cls.name in _TASKS:
        raise ConfigError(f"A task named '{cls.name}' is already registered; choose another name.")
    _TASKS[cls.name] = cls
    register_task_name(cls.name)  # the schema accepts it in configs (--task) from now on
    return cls


def get_task(name: str) -> type[Task]:
    """The task class registered as `name`; an unknown name raises ConfigError listing the choices."""
    if name not in _TASKS:
        raise ConfigError(f"The 'task' option must be one of {', '.join(_TASKS)}. Got '{name}'.")
    return _TASKS[name]


def available_tasks() -> list[str]:
    return list(_TASKS)

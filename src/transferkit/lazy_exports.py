"""Package names that load their module on first use (PEP 562), so that importing a light part of a package
(its command-line shell, its config) does not pull in torch through the package's `__init__`.

Example::

    __getattr__, __dir__ = lazy_exports(__name__, {"forecast": "transferkit.forecasting.workflow"}, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, names: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` of `package`: each name in `names` is imported from its module
    the first time it is read, then kept in `namespace` (the package's globals) so later reads are plain lookups."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
